"""Who may see which sessions. Shared by views, queries and templates."""

from __future__ import annotations

from sqlalchemy import Select, select

from d2w.auth.models import Role, User, UserSession


def is_staff(user: User) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.STAFF)


def is_admin(user: User) -> bool:
    return is_staff(user) and bool(user.is_admin)


def sessions_of(user: User) -> Select:
    """The sessions a user may see and end: only their own."""
    return select(UserSession).where(UserSession.user_id == user.id)
