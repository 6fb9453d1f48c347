"""Write audit events. Callers pass the acting user; the request id and address are added."""

from __future__ import annotations

from sqlalchemy import insert

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.core import context
from d2w.core.db import utcnow
from d2w.core.extensions import db

_INSERT = insert(AuditEvent.__table__)  # built once: every audited request adds a row with it


def record(
    actor: User | None,
    action: str,
    obj: object | None = None,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    summary: str = "",
) -> None:
    """Add an audit event in the request's transaction (the caller commits).

    One INSERT of the row, run at once, no ORM object made (a page that only reads sensitive
    data still writes one). ``summary`` must never hold a sensitive value: it names what
    changed, not to what.
    """
    if obj is not None:
        object_type = object_type or type(obj).__tablename__.removesuffix("s")
        object_id = getattr(obj, "id", object_id)
    db.session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor_id": actor.id if actor is not None else None,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "summary": summary[:255],
            "request_id": context.request_id(),
            "ip": context.client_ip(),
        },
    )
