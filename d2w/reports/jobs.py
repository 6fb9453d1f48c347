"""Background rendering of report jobs, so that a long report never holds up a web worker.

A small in-process thread pool renders each job in its own application context, with its own
database session, and records the job's progress (queued → running → done or failed). The page
that asked polls the job's status and offers the download when it is done. PDFs are written
under ``instance/reports`` (``REPORTS_DIR``) with random names, readable only by this process's
user, and removed a day later by a cheap check that runs at most once an hour after a job.

With ``REPORTS_RUN_INLINE`` set (tests), a job is rendered at once, in the request that asked.
A job whose process stopped before it finished (a restart) is shown as failed after
``STALE_AFTER``: ask again.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, select, update

from d2w.auth.models import User
from d2w.core.db import one_of, utcnow
from d2w.core.extensions import db
from d2w.reports import services
from d2w.reports.models import ReportJob

log = logging.getLogger(__name__)

MAX_WORKERS = 2
KEEP_FOR = timedelta(days=1)
STALE_AFTER = timedelta(minutes=15)
CLEANUP_EVERY = timedelta(hours=1)
FAILED_MESSAGE = "The report could not be made. Try again, or tell the candidates department if it keeps failing."

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_last_cleanup: datetime | None = None


def reports_dir(app: Flask) -> Path:
    folder = Path(app.config.get("REPORTS_DIR") or Path(app.instance_path) / "reports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# What ``store`` names a file: 24 random bytes, URL-safe base64, and ".pdf".
STORED_NAME = re.compile(r"[A-Za-z0-9_-]{32}\.pdf")


def path_of(app: Flask, job: ReportJob, now: datetime | None = None) -> Path | None:
    """The stored PDF of a finished job, if it is still there and under a day old (the hourly
    cleanup may not have run yet: an older file is never served). Only a name ``store`` could
    have made is looked up, so no stored value can point outside the reports folder."""
    if job.status != "done" or not job.stored_name or not STORED_NAME.fullmatch(job.stored_name):
        return None
    if job.created_at is not None and job.created_at <= (now or utcnow()) - KEEP_FOR:
        return None
    path = reports_dir(app) / job.stored_name
    return path if path.is_file() else None


def is_stale(job: ReportJob, now: datetime | None = None) -> bool:
    """A queued or running job this old will not finish: its process has gone."""
    return job.status in ("queued", "running") and job.created_at < (now or utcnow()) - STALE_AFTER


def _executor_for() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="d2w-report")
        return _executor


def start(app: Flask, job_id: int) -> Future | None:
    """Render a committed job: in the pool, or at once when ``REPORTS_RUN_INLINE`` is set."""
    if app.config.get("REPORTS_RUN_INLINE", False):
        run_job(app, job_id)
        return None
    return _executor_for().submit(run_job, app, job_id)


def store(app: Flask, data: bytes) -> str:
    """Write a PDF under a random name (atomically, owner-only) and return the name."""
    folder = reports_dir(app)
    name = secrets.token_urlsafe(24) + ".pdf"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return name


def run_job(app: Flask, job_id: int) -> None:
    """Render one job in its own application context and database session."""
    with app.app_context():
        try:
            _run(app, job_id)
        finally:
            db.session.remove()
        try:
            maybe_clean_up(app)
        except Exception:  # noqa: BLE001 - cleaning up must never break a report
            log.exception("cleaning up old reports failed")
            db.session.rollback()


def _run(app: Flask, job_id: int) -> None:
    claimed = db.session.execute(
        update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == "queued").values(status="running")
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    job = db.session.get(ReportJob, job_id)
    started = time.perf_counter()
    stored = None
    try:
        actor = db.session.get(User, job.requested_by_id)
        data = services.render(job.kind, job.subject_id, actor=actor, include=services.include_of(job))
        stored = store(app, data)
        job.stored_name = stored
        job.status = "done"
        job.finished_at = utcnow()
        db.session.commit()
        log.info(
            "report job %s (%s) done in %.2f s, %d bytes", job_id, job.kind, time.perf_counter() - started, len(data)
        )
    except Exception:
        log.exception("report job %s failed", job_id)
        db.session.rollback()
        if stored:
            (reports_dir(app) / stored).unlink(missing_ok=True)
        db.session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(status="failed", error=FAILED_MESSAGE, finished_at=utcnow())
        )
        db.session.commit()


def maybe_clean_up(app: Flask, now: datetime | None = None, *, force: bool = False) -> int:
    """At most once an hour per process: forget jobs older than a day and delete their files,
    mark jobs whose process has gone as failed, and delete stray files. Returns the files deleted."""
    global _last_cleanup
    now = now or utcnow()
    with _lock:
        if not force and _last_cleanup is not None and now - _last_cleanup < CLEANUP_EVERY:
            return 0
        _last_cleanup = now
    folder = reports_dir(app)
    cutoff = now - KEEP_FOR
    old = db.session.execute(select(ReportJob.id, ReportJob.stored_name).where(ReportJob.created_at < cutoff)).all()
    if old:
        db.session.execute(delete(ReportJob).where(ReportJob.id.in_([row.id for row in old])))
    db.session.execute(
        update(ReportJob)
        .where(one_of(ReportJob.status, ("queued", "running")), ReportJob.created_at < now - STALE_AFTER)
        .values(status="failed", error=FAILED_MESSAGE, finished_at=now)
    )
    db.session.commit()
    removed = 0
    for row in old:
        if row.stored_name and (folder / row.stored_name).is_file():
            (folder / row.stored_name).unlink(missing_ok=True)
            removed += 1
    # Files no job names any more (a crash between writing and recording), once they are old.
    known = set(db.session.scalars(select(ReportJob.stored_name).where(ReportJob.stored_name.is_not(None))))
    for path in folder.glob("*.pdf"):
        if path.name not in known and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    for path in folder.glob(".tmp-*"):
        if path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
    return removed


def reset_cleanup_clock() -> None:
    """Forget when the last cleanup ran (for tests)."""
    global _last_cleanup
    with _lock:
        _last_cleanup = None
