"""Business verbs for managing accounts. The acting user is always passed in."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, String, bindparam, func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from d2w.audit import services as audit
from d2w.auth import services as auth
from d2w.auth.models import ROLE_VALUES, Role, TokenPurpose, User
from d2w.core.db import built_once
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import Page, Sort, apply_sort, paginate
from d2w.users import policy
from d2w.users.policy import visible_users


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Enter the person's name.", field="name")
    if len(name) > 120:
        raise DomainError("Use at most 120 characters for the name.", field="name")
    return name


def _check_role(role: str, is_admin: bool) -> None:
    if role not in ROLE_VALUES:
        raise DomainError("Choose a role.", field="role")
    if is_admin and role != Role.STAFF:
        raise DomainError("Only staff can be admins.", field="is_admin")


def _email_free(email: str, exclude_id: int | None = None) -> None:
    stmt = select(User.id).where(User.email == email)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise DomainError("There is already an account with this e-mail address.", field="email")


def create_user(
    actor: User | None, *, email: str, name: str, role: str, is_admin: bool = False, password: str | None = None
) -> User:
    """Create an account (with a password, or none yet for an invitation)."""
    email = auth.normalise_email(email)
    name = _clean_name(name)
    _check_role(role, is_admin)
    _email_free(email)
    user = User(email=email, name=name, role=role, is_admin=is_admin, active=True)
    db.session.add(user)
    db.session.flush()
    if password is not None:
        auth.set_password(user, password)
    if user.role == Role.CANDIDATE:
        from d2w.candidates.services import ensure_profile

        ensure_profile(user)
    audit.record(actor, "user.created", user, summary=f"role {user.role_label}")
    return user


def invite_user(actor: User, *, email: str, name: str, role: str, is_admin: bool = False) -> tuple[User, str]:
    """Create an account without a password and return it with its invitation token."""
    if not policy.can_manage_users(actor):
        raise Forbidden("Only admins can invite people.")
    user = create_user(actor, email=email, name=name, role=role, is_admin=is_admin)
    raw = auth.issue_token(user, TokenPurpose.INVITE, created_by=actor)
    audit.record(actor, "user.invited", user)
    return user, raw


def resend_invitation(actor: User, user: User) -> str:
    if not policy.can_resend_invitation(actor, user):
        raise DomainError("This person has already set a password or is deactivated.")
    raw = auth.issue_token(user, TokenPurpose.INVITE, created_by=actor)
    audit.record(actor, "user.invitation_resent", user)
    return raw


def update_user(actor: User, user: User, *, name: str, role: str, is_admin: bool, version: int) -> User:
    """Change a name, role or admin flag. ``version`` is the one the editor saw."""
    if not policy.can_manage_users(actor):
        raise Forbidden("Only admins can change accounts.")
    if version != user.version:
        raise Conflict(
            "Somebody else changed this account while you were editing it. Check the current details and try again."
        )
    name = _clean_name(name)
    _check_role(role, is_admin)
    if is_admin != user.is_admin and not policy.can_change_admin_flag(actor, user):
        raise DomainError("You cannot remove your own admin rights.", field="is_admin")
    if actor.id == user.id and role != user.role:
        raise DomainError("You cannot change your own role.", field="role")
    old_label = user.role_label
    user.name = name
    user.role = role
    user.is_admin = is_admin
    user.version = version + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict("Somebody else changed this account while you were editing it.") from None
    if user.role == Role.CANDIDATE:
        from d2w.candidates.services import ensure_profile

        ensure_profile(user)
    if user.role_label != old_label:
        audit.record(actor, "user.role_changed", user, summary=f"{old_label} → {user.role_label}")
        # A new role means new permissions: start again with a fresh sign-in.
        auth.revoke_sessions(user, actor=actor, reason="role changed")
    else:
        audit.record(actor, "user.updated", user)
    return user


def deactivate_user(actor: User, user: User) -> None:
    if not policy.can_deactivate(actor, user):
        raise DomainError("You cannot deactivate this account.")
    user.active = False
    db.session.flush()
    audit.record(actor, "user.deactivated", user)
    auth.revoke_sessions(user, actor=actor, reason="account deactivated")


def reactivate_user(actor: User, user: User) -> None:
    if not policy.can_reactivate(actor, user):
        raise DomainError("This account is already active.")
    user.active = True
    db.session.flush()
    audit.record(actor, "user.reactivated", user)


# ---------------------------------------------------------------------------------------------
# The directory: the columns a row shows, never whole accounts (no password hash leaves the
# database for a list)


class UserRow(NamedTuple):
    id: int
    name: str
    email: str
    role: str
    is_admin: bool
    active: bool
    has_password: bool
    last_login_at: datetime | None

    @property
    def role_label(self) -> str:
        """As ``User.role_label``."""
        label = Role(self.role).label
        return f"{label} (admin)" if self.is_admin else label


# The directory's sorts: the query string's ``sort`` names one of these.
DIRECTORY_SORTS = {
    "name": func.lower(User.name),
    "email": User.email,
    "role": User.role,
    "created": User.created_at,
    "last_login": User.last_login_at,
}
_STATUS_FILTERS = {
    "active": (User.active.is_(True), User.password_hash.is_not(None)),
    "invited": (User.active.is_(True), User.password_hash.is_(None)),
    "inactive": (User.active.is_(False),),
}


def directory_page(actor: User, *, q: str, role: str, status: str, sort: Sort, page: int, per_page: int) -> Page:
    """One page of the user directory as UserRows: the users the actor may look up
    (``policy.visible_users``), filtered by name or e-mail, role and status, and sorted. The
    statement is built once per kind of user and shape of filter (``built_once``)."""
    q = (q or "").strip().lower()
    shape = (bool(q), bool(role), status if status in _STATUS_FILTERS else "", sort.key, sort.descending)
    stmt, params = built_once(("users.directory", shape), actor, lambda shaped: _directory_statement(shaped, shape))
    if q:
        params["like"] = f"%{q}%"
    if role:
        params["role"] = role
    found = paginate(stmt, page, per_page, scalars=False, params=params)
    found.items = to_rows(found.items)
    return found


def _directory_statement(actor, shape) -> Select:
    by_text, by_role, status, sort_key, descending = shape
    stmt = visible_users(actor)
    if by_text:
        like = bindparam("like", type_=String)
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if by_role:
        stmt = stmt.where(User.role == bindparam("role", type_=String))
    if status:
        stmt = stmt.where(*_STATUS_FILTERS[status])
    return apply_sort(directory_rows(stmt), Sort(sort_key, descending), DIRECTORY_SORTS, User.id)


def directory_rows(stmt: Select) -> Select:
    """``stmt`` (the policy's visible users, filtered and sorted) reading a UserRow's columns."""
    return stmt.with_only_columns(
        User.id,
        User.name,
        User.email,
        User.role,
        User.is_admin,
        User.active,
        User.password_hash.is_not(None),
        User.last_login_at,
    )


def to_rows(rows) -> list[UserRow]:
    return [
        UserRow(uid, name, email, role, bool(admin), bool(active), bool(has_password), last_login)
        for uid, name, email, role, admin, active, has_password, last_login in rows
    ]
