"""Users, their server-side sessions, single-use tokens and login throttling."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db


class Role(enum.StrEnum):
    STAFF = "staff"
    MENTOR = "mentor"
    CANDIDATE = "candidate"

    @property
    def label(self) -> str:
        return {"staff": "Staff", "mentor": "Mentor", "candidate": "Candidate"}[self.value]


ROLE_VALUES = tuple(r.value for r in Role)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role_known"),
        CheckConstraint("is_admin = false OR role = 'staff'", name="admin_is_staff"),
        CheckConstraint("email <> ''", name="email_present"),
        CheckConstraint("name <> ''", name="name_present"),
        # lists of people sort by name regardless of case: the first page comes off the index
        Index("ix_users_lower_name", text("lower(name)")),
        # people of one role, by name (the mentors list): counted and listed off the index
        Index("ix_users_role_lower_name", "role", text("lower(name)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (lower case), so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Optimistic locking for edits of the account: the version changes only when an editor saves
    # (not on sign-in bookkeeping), and an UPDATE with a stale version fails.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    sessions: Mapped[list[UserSession]] = relationship(back_populates="user", lazy="raise")

    # Flask-Login's interface
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def role_label(self) -> str:
        label = self.role_enum.label
        return f"{label} (admin)" if self.is_admin else label

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship(back_populates="sessions")


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


class AuthToken(db.Model):
    """A single-use, expiring link token (invitation or password reset); only its hash is stored."""

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('invite', 'reset')", name="purpose_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginThrottle(db.Model):
    """Failed sign-ins per e-mail address (known or not), keyed by a keyed hash of the address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
