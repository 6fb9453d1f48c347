"""Reading the audit log: a page of events with their actors, filtered; the statements are built
once per shape of filter (``built_once``) with the values bound at run time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, bindparam, func, or_, select
from sqlalchemy.orm import aliased

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.core import generations
from d2w.core.db import UTCDateTime, built_once, distinct_values, read
from d2w.core.pagination import Page, paginate


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


@dataclass(frozen=True)
class EventFilters:
    """The log's filters, each None when not used. ``actor`` is the lower-cased text to look for
    in the actor's name or e-mail; the times are the London midnights that bound the days."""

    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    before: datetime | None = None


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


def _shape(filters: EventFilters) -> tuple[bool, ...]:
    return tuple(getattr(filters, name) is not None for name in EventFilters.__dataclass_fields__)


def _build(shape: tuple[bool, ...]):
    """The filtered events (to count) and their rows, newest first, for one shape of filter."""
    by_action, by_type, by_id, by_actor, by_since, by_before = shape
    stmt = select(AuditEvent)
    if by_action:
        stmt = stmt.where(AuditEvent.action == bindparam("action", type_=String))
    if by_type:
        stmt = stmt.where(AuditEvent.object_type == bindparam("object_type", type_=String))
    if by_id:
        stmt = stmt.where(AuditEvent.object_id == bindparam("object_id", type_=String))
    if by_actor:
        like = bindparam("actor_like", type_=String)
        stmt = stmt.join(User, User.id == AuditEvent.actor_id).where(
            or_(func.lower(User.name).like(like), User.email.like(like))
        )
    if by_since:
        stmt = stmt.where(AuditEvent.at >= bindparam("since", type_=UTCDateTime))
    if by_before:
        stmt = stmt.where(AuditEvent.at < bindparam("before", type_=UTCDateTime))
    # The count reads the filtered events alone (any join above is one actor per event).
    count = stmt.with_only_columns(func.count()).select_from(AuditEvent)
    rows = event_rows(stmt).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return count, rows


def _statements(filters: EventFilters):
    """The rows and count statements for the filters' shape (built once) and the values."""
    shape = _shape(filters)
    rows, _ = built_once(("audit.events", shape), None, lambda _: _build(shape)[1])
    count, _ = built_once(("audit.count", shape), None, lambda _: _build(shape)[0])
    params = {
        "action": filters.action,
        "object_type": filters.object_type,
        "object_id": filters.object_id,
        "actor_like": None if filters.actor is None else f"%{filters.actor}%",
        "since": filters.since,
        "before": filters.before,
    }
    return rows, count, {k: v for k, v in params.items() if v is not None}


def event_page(filters: EventFilters, page: int, per_page: int) -> Page:
    """One page of the matching events, newest first, as EventRows (a count and a page query)."""
    rows, count, params = _statements(filters)
    total = read(count, params).scalar() or 0
    found = paginate(rows, page, per_page, scalars=False, total=total, params=params)
    found.items = [EventRow(*row) for row in found.items]
    return found


def filter_values() -> tuple[list[str], list[str]]:
    """The actions and kinds of object the log holds, for its filter lists: each a walk through
    its index, kept until the next audit event."""
    return generations.kept(
        ("audit.filter_values",),
        lambda: (distinct_values(AuditEvent.action), distinct_values(AuditEvent.object_type)),
        topics=(generations.AUDIT,),
    )
