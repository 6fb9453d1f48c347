"""The audit log, for admins."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import NamedTuple

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from d2w.audit.forms import AuditFilterForm
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.core.access import admin_only
from d2w.core.db import distinct_values
from d2w.core.extensions import db
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

    stmt = select(AuditEvent)
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
    # The count reads the filtered events alone (any join above is one actor per event).
    total = db.session.scalar(stmt.with_only_columns(func.count()).select_from(AuditEvent)) or 0
    stmt = event_rows(stmt).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = paginate(
        stmt, parse_page(request.args.get("page")), current_app.config["PAGE_SIZE"] * 2, scalars=False, total=total
    )
    page.items = [EventRow(*row) for row in page.items]
    return render_template("audit/index.html", page=page, form=form)


class EventRow(NamedTuple):
    """An audit event as the log lists it, with its actor's name and e-mail (None: no actor)."""

    at: datetime
    action: str
    object_type: str | None
    object_id: str | None
    summary: str
    ip: str | None
    request_id: str | None
    actor_id: int | None
    actor_name: str | None
    actor_email: str | None


_ACTOR = aliased(User)


def event_rows(stmt):
    """``stmt`` (filtered events) reading an EventRow's columns."""
    return stmt.with_only_columns(
        AuditEvent.at,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.summary,
        AuditEvent.ip,
        AuditEvent.request_id,
        AuditEvent.actor_id,
        _ACTOR.name,
        _ACTOR.email,
    ).outerjoin(_ACTOR, _ACTOR.id == AuditEvent.actor_id)
