"""The audit log, for admins."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from d2w.audit.forms import AuditFilterForm
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.core.access import admin_only
from d2w.core.db import distinct_values
from d2w.core.forms import choices
from d2w.core.pagination import paginate, parse_page
from d2w.core.templating import LONDON

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _london_midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


@bp.route("/")
@admin_only
def index():
    form = AuditFilterForm(request.args or None)
    actions = distinct_values(AuditEvent.action)
    types = distinct_values(AuditEvent.object_type)
    form.action.choices = choices([("", "Any action"), *[(a, a) for a in actions]])
    form.object_type.choices = choices([("", "Any object"), *[(t, t) for t in types]])

    stmt = select(AuditEvent).options(joinedload(AuditEvent.actor))
    if form.validate():
        if form.action.data:
            stmt = stmt.where(AuditEvent.action == form.action.data)
        if form.object_type.data:
            stmt = stmt.where(AuditEvent.object_type == form.object_type.data)
        if form.object_id.data:
            stmt = stmt.where(AuditEvent.object_id == form.object_id.data.strip())
        if form.actor.data:
            like = f"%{form.actor.data.strip().lower()}%"
            stmt = stmt.join(User, User.id == AuditEvent.actor_id).where(
                or_(func.lower(User.name).like(like), User.email.like(like))
            )
        if form.date_from.data:
            stmt = stmt.where(AuditEvent.at >= _london_midnight(form.date_from.data))
        if form.date_to.data:
            stmt = stmt.where(AuditEvent.at < _london_midnight(form.date_to.data + timedelta(days=1)))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = paginate(stmt, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"] * 2)
    return render_template("audit/index.html", page=page, form=form)
