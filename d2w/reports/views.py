"""PDF reports (portfolio, cohort, seat-fit).

A portfolio or a cohort report is a job: the form's POST records it and hands it to the worker
pool (``d2w.reports.jobs``), then the job's page polls its status every second (htmx) and offers
the download when it is done. The request itself never renders a long report, so no web worker
waits on one. A seat-fit report is one check on two pages: it is made at once.

Access: a candidate asks for their own portfolio and their own checks' reports; staff for
anyone's, and for cohort reports; mentors use none of these pages (403). Another person's
profile, check or job answers 404.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from d2w.audit import services as audit
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import Cohort
from d2w.core.access import acting_user, roles
from d2w.core.db import utcnow
from d2w.core.errors import DomainError, Forbidden
from d2w.core.extensions import db, limiter
from d2w.reports import jobs, policy, services
from d2w.reports.forms import CohortReportForm, PortfolioForm
from d2w.reports.models import ReportJob
from d2w.seatfit.models import SeatFitCheck

bp = Blueprint("reports", __name__, url_prefix="/reports")

# htmx stops polling when a poll answers 286 (and still shows the answer).
STOP_POLLING = 286
RECENT_JOBS = 5
# A seat-fit PDF is rendered in the request that asks for it: a person may ask this often.
SEATFIT_PDF_LIMIT = "20 per minute"


def _app():
    return current_app._get_current_object()


def _recent(kind: str, subject_id: int) -> list[ReportJob]:
    return list(
        db.session.scalars(
            policy.visible_jobs(acting_user())
            .where(ReportJob.kind == kind, ReportJob.subject_id == subject_id)
            .order_by(ReportJob.created_at.desc(), ReportJob.id.desc())
            .limit(RECENT_JOBS)
        )
    )


def _pdf_response(data: bytes, name: str):
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=name,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Asking


@bp.route("/portfolio/<int:profile_id>", methods=["GET", "POST"])
@roles("staff", "candidate")
def portfolio(profile_id: int):
    actor = acting_user()
    profile = db.session.scalar(policy.portfolio_profiles(actor).where(CandidateProfile.id == profile_id))
    if profile is None:
        abort(404)
    form = PortfolioForm()
    if is_staff(actor):
        form.for_staff()
    status = 200
    if form.validate_on_submit():
        try:
            job_id = services.request_portfolio(actor, profile, form.ticked()).id
        except Forbidden:
            db.session.rollback()
            abort(404)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = 429
        else:
            db.session.commit()
            jobs.start(_app(), job_id)
            return redirect(url_for("reports.job", job_id=job_id))
    return render_template(
        "reports/portfolio.html",
        form=form,
        profile=profile,
        own=policy.can_request_portfolio(actor, profile) and not is_staff(actor),
        recent=_recent("portfolio", profile.id),
    ), status


@bp.route("/cohort/<int:cohort_id>", methods=["GET", "POST"])
@roles("staff")
def cohort(cohort_id: int):
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    form = CohortReportForm()
    status = 200
    if form.validate_on_submit():
        try:
            job_id = services.request_cohort_report(acting_user(), cohort).id
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = 429
        else:
            db.session.commit()
            jobs.start(_app(), job_id)
            return redirect(url_for("reports.job", job_id=job_id))
    return render_template("reports/cohort.html", form=form, cohort=cohort, recent=_recent("cohort", cohort.id)), status


def _per_person() -> str:
    """Rate-limit key: the signed-in person (several people may share one address)."""
    user_id = current_user.get_id() if current_user and current_user.is_authenticated else None
    return f"user:{user_id}" if user_id else f"addr:{get_remote_address()}"


@bp.route("/seat-fit/<int:check_id>")
@roles("staff", "candidate")
@limiter.limit(SEATFIT_PDF_LIMIT, key_func=_per_person)
def seatfit(check_id: int):
    actor = acting_user()
    check = db.session.scalar(policy.seatfit_checks(actor).where(SeatFitCheck.id == check_id))
    if check is None:
        abort(404)
    rendered = services.seatfit_pdf(actor, check)
    db.session.commit()  # the audit entry
    return _pdf_response(rendered.data, rendered.download_name)


# ---------------------------------------------------------------------------------------------
# Following a job


def _get_job(job_id: int) -> ReportJob:
    job = db.session.scalar(policy.visible_jobs(acting_user()).where(ReportJob.id == job_id))
    if job is None:
        abort(404)
    return job


def _describe(job: ReportJob) -> tuple[str, str | None]:
    """A title for the job's page, and the page to go back to."""
    if job.kind == "portfolio":
        profile = db.session.get(CandidateProfile, job.subject_id)
        if profile is not None:
            return f"Portfolio of {profile.user.name}", url_for("reports.portfolio", profile_id=profile.id)
        return "Portfolio", None
    if job.kind == "cohort":
        cohort = db.session.get(Cohort, job.subject_id)
        if cohort is not None:
            return f"Cohort report: {cohort.name}", url_for("reports.cohort", cohort_id=cohort.id)
        return "Cohort report", None
    return "Seat-fit report", None


def _status_context(job: ReportJob) -> dict:
    now = utcnow()
    stale = jobs.is_stale(job, now)
    finished = job.status in ("done", "failed") or stale
    return {
        "job": job,
        "stale": stale,
        "finished": finished,
        "elapsed": int(((job.finished_at or now) - job.created_at).total_seconds()),
        "available": job.status == "done" and jobs.path_of(_app(), job) is not None,
    }


@bp.route("/jobs/<int:job_id>")
@roles("staff", "candidate")
def job(job_id: int):
    job = _get_job(job_id)
    title, back = _describe(job)
    return render_template("reports/job.html", title=title, back=back, **_status_context(job))


@bp.route("/jobs/<int:job_id>/status")
@roles("staff", "candidate")
def job_status(job_id: int):
    """The part of the job's page that htmx polls; answers 286 (stop polling) once finished."""
    job = _get_job(job_id)
    context = _status_context(job)
    body = render_template("reports/_job_status.html", **context)
    return body, (STOP_POLLING if context["finished"] and request.headers.get("HX-Request") else 200)


@bp.route("/jobs/<int:job_id>/download")
@roles("staff", "candidate")
def download(job_id: int):
    actor = acting_user()
    job = _get_job(job_id)
    if not policy.can_download(actor, job):
        abort(404)
    path = jobs.path_of(_app(), job)
    if path is None:
        abort(404)
    if job.requested_by_id != actor.id:
        audit.record(actor, "report.downloaded", job, summary=f"{job.kind} PDF asked for by someone else")
        db.session.commit()
    # Read whole (a report is small): no file handle outlives the request.
    return _pdf_response(path.read_bytes(), job.download_name or "report.pdf")
