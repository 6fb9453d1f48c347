"""Who may see the programme dashboard. One function per rule, shared by views, services and
templates."""

from __future__ import annotations

from d2w.auth.models import User
from d2w.auth.policy import is_staff


def can_view_dashboard(actor: User) -> bool:
    """The programme's figures: staff (admins included)."""
    return is_staff(actor)


def can_view_breakdowns(actor: User) -> bool:
    """Counts by self-declared ethnic group and age, small numbers hidden: staff, who may read
    the answers themselves; never mentors or candidates."""
    return is_staff(actor)
