"""The programme dashboard for staff: the pipeline, attendance over time, milestones,
applications, and breakdowns by self-declared ethnic group and age (small numbers hidden).

Every section is an SVG chart (drawn on the server) with a table of the same figures.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup

from d2w.core import cache, charts
from d2w.core.access import acting_user, roles
from d2w.core.db import utcnow
from d2w.core.errors import Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import parse_id
from d2w.dashboard import policy, services
from d2w.dashboard.forms import DashboardFilterForm
from d2w.programme import rules

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def _filters(form: DashboardFilterForm) -> tuple[services.Filters, bool]:
    """The filters asked for, and whether they were valid (invalid ones are dropped)."""
    if not request.args:
        return services.Filters(), True
    if not form.validate():
        return services.Filters(), False
    return services.Filters(cohort_id=parse_id(form.cohort.data), region=form.region.data or None), True


def build_charts(data: dict, threshold: int) -> dict[str, Markup]:
    """The dashboard's charts from the figures its tables show (no figure a table hides)."""
    months = data["attendance"]
    ethnic, age = data["breakdowns"].ethnic_group, data["breakdowns"].age
    hidden_note = f"Groups shown in the table as “fewer than {threshold}” or “not shown” are left out of the chart."
    out = {
        "funnel": charts.bar_chart(
            "Candidates by pipeline stage",
            [(bar.label, bar.count) for bar in data["funnel"]],
            desc="Number of candidates at each stage of the pipeline, in order.",
        ),
        "attendance": charts.line_chart(
            "Attendance rate by month",
            [m.short for m in months],
            [
                (
                    "Attendance rate",
                    [None if m.rate is None else round(m.rate * 100, 1) for m in months],
                )
            ],
            unit="%",
            y_max=100,
            desc=f"Share of register marks that were present or late, {months[0].label} to {months[-1].label}. "
            "Months with no marks are left blank.",
        ),
        "milestones": charts.bar_chart(
            "Verified milestones by category",
            [(c.label, c.verified) for c in data["milestones"].categories],
            desc="Number of verified engagement milestones in each category.",
        ),
        "applications": charts.bar_chart(
            "Applications by status",
            [(bar.label, bar.count) for bar in data["applications"]],
            desc="Number of applications to seats at each status.",
        ),
    }
    if not ethnic.withheld:
        out["ethnic_group"] = charts.bar_chart(
            "Candidates by self-declared ethnic group",
            [(services.SHORT_GROUP_NAMES.get(label, label), value) for label, value in ethnic.bars()],
            desc="Number of candidates in each ONS 2021 broad ethnic group. "
            + (hidden_note if ethnic.any_hidden else ""),
        )
    if not age.withheld:
        out["age"] = charts.bar_chart(
            "Candidates by age band",
            age.bars(),
            desc="Number of candidates in each age band, from their self-declared date of birth. "
            + (hidden_note if age.any_hidden else ""),
        )
    return out


@bp.route("/")
@roles("staff")
def index():
    actor = acting_user()
    if not policy.can_view_dashboard(actor):
        abort(403)
    form = DashboardFilterForm(request.args or None)
    cohorts = services.cohort_choices()
    form.set_cohorts(cohorts)
    filters, valid = _filters(form)
    threshold = int(current_app.config["SMALL_NUMBER_THRESHOLD"])
    today = rules.to_london(utcnow()).date()
    try:
        data = {
            # Programme-wide aggregates may be a minute old (AGGREGATE_CACHE_SECONDS); the
            # breakdowns by self-declared answers are read fresh, with their policy check.
            "funnel": cache.aggregate(("dashboard.funnel", filters), lambda: services.funnel(filters)),
            "attendance": cache.aggregate(
                ("dashboard.attendance", filters, today),
                lambda: services.attendance_by_month(filters, today=today),
            ),
            "milestones": cache.aggregate(
                ("dashboard.milestones", filters), lambda: services.milestone_totals(filters)
            ),
            "applications": cache.aggregate(
                ("dashboard.applications", filters), lambda: services.applications_by_status(filters)
            ),
            "breakdowns": services.breakdowns(actor, filters, threshold=threshold, today=today),
        }
    except Forbidden:
        abort(403)
    cohort_name = dict(cohorts).get(filters.cohort_id)
    services.record_breakdowns_viewed(actor, filters, cohort_name)
    db.session.commit()  # the audit entry for viewing the breakdowns
    return render_template(
        "dashboard/index.html",
        form=form,
        filters=filters,
        filter_text=filters.describe(cohort_name),
        threshold=threshold,
        total=sum(bar.count for bar in data["funnel"]),
        charts=build_charts(data, threshold),
        **data,
    ), (200 if valid else 400)
