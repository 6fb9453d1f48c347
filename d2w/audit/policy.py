"""Who may read the audit log."""

from __future__ import annotations

from d2w.auth.models import User
from d2w.auth.policy import is_admin


def can_view_audit_log(actor: User) -> bool:
    return is_admin(actor)
