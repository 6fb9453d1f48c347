"""Report verbs: ask for a PDF (a job), render one, name it. They flush and audit, never commit:
the view or CLI command commits once.

Audit entries say which report was made for whom and, for a portfolio, which self-declared
fields were ticked in (their names, never their values).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.choices import SENSITIVE_FIELDS
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import Cohort
from d2w.core.db import one_of, read, utcnow
from d2w.core.errors import DomainError, Forbidden
from d2w.core.extensions import db
from d2w.reports import contexts, pdf, policy
from d2w.reports.models import ReportJob
from d2w.seatfit.models import SeatFitCheck

TEMPLATES = {
    "portfolio": "reports/pdf/portfolio.html",
    "cohort": "reports/pdf/cohort.html",
    "seatfit": "reports/pdf/seatfit.html",
}


def clean_include(fields) -> frozenset[str]:
    """The known self-declared fields among ``fields``, anything else dropped."""
    return frozenset(f for f in (fields or ()) if f in SENSITIVE_FIELDS)


def format_options(include: frozenset[str]) -> str:
    return "include=" + ",".join(f for f in SENSITIVE_FIELDS if f in include) if include else ""


def parse_options(options: str | None) -> dict[str, str]:
    out = {}
    for part in (options or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            out[name] = value
    return out


def include_of(job: ReportJob) -> frozenset[str]:
    return clean_include(parse_options(job.options).get("include", "").split(","))


def _included_summary(include: frozenset[str]) -> str:
    if not include:
        return "no self-declared answers"
    return "self-declared answers ticked in: " + ", ".join(
        SENSITIVE_FIELDS[f] for f in SENSITIVE_FIELDS if f in include
    )


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "report"


def download_name(kind: str, name: str, when: datetime | None = None) -> str:
    when = when or utcnow()
    return f"{kind}-{slug(name)}-{when:%Y-%m-%d}.pdf"


# ---------------------------------------------------------------------------------------------
# Asking for a report (a job the worker renders)

# A person may have this many reports waiting or being made at once: the worker pool is small.
MAX_PENDING_PER_PERSON = 3
# Everyone together: the pool's queue is bounded, however many people ask at once.
MAX_PENDING_TOTAL = 20
# Finished PDFs are kept for a day: a person asking again and again must not fill the disk.
MAX_PER_HOUR_PER_PERSON = 30
PENDING_FOR = timedelta(minutes=15)  # older unfinished jobs are lost (see jobs.STALE_AFTER)


def _check_not_flooding(actor: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    # Two requests of one person at the same moment are counted one after the other
    # (PostgreSQL locks the person's row until the commit; SQLite has one writer anyway).
    read(select(User.id).where(User.id == actor.id).with_for_update())
    unfinished = (one_of(ReportJob.status, ("queued", "running")), ReportJob.created_at > now - PENDING_FOR)
    pending = db.session.scalar(
        select(func.count()).select_from(ReportJob).where(ReportJob.requested_by_id == actor.id, *unfinished)
    )
    if pending >= MAX_PENDING_PER_PERSON:
        raise DomainError(f"You already have {pending} reports being made. Wait for one to finish, then ask again.")
    recent = db.session.scalar(
        select(func.count())
        .select_from(ReportJob)
        .where(ReportJob.requested_by_id == actor.id, ReportJob.created_at > now - timedelta(hours=1))
    )
    if recent >= MAX_PER_HOUR_PER_PERSON:
        raise DomainError(
            f"You have asked for {recent} reports in the last hour. Use the ones already made, or ask again later."
        )
    everyone = db.session.scalar(select(func.count()).select_from(ReportJob).where(*unfinished))
    if everyone >= MAX_PENDING_TOTAL:
        raise DomainError("Many reports are being made just now. Try again in a few minutes.")


def request_portfolio(actor: User, profile: CandidateProfile, include) -> ReportJob:
    if not policy.can_request_portfolio(actor, profile):
        raise Forbidden("You cannot make this portfolio.")
    include = clean_include(include)
    if include and not policy.can_include_sensitive(actor, profile):
        raise Forbidden("You cannot include these answers.")
    _check_not_flooding(actor)
    job = ReportJob(
        kind="portfolio",
        subject_id=profile.id,
        options=format_options(include),
        requested_by_id=actor.id,
        status="queued",
        download_name=download_name("portfolio", profile.user.name),
    )
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "report.portfolio", profile, summary=f"PDF asked for; {_included_summary(include)}")
    return job


def request_cohort_report(actor: User, cohort: Cohort) -> ReportJob:
    if not policy.can_request_cohort_report(actor):
        raise Forbidden("You cannot make cohort reports.")
    _check_not_flooding(actor)
    job = ReportJob(
        kind="cohort",
        subject_id=cohort.id,
        options="",
        requested_by_id=actor.id,
        status="queued",
        download_name=download_name("cohort", cohort.name),
    )
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "report.cohort", cohort, summary="PDF asked for")
    return job


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclass
class Rendered:
    data: bytes
    download_name: str


def render(kind: str, subject_id: int, *, actor: User | None, include=frozenset()) -> bytes:
    """The PDF of one report. Needs an application context; reads the database, writes nothing
    but audit rows (a staff read of self-declared answers)."""
    if kind == "portfolio":
        context = contexts.portfolio_context(subject_id, actor=actor, include=clean_include(include))
    elif kind == "cohort":
        context = contexts.cohort_context(subject_id, actor=actor)
    elif kind == "seatfit":
        context = contexts.seatfit_context(subject_id)
    else:
        raise ValueError(f"unknown report kind {kind!r}")
    return pdf.render_pdf(TEMPLATES[kind], **context)


def seatfit_pdf(actor: User, check: SeatFitCheck) -> Rendered:
    """The seat-fit report of one saved check, made at once (it is small)."""
    if db.session.scalar(policy.seatfit_checks(actor).where(SeatFitCheck.id == check.id)) is None:
        raise Forbidden("You cannot print this check.")
    name = db.session.get(CandidateProfile, check.profile_id).user.name
    data = render("seatfit", check.id, actor=actor)
    audit.record(actor, "report.seatfit", check, summary=f"PDF made for seat {check.seat.ons_code}")
    return Rendered(data, download_name("seat-fit", f"{name} {check.seat.name}"))


def render_for_cli(kind: str, subject_id: int, *, include=frozenset()) -> bytes:
    """A report made on the command line (no acting user), audited as such."""
    include = clean_include(include)
    data = render(kind, subject_id, actor=None, include=include)
    obj = db.session.get({"portfolio": CandidateProfile, "cohort": Cohort}[kind], subject_id)
    summary = "PDF made on the command line"
    if kind == "portfolio":
        summary += f"; {_included_summary(include)}"
    audit.record(None, f"report.{kind}", obj, summary=summary)
    return data
