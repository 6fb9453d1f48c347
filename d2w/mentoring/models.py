"""Mentor profiles, assignments, mentoring logs, private and staff notes, action items and sent
reminders.

The database holds the rules that matter most:

* a mentor's ``active_mentees`` counter never passes their ``capacity`` (a CHECK; places are
  taken with one conditional UPDATE, see ``services.take_mentor_place``);
* a candidate has at most one active primary mentor, and a pair at most one active assignment
  (partial unique indexes, on SQLite and PostgreSQL alike);
* a reminder is recorded at most once per mentor, kind, subject and day.

A mentor's private note lives in its own table and is only ever read through
``services.private_note_for``, which returns it to its author and to nobody else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db
from d2w.programme.skills import SKILL_LABELS, SKILL_VALUES

MODES = (("in_person", "In person"), ("phone", "Phone"), ("video", "Video"))
MODE_LABELS = dict(MODES)
OWNERS = (("mentor", "Mentor"), ("candidate", "Candidate"))
OWNER_LABELS = dict(OWNERS)
REMINDER_KINDS = ("lapsed", "overdue")
MAX_CAPACITY = 20


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# Derived facts shared by the models and the plain-column rows that stand for them on pages
# (d2w.mentoring.services), so that both read them the same way.
MODE_LABEL = property(lambda log: MODE_LABELS[log.mode], doc="How the meeting happened, in words.")
OWNER_LABEL = property(lambda item: OWNER_LABELS[item.owner], doc="Whose action it is, in words.")
IS_DONE = property(lambda item: item.done_at is not None, doc="Whether the action item is done.")


def item_is_overdue(item, today: date) -> bool:
    """Whether an action item is open and past its due date."""
    return not item.is_done and item.due_on < today


class MentorProfile(db.Model):
    __tablename__ = "mentor_profiles"
    __table_args__ = (
        CheckConstraint(f"capacity >= 0 AND capacity <= {MAX_CAPACITY}", name="capacity_in_range"),
        # The load counter can never pass the capacity, whatever races happen.
        CheckConstraint("active_mentees >= 0 AND active_mentees <= capacity", name="mentees_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    region: Mapped[str | None] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    active_mentees: Mapped[int] = mapped_column(Integer, default=0)
    availability: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    skills: Mapped[list[MentorSkill]] = relationship(
        cascade="all, delete-orphan", order_by="MentorSkill.skill_area", lazy="selectin"
    )
    languages: Mapped[list[MentorLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="MentorLanguage.language", lazy="selectin"
    )

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def skill_list(self) -> list[str]:
        return [s.skill_area for s in self.skills]

    @property
    def skill_labels(self) -> list[str]:
        return [SKILL_LABELS[s] for s in self.skill_list]

    @property
    def language_list(self) -> list[str]:
        return [lang.language for lang in self.languages]

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.active_mentees)


class MentorSkill(db.Model):
    """One skill area a mentor can help with (the programme's skill areas)."""

    __tablename__ = "mentor_skills"
    __table_args__ = (
        UniqueConstraint("mentor_id", "skill_area"),
        CheckConstraint(f"skill_area IN {_in(SKILL_VALUES)}", name="skill_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"), index=True)
    skill_area: Mapped[str] = mapped_column(String(30))


class MentorLanguage(db.Model):
    __tablename__ = "mentor_languages"
    __table_args__ = (UniqueConstraint("mentor_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"), index=True)
    language: Mapped[str] = mapped_column(String(60))


class MentorAssignment(db.Model):
    __tablename__ = "mentor_assignments"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name="ended_has_date"),
        # At most one active primary mentor per candidate.
        Index(
            "uq_mentor_assignments_one_active_primary",
            "profile_id",
            unique=True,
            sqlite_where=text("status = 'active' AND is_primary"),
            postgresql_where=text("status = 'active' AND is_primary"),
        ),
        # At most one active assignment per pair.
        Index(
            "uq_mentor_assignments_one_active_pair",
            "mentor_id",
            "profile_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(255))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The date of the pair's latest mentoring log, kept by services.add_log (the health page
    # finds lapsed pairs from it instead of asking the logs about every active pair).
    last_met_on: Mapped[date | None] = mapped_column(Date)

    mentor: Mapped[MentorProfile] = relationship(lazy="joined", innerjoin=True)
    profile: Mapped[CandidateProfile] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class MentoringLog(db.Model):
    """One mentoring conversation. The summary is shared with the candidate."""

    __tablename__ = "mentoring_logs"
    __table_args__ = (
        Index("ix_mentoring_logs_assignment_met", "assignment_id", "met_on"),
        CheckConstraint(f"mode IN {_in(MODE_LABELS)}", name="mode_known"),
        CheckConstraint("duration_minutes >= 5 AND duration_minutes <= 600", name="duration_in_range"),
        CheckConstraint("summary <> ''", name="summary_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("mentor_assignments.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    met_on: Mapped[date] = mapped_column(Date, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mode_label = MODE_LABEL


class PrivateNote(db.Model):
    """A mentor's private note on a log: only its author ever reads it in the application."""

    __tablename__ = "mentoring_private_notes"
    __table_args__ = (CheckConstraint("body <> ''", name="body_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("mentoring_logs.id"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffNote(db.Model):
    """A note by staff on a log: staff only (never the mentor or the candidate)."""

    __tablename__ = "mentoring_staff_notes"
    __table_args__ = (CheckConstraint("body <> ''", name="body_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("mentoring_logs.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ActionItem(db.Model):
    __tablename__ = "mentoring_action_items"
    __table_args__ = (
        CheckConstraint(f"owner IN {_in(OWNER_LABELS)}", name="owner_known"),
        CheckConstraint("description <> ''", name="description_present"),
        CheckConstraint("(done_at IS NULL) = (done_by_id IS NULL)", name="done_has_who"),
        # the health page's overdue count and list read only the open items
        Index(
            "ix_mentoring_action_items_open_due",
            "due_on",
            "assignment_id",
            sqlite_where=text("done_at IS NULL"),
            postgresql_where=text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("mentoring_logs.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("mentor_assignments.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    owner_label = OWNER_LABEL
    is_done = IS_DONE
    is_overdue = item_is_overdue


class MentoringReminder(db.Model):
    """A reminder e-mailed to a mentor: at most one per mentor, kind, subject and day."""

    __tablename__ = "mentoring_reminders"
    __table_args__ = (
        UniqueConstraint("mentor_id", "kind", "subject_id", "sent_on"),
        CheckConstraint(f"kind IN {_in(REMINDER_KINDS)}", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    # The assignment (lapsed contact) or the action item (overdue) the reminder is about.
    subject_id: Mapped[int] = mapped_column(Integer)
    sent_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
