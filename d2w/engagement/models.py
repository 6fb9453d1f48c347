"""Community engagement: the milestone-type catalogue, milestones with their evidence and history,
and each cohort's targets.

The database holds the rules: a milestone's status is one of logged, verified or returned; a
verified one records who verified it and when; numbers are never negative and stay within sane
bounds; an uploaded file's stored name, display name, type and size come together or not at all;
a return always carries a comment; a cohort has at most one target per type, and it is positive.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db
from d2w.core.regions import REGIONS

CATEGORIES = (
    ("community", "Community presence"),
    ("classes", "Classes and clubs"),
    ("campaigning", "Campaigning and volunteers"),
    ("media", "Media and social media"),
    ("civic", "Civic roles"),
)
CATEGORY_LABELS = dict(CATEGORIES)
STATUSES = (("logged", "Awaiting verification"), ("verified", "Verified"), ("returned", "Returned"))
STATUS_LABELS = dict(STATUSES)
EVIDENCE_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_PEOPLE_REACHED = 100_000
MAX_VOLUNTEERS = 10_000
MAX_TARGET = 1_000


def _in(values) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


class MilestoneType(db.Model):
    __tablename__ = "milestone_types"
    __table_args__ = (
        CheckConstraint(f"category IN {_in(CATEGORY_LABELS)}", name="category_known"),
        CheckConstraint("name <> ''", name="name_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (
        # A candidate's milestones by status (own list, cohort progress, seat-fit ties); the
        # review queue in order; the dashboard's totals by type, read from the index alone.
        Index("ix_milestones_profile_status_type", "profile_id", "status", "type_id"),
        Index("ix_milestones_status_created", "status", "created_at", "id"),
        Index("ix_milestones_type_status_totals", "type_id", "status", "people_reached", "volunteers_recruited"),
        CheckConstraint(f"status IN {_in(STATUS_LABELS)}", name="status_known"),
        CheckConstraint("status <> 'verified' OR verified_at IS NOT NULL", name="verified_has_date"),
        CheckConstraint("place <> ''", name="place_present"),
        CheckConstraint("description <> ''", name="description_present"),
        CheckConstraint(f"region IS NULL OR region IN {_in(REGIONS)}", name="region_known"),
        CheckConstraint("seat_code IS NULL OR length(seat_code) = 9", name="seat_code_shape"),
        CheckConstraint(f"people_reached >= 0 AND people_reached <= {MAX_PEOPLE_REACHED}", name="people_in_range"),
        CheckConstraint(
            f"volunteers_recruited >= 0 AND volunteers_recruited <= {MAX_VOLUNTEERS}", name="volunteers_in_range"
        ),
        CheckConstraint(
            "(evidence_file IS NULL AND evidence_filename IS NULL AND evidence_type IS NULL AND evidence_size IS NULL)"
            " OR (evidence_file IS NOT NULL AND evidence_filename IS NOT NULL AND evidence_type IS NOT NULL"
            " AND evidence_size > 0)",
            name="evidence_file_complete",
        ),
        CheckConstraint(f"evidence_type IS NULL OR evidence_type IN {_in(EVIDENCE_TYPES)}", name="evidence_type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("milestone_types.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(40))
    borough: Mapped[str | None] = mapped_column(String(80))
    # An ONS constituency code (E14000555); the seats issue will resolve it to a Seat.
    seat_code: Mapped[str | None] = mapped_column(String(9), index=True)
    community: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    people_reached: Mapped[int] = mapped_column(Integer, default=0)
    volunteers_recruited: Mapped[int] = mapped_column(Integer, default=0)
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    # The stored file's random name under EVIDENCE_DIR; the original name is for display only.
    evidence_file: Mapped[str | None] = mapped_column(String(64), unique=True)
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_type: Mapped[str | None] = mapped_column(String(40))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="logged", index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    type: Mapped[MilestoneType] = relationship(lazy="joined", innerjoin=True)
    profile: Mapped[CandidateProfile] = relationship(lazy="joined", innerjoin=True)
    verified_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def has_file(self) -> bool:
        return self.evidence_file is not None

    @property
    def has_evidence(self) -> bool:
        return self.has_file or bool(self.evidence_url)


class MilestoneEvent(db.Model):
    """One step in a milestone's history: logged, edited, returned, resubmitted or verified."""

    __tablename__ = "milestone_events"
    __table_args__ = (
        CheckConstraint(f"to_status IN {_in(STATUS_LABELS)}", name="to_status_known"),
        CheckConstraint(f"from_status IS NULL OR from_status IN {_in(STATUS_LABELS)}", name="from_status_known"),
        CheckConstraint(
            "to_status <> 'returned' OR (comment IS NOT NULL AND comment <> '')", name="return_has_comment"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(String(2000))

    actor: Mapped[User | None] = relationship(lazy="joined")

    @property
    def description(self) -> str:
        return event_description(self.from_status, self.to_status)


def event_description(from_status: str | None, to_status: str) -> str:
    """How a milestone's history names one step."""
    if from_status is None:
        return "Logged"
    if to_status == "verified":
        return "Verified"
    if to_status == "returned":
        return "Returned for changes"
    if from_status == "returned":
        return "Changed and resubmitted"
    return "Changed"


class MilestoneTarget(db.Model):
    __tablename__ = "milestone_targets"
    __table_args__ = (
        UniqueConstraint("cohort_id", "type_id"),
        CheckConstraint(f"target > 0 AND target <= {MAX_TARGET}", name="target_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("milestone_types.id"))
    target: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
