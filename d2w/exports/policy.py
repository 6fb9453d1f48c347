"""Who may download the CSV exports. One function per rule, shared by views, services and
templates."""

from __future__ import annotations

from d2w.auth.models import User
from d2w.auth.policy import is_staff


def can_export(actor: User) -> bool:
    """Candidates, attendance, milestones and applications as CSV: staff (admins included)."""
    return is_staff(actor)


def can_export_self_declared(actor: User) -> bool:
    """Ethnic group, date of birth and referendum vote in the candidates export: staff only, and
    only when they tick the option (each such download is audited)."""
    return is_staff(actor)
