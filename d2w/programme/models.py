"""Skills sessions and attendance. Named ProgrammeSession: `session` means two other things in Flask."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.cohorts.models import Cohort
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db
from d2w.programme.skills import ATTENDANCE_LABELS, SKILL_LABELS, SKILL_VALUES


def _skill_label(session) -> str:
    return SKILL_LABELS[session.skill_area]


def _is_cancelled(session) -> bool:
    return session.cancelled_at is not None


# A session's derived facts, shared by the model and the plain-column rows that stand for it on
# pages (d2w.programme.services), so that both read them the same way.
SKILL_LABEL = property(_skill_label, doc="The skill area's label.")
IS_CANCELLED = property(_is_cancelled, doc="Whether the session was cancelled.")


class ProgrammeSession(db.Model):
    __tablename__ = "programme_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("skill_area IN (" + ", ".join(f"'{v}'" for v in SKILL_VALUES) + ")", name="skill_known"),
        CheckConstraint("title <> ''", name="title_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    skill_area: Mapped[str] = mapped_column(String(30))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str | None] = mapped_column(String(255))
    online_url: Mapped[str | None] = mapped_column(String(500))
    facilitator: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    series_id: Mapped[str | None] = mapped_column(String(32), index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped each time the register is saved: two people saving at once cannot both win.
    register_version: Mapped[int] = mapped_column(Integer, default=0)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    cohort: Mapped[Cohort] = relationship(lazy="joined", innerjoin=True)

    skill_label = SKILL_LABEL
    is_cancelled = IS_CANCELLED

    @property
    def cohort_name(self) -> str:
        return self.cohort.name


class Attendance(db.Model):
    __tablename__ = "attendances"
    __table_args__ = (
        Index("ix_attendances_session_status", "session_id", "status"),
        UniqueConstraint("session_id", "profile_id"),
        CheckConstraint("status IN ('present', 'late', 'excused', 'absent')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    marked_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def status_label(self) -> str:
        return ATTENDANCE_LABELS[self.status]
