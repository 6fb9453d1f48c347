"""Rules for the user directory. One function per rule, shared by views, queries and templates."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_admin, is_staff


def can_view_directory(actor: User) -> bool:
    """Staff see everyone in the programme; mentors and candidates have no directory."""
    return is_staff(actor)


def can_manage_users(actor: User) -> bool:
    """Inviting, changing roles and deactivating are for admins."""
    return is_admin(actor)


def visible_users(actor: User) -> Select:
    """The users the actor may look up; anything else answers 404."""
    stmt = select(User)
    if not can_view_directory(actor):
        stmt = stmt.where(false())
    return stmt


def can_deactivate(actor: User, target: User) -> bool:
    """Admins may deactivate anyone but themselves (so nobody locks the department out)."""
    return can_manage_users(actor) and actor.id != target.id and target.active


def can_reactivate(actor: User, target: User) -> bool:
    return can_manage_users(actor) and not target.active


def can_change_admin_flag(actor: User, target: User) -> bool:
    """An admin cannot remove their own admin rights."""
    return can_manage_users(actor) and actor.id != target.id


def can_resend_invitation(actor: User, target: User) -> bool:
    return can_manage_users(actor) and target.active and not target.has_password
