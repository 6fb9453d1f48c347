"""CSV exports for staff (candidates, attendance, milestones, applications).

Each download is audited (kind, row count, filter) before its first byte is sent, then streamed.
Self-declared answers are in the candidates export only when the staff member ticks the option on
the exports page, which posts the request with a CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context

from d2w.cohorts.models import Cohort
from d2w.core import cache
from d2w.core.access import acting_user, roles
from d2w.core.db import utcnow
from d2w.core.errors import Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import parse_id
from d2w.dashboard.services import cohort_choices
from d2w.exports import policy, services
from d2w.exports.forms import CandidatesExportForm, ExportFilterForm
from d2w.exports.forms import cohort_choices as as_choices
from d2w.programme import rules

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.route("/")
@roles("staff")
def index():
    actor = acting_user()
    if not policy.can_export(actor):
        abort(403)
    cohorts = cohort_choices()
    form = ExportFilterForm(request.args or None)
    form.cohort.choices = as_choices(cohorts)
    cohort_id, status = None, 200
    if request.args:
        if form.validate():
            cohort_id = parse_id(form.cohort.data)
        else:
            status = 400
    candidates_form = CandidatesExportForm(formdata=None)
    candidates_form.cohort.data = str(cohort_id) if cohort_id else ""
    # Row counts shown beside each export may be a minute old (AGGREGATE_CACHE_SECONDS); a
    # download always counts afresh for its audit entry.
    counts = cache.aggregate(
        ("exports.counts", cohort_id),
        lambda: {name: kind.count(cohort_id) for name, kind in services.KINDS.items()},
    )
    return render_template(
        "exports/index.html",
        form=form,
        candidates_form=candidates_form,
        kinds=services.KINDS,
        counts=counts,
        cohort_id=cohort_id,
        cohort_name=dict(cohorts).get(cohort_id),
        may_export_self_declared=policy.can_export_self_declared(actor),
    ), status


def _cohort(raw: str | None) -> Cohort | None:
    """The cohort a download is filtered to: none, or one that exists (else 404)."""
    if raw is None or raw == "":
        return None
    cohort_id = parse_id(raw)
    cohort = db.session.get(Cohort, cohort_id) if cohort_id is not None else None
    if cohort is None:
        abort(404)
    return cohort


def _send(kind: str, cohort: Cohort | None, *, self_declared: bool = False) -> Response:
    try:
        download = services.prepare(acting_user(), kind, cohort=cohort, self_declared=self_declared)
    except Forbidden:
        abort(403)
    db.session.commit()  # the audit entry, before the first byte goes out
    filename = download.filename(rules.to_london(utcnow()).date())
    return Response(
        stream_with_context(download.stream()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/candidates.csv", methods=["GET", "POST"])
@roles("staff")
def candidates():
    """GET: without self-declared answers. POST (from the exports page, with its CSRF token): the
    staff member's choice, self-declared answers only if ticked."""
    if request.method == "POST":
        form = CandidatesExportForm()
        if not form.validate_on_submit():
            abort(400)
        return _send("candidates", _cohort(form.cohort.data), self_declared=bool(form.self_declared.data))
    return _send("candidates", _cohort(request.args.get("cohort")))


@bp.route("/attendance.csv")
@roles("staff")
def attendance():
    return _send("attendance", _cohort(request.args.get("cohort")))


@bp.route("/milestones.csv")
@roles("staff")
def milestones():
    return _send("milestones", _cohort(request.args.get("cohort")))


@bp.route("/applications.csv")
@roles("staff")
def applications():
    return _send("applications", _cohort(request.args.get("cohort")))
