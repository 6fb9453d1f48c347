"""Saved seat-fit checks: the inputs a check used and what each factor said.

A check is advice to a person. It is stored so that an application can show the check it was
submitted with, and so that a later reader sees exactly what the candidate or staff member saw:
the stance, home region and borough, the party and thresholds, the verified ties counted, and
per factor its score, one-sentence reason, the figures behind it and whether it warned.
The stance (a 2016 referendum vote) is a political opinion: only staff and the candidate see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db
from d2w.seats.models import Seat

STANCES = ("leave", "remain", "did_not_vote", "prefer_not_to_say", "unknown")
BANDS = ("good", "caution", "poor")
FACTORS = ("referendum", "winnability", "local_ties", "context")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _warning_list(check) -> list[str]:
    return [w for w in check.warnings.splitlines() if w]


# A check's warnings, one per stored line: shared by the model and the column rows that stand for it.
WARNING_LIST = property(_warning_list)


class SeatFitCheck(db.Model):
    __tablename__ = "seat_fit_checks"
    __table_args__ = (
        CheckConstraint(f"stance IN {_in(STANCES)}", name="stance_known"),
        CheckConstraint(f"band IN {_in(BANDS)}", name="band_known"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        CheckConstraint("ties_count >= 0", name="ties_not_negative"),
        Index("ix_seat_fit_checks_profile_seat_run", "profile_id", "seat_id", "run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), index=True)
    run_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Inputs
    stance: Mapped[str] = mapped_column(String(20))
    home_region: Mapped[str | None] = mapped_column(String(40))
    home_borough: Mapped[str | None] = mapped_column(String(80))
    party: Mapped[str] = mapped_column(String(10))
    ties_count: Mapped[int] = mapped_column(Integer, default=0)
    # The thresholds in force, as "name=value; ..." (configuration can change later).
    thresholds: Mapped[str] = mapped_column(String(300))
    # Outputs
    band: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    warnings: Mapped[str] = mapped_column(Text, default="")  # one per line

    profile: Mapped[CandidateProfile] = relationship(lazy="raise")
    seat: Mapped[Seat] = relationship(lazy="joined", innerjoin=True)
    run_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    factors: Mapped[list[SeatFitFactor]] = relationship(
        back_populates="check", lazy="selectin", order_by="SeatFitFactor.position", cascade="all, delete-orphan"
    )

    warning_list = WARNING_LIST


class SeatFitFactor(db.Model):
    __tablename__ = "seat_fit_factors"
    __table_args__ = (
        UniqueConstraint("check_id", "name"),
        CheckConstraint(f"name IN {_in(FACTORS)}", name="factor_known"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        CheckConstraint("reason <> ''", name="reason_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("seat_fit_checks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(20))
    # None for context, which is shown and never scored.
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    # The figures behind the reason, one "label: value" per line.
    figures: Mapped[str] = mapped_column(Text, default="")
    warning: Mapped[bool] = mapped_column(Boolean, default=False)

    check: Mapped[SeatFitCheck] = relationship(back_populates="factors", lazy="raise")

    @property
    def figure_lines(self) -> list[tuple[str, str]]:
        out = []
        for line in self.figures.splitlines():
            label, _, value = line.partition(": ")
            out.append((label, value))
        return out
