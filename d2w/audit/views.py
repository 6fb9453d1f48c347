"""The audit log, for admins."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request

from d2w.audit import queries, rendering
from d2w.audit.forms import AuditFilterForm
from d2w.core import generations
from d2w.core.access import admin_only
from d2w.core.forms import choices
from d2w.core.pagination import parse_page
from d2w.core.templating import LONDON

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _london_midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


@bp.route("/")
@admin_only
def index():
    # The same for every admin: drawn once per query and kept until the next audit event (or a
    # change to the people it names).
    body = generations.kept_markup(
        ("audit.index", request.query_string), _draw_index, topics=(generations.AUDIT, generations.PROGRAMME)
    )
    return render_template("audit/index.html", body=body)


def _draw_index() -> str:
    form = AuditFilterForm(request.args or None)
    actions, types = queries.filter_values()
    form.action.choices = choices([("", "Any action"), *[(a, a) for a in actions]])
    form.object_type.choices = choices([("", "Any object"), *[(t, t) for t in types]])
    filters = queries.EventFilters()
    if form.validate():
        actor = (form.actor.data or "").strip().lower()
        filters = queries.EventFilters(
            action=form.action.data or None,
            object_type=form.object_type.data or None,
            object_id=(form.object_id.data or "").strip() or None,
            actor=actor or None,
            since=_london_midnight(form.date_from.data) if form.date_from.data else None,
            before=_london_midnight(form.date_to.data + timedelta(days=1)) if form.date_to.data else None,
        )
    page = queries.event_page(filters, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"] * 2)
    return render_template("audit/_index_body.html", page=page, form=form, rows=rendering.event_rows(page.items))
