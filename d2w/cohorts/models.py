"""Cohorts and enrolments. Capacity is enforced by the database (see ``Cohort.places_taken``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.candidates.models import CandidateProfile
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db

FOCUSES = (("bme", "Black and minority ethnic"), ("young", "Young people"), ("both", "BME and young people"))
FOCUS_LABELS = dict(FOCUSES)
COHORT_STATUSES = (("open", "Open"), ("closed", "Closed"))
ENROLMENT_STATUSES = (
    ("invited", "Invited"),
    ("active", "Active"),
    ("completed", "Completed"),
    ("withdrawn", "Withdrawn"),
)
ENROLMENT_LABELS = dict(ENROLMENT_STATUSES)
# Statuses that hold a place in the cohort.
HOLDS_PLACE = ("invited", "active", "completed")


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("focus IN ('bme', 'young', 'both')", name="focus_known"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("intake_end >= intake_start", name="intake_in_order"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        # The place counter can never pass the capacity, whatever races happen.
        CheckConstraint("places_taken >= 0 AND places_taken <= capacity", name="places_within_capacity"),
        CheckConstraint("name <> ''", name="name_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    region: Mapped[str | None] = mapped_column(String(40))
    focus: Mapped[str] = mapped_column(String(10))
    intake_start: Mapped[date] = mapped_column(Date)
    intake_end: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    places_taken: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def focus_label(self) -> str:
        return FOCUS_LABELS[self.focus]

    @property
    def places_left(self) -> int:
        return self.capacity - self.places_taken

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "profile_id"),
        CheckConstraint("status IN ('invited', 'active', 'completed', 'withdrawn')", name="status_known"),
        Index("ix_enrolments_profile_status", "profile_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"))
    status: Mapped[str] = mapped_column(String(10), default="active")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    cohort: Mapped[Cohort] = relationship(lazy="joined", innerjoin=True)
    profile: Mapped[CandidateProfile] = relationship(lazy="raise")

    @property
    def status_label(self) -> str:
        return ENROLMENT_LABELS[self.status]

    @property
    def holds_place(self) -> bool:
        return self.status in HOLDS_PLACE
