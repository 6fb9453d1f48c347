"""Applications to seats and their history.

Status moves considering → fit_checked → submitted → longlisted → shortlisted → final → selected or
not_selected; withdrawn from any open status. Submission needs a fit check under
SEATFIT_CHECK_VALID_DAYS old; a poor band needs a staff override with a written reason (audited).
The database holds: known statuses, a submitted application names its fit check, an override
always carries its reason, author and time, at most one open application per candidate and seat.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db
from d2w.seatfit.models import SeatFitCheck
from d2w.seats.models import Seat

STATUSES = (
    ("considering", "Considering"),
    ("fit_checked", "Fit checked"),
    ("submitted", "Submitted"),
    ("longlisted", "Longlisted"),
    ("shortlisted", "Shortlisted"),
    ("final", "Final"),
    ("selected", "Selected"),
    ("not_selected", "Not selected"),
    ("withdrawn", "Withdrawn"),
)
STATUS_LABELS = dict(STATUSES)
STATUS_VALUES = tuple(STATUS_LABELS)
CLOSED_STATUSES = ("selected", "not_selected", "withdrawn")
SUBMITTED_OR_LATER = ("submitted", "longlisted", "shortlisted", "final", "selected", "not_selected")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_OPEN = f"status NOT IN {_in(CLOSED_STATUSES)}"


class Application(db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_status_updated", "status", "updated_at", "id"),
        CheckConstraint(f"status IN {_in(STATUS_VALUES)}", name="status_known"),
        CheckConstraint(
            f"status NOT IN {_in(SUBMITTED_OR_LATER)} OR (submitted_on IS NOT NULL AND fit_check_id IS NOT NULL)",
            name="submitted_has_check",
        ),
        CheckConstraint(
            "(override_reason IS NULL AND override_by_id IS NULL AND override_at IS NULL) OR "
            "(override_reason <> '' AND override_by_id IS NOT NULL AND override_at IS NOT NULL)",
            name="override_complete",
        ),
        # At most one open application per candidate and seat.
        Index(
            "uq_applications_one_open_per_seat",
            "profile_id",
            "seat_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="considering", index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # The fit check the application was (or will be) submitted with.
    fit_check_id: Mapped[int | None] = mapped_column(ForeignKey("seat_fit_checks.id"))
    submitted_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    profile: Mapped[CandidateProfile] = relationship(lazy="raise")
    seat: Mapped[Seat] = relationship(lazy="joined", innerjoin=True)
    fit_check: Mapped[SeatFitCheck | None] = relationship(lazy="raise")
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id], lazy="raise")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="raise")
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", lazy="raise", order_by="ApplicationEvent.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class ApplicationEvent(db.Model):
    """One step of an application's history: the move, the date it happened, who recorded it."""

    __tablename__ = "application_events"
    __table_args__ = (
        CheckConstraint(f"from_status IS NULL OR from_status IN {_in(STATUS_VALUES)}", name="from_known"),
        CheckConstraint(f"to_status IN {_in(STATUS_VALUES)}", name="to_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="events", lazy="raise")
    by: Mapped[User] = relationship(lazy="joined", innerjoin=True)
