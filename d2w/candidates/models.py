"""Candidate profiles, stage history, languages, and sensitive answers with their consent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.auth.models import User
from d2w.candidates.choices import (
    APPROVED_LIST,
    ETHNIC_GROUP_LABELS,
    EU_VOTES,
    SENSITIVE_FIELDS,
    STAGE_VALUES,
)
from d2w.core.db import UTCDateTime, utcnow
from d2w.core.extensions import db


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class CandidateProfile(db.Model):
    __tablename__ = "candidate_profiles"
    __table_args__ = (
        CheckConstraint(f"stage IN {_in(STAGE_VALUES)}", name="stage_known"),
        CheckConstraint(f"approved_list_status IN {_in(v for v, _ in APPROVED_LIST)}", name="approved_list_known"),
        CheckConstraint("consecutive_absences >= 0", name="absences_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    postcode: Mapped[str | None] = mapped_column(String(10))
    home_region: Mapped[str | None] = mapped_column(String(40), index=True)
    home_borough: Mapped[str | None] = mapped_column(String(80))
    community_links: Mapped[str | None] = mapped_column(Text)
    is_councillor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_association_officer: Mapped[bool] = mapped_column(Boolean, default=False)
    friends_of_groups: Mapped[str | None] = mapped_column(String(255))
    approved_list_status: Mapped[str] = mapped_column(String(20), default="not_applied")
    approved_list_date: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(20), default="prospective", index=True)
    # Kept up to date when registers are saved, so lists can filter "at risk" in SQL.
    consecutive_absences: Mapped[int] = mapped_column(Integer, default=0)
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    languages: Mapped[list[ProfileLanguage]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="ProfileLanguage.language", lazy="selectin"
    )

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def language_list(self) -> list[str]:
        return [lang.language for lang in self.languages]


class ProfileLanguage(db.Model):
    __tablename__ = "profile_languages"
    __table_args__ = (UniqueConstraint("profile_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    language: Mapped[str] = mapped_column(String(60))

    profile: Mapped[CandidateProfile] = relationship(back_populates="languages")


class StageChange(db.Model):
    __tablename__ = "stage_changes"
    __table_args__ = (
        CheckConstraint(f"to_stage IN {_in(STAGE_VALUES)}", name="to_stage_known"),
        CheckConstraint("reason <> ''", name="reason_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by: Mapped[User | None] = relationship(lazy="joined")


SENSITIVE_VALUE_RULES = (
    f"(field = 'ethnic_group' AND value IN {_in(ETHNIC_GROUP_LABELS)})"
    f" OR (field = 'eu_ref_vote' AND value IN {_in(v for v, _ in EU_VOTES)})"
    " OR (field = 'date_of_birth' AND (value = 'prefer_not_to_say'"
    " OR (length(value) = 10 AND value LIKE '____-__-__')))"
)


class SensitiveAnswer(db.Model):
    """One self-declared special-category answer. No row means "not answered"; the value
    ``prefer_not_to_say`` is an answer. Every row points at the consent it was given under."""

    __tablename__ = "sensitive_answers"
    __table_args__ = (
        UniqueConstraint("profile_id", "field"),
        CheckConstraint(f"field IN {_in(SENSITIVE_FIELDS)}", name="field_known"),
        CheckConstraint(SENSITIVE_VALUE_RULES, name="value_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(40))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent_records.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConsentRecord(db.Model):
    """Consent given or withdrawn for one sensitive field: who entered it, when, and which text."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(f"field IN {_in(SENSITIVE_FIELDS)}", name="field_known"),
        CheckConstraint("action IN ('given', 'withdrawn')", name="action_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("candidate_profiles.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    text_version: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    entered_by: Mapped[User] = relationship(lazy="joined")
