"""Business verbs for candidate profiles, stages and sensitive answers.

Services take the acting user, flush, and raise domain errors; they never commit.
Sensitive values never reach the audit log, logs or e-mail: events name the field, not the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import String, bindparam, literal, literal_column, select, union_all
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.exc import StaleDataError

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates import policy, rules
from d2w.candidates.choices import (
    APPROVED_LIST_LABELS,
    CONSENT_VERSION,
    ETHNIC_GROUP_LABELS,
    EU_VOTE_LABELS,
    PREFER_NOT_TO_SAY,
    SENSITIVE_FIELDS,
    STAGE_LABELS,
)
from d2w.candidates.models import CandidateProfile, ConsentRecord, ProfileLanguage, SensitiveAnswer, StageChange
from d2w.cohorts.models import ENROLMENT_LABELS, Cohort, Enrolment
from d2w.core import upsert
from d2w.core.db import read, utcnow
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.regions import canonical_region


def ensure_profile(user: User) -> CandidateProfile:
    """Every candidate account has exactly one profile (created with it)."""
    profile = db.session.scalar(_OWN_PROFILE, {"user_id": user.id})
    if profile is None:
        profile = CandidateProfile(user_id=user.id, user=user)
        db.session.add(profile)
        db.session.flush()
    return profile


def profile_of(user: User) -> CandidateProfile | None:
    return db.session.scalar(_OWN_PROFILE, {"user_id": user.id})


# A person's own profile, asked on every page of theirs: the user is the one already loaded, and
# the languages come only if the page uses them (one query, not a join and a second query).
_OWN_PROFILE = (
    select(CandidateProfile)
    .where(CandidateProfile.user_id == bindparam("user_id"))
    .options(lazyload(CandidateProfile.user), lazyload(CandidateProfile.languages))
)


def clean_languages(raw: str | list[str] | None) -> list[str]:
    try:
        return rules.clean_languages(raw)
    except rules.LanguageError as exc:
        raise DomainError(str(exc), field="languages") from None


def _text(value: str | None, limit: int, field: str, label: str, *, upper: bool = False) -> str | None:
    """Trimmed text or None; its length is checked after any normalising."""
    text = (value or "").strip()
    if upper:
        text = text.upper()
    if len(text) > limit:
        raise DomainError(f"Keep the {label} under {limit + 1} characters.", field=field)
    return text or None


def check_region(region: str | None, field: str = "home_region") -> str | None:
    if not region:
        return None
    canonical = canonical_region(region)
    if canonical is None:
        raise DomainError("Choose a UK nation or region from the list.", field=field)
    return canonical


@dataclass
class ProfileChanges:
    phone: str | None = None
    postcode: str | None = None
    home_region: str | None = None
    home_borough: str | None = None
    languages: list[str] | str | None = None
    community_links: str | None = None
    is_councillor: bool = False
    is_association_officer: bool = False
    friends_of_groups: str | None = None


def update_profile(actor: User, profile: CandidateProfile, changes: ProfileChanges, *, version: int) -> None:
    if not policy.can_edit_profile(actor, profile):
        raise Forbidden("You cannot change this profile.")
    if version != profile.version:
        raise Conflict(
            "Somebody else changed this profile while you were editing it. Check the current details and try again."
        )
    # The languages are read before anything changes: reading them later would flush the changes
    # early, outside the version check below.
    current = {lang.language.casefold(): lang for lang in profile.languages}
    profile.phone = _text(changes.phone, 40, "phone", "phone number")
    profile.postcode = _text(changes.postcode, 10, "postcode", "postcode", upper=True)
    profile.home_region = check_region(changes.home_region)
    profile.home_borough = _text(changes.home_borough, 80, "home_borough", "borough")
    profile.community_links = _text(changes.community_links, 2000, "community_links", "community links")
    profile.is_councillor = bool(changes.is_councillor)
    profile.is_association_officer = bool(changes.is_association_officer)
    profile.friends_of_groups = _text(changes.friends_of_groups, 255, "friends_of_groups", "Friends Of groups")
    wanted = clean_languages(changes.languages)
    profile.languages = [current.get(name.casefold()) or ProfileLanguage(language=name) for name in wanted]
    profile.version = version + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            "Somebody else changed this profile while you were editing it. Check the current details and try again."
        ) from None
    audit.record(actor, "candidate.profile_updated", profile)


def set_approved_list(actor: User, profile: CandidateProfile, status: str, when: date | None) -> None:
    if not policy.can_manage_programme(actor):
        raise Forbidden("Only staff record approved-list decisions.")
    if status not in APPROVED_LIST_LABELS:
        raise DomainError("Choose an approved-list status.", field="approved_list_status")
    if status in ("approved", "not_approved") and when is None:
        raise DomainError("Enter the date of the decision.", field="approved_list_date")
    profile.approved_list_status = status
    profile.approved_list_date = when
    db.session.flush()
    audit.record(actor, "candidate.approved_list_changed", profile, summary=APPROVED_LIST_LABELS[status])


def change_stage(actor: User, profile: CandidateProfile, to_stage: str, reason: str) -> StageChange:
    """Move a candidate along the pipeline, keeping who moved them, when and why."""
    if not policy.can_manage_programme(actor):
        raise Forbidden("Only staff move candidates between stages.")
    if to_stage not in STAGE_LABELS:
        raise DomainError("Choose a stage.", field="stage")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Say why the stage is changing.", field="reason")
    if len(reason) > 500:
        raise DomainError("Keep the reason under 500 characters.", field="reason")
    if to_stage == profile.stage:
        raise DomainError("The candidate is already at that stage.", field="stage")
    change = StageChange(
        profile_id=profile.id,
        from_stage=profile.stage,
        to_stage=to_stage,
        reason=reason,
        changed_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    audit.record(
        actor, "candidate.stage_changed", profile, summary=f"{STAGE_LABELS[profile.stage]} → {STAGE_LABELS[to_stage]}"
    )
    profile.stage = to_stage
    db.session.flush()
    return change


class StageRow(NamedTuple):
    """One stage change as the profile page shows it (changed_by_name is None for the system)."""

    changed_at: datetime
    from_stage: str | None
    to_stage: str
    reason: str
    changed_by_id: int | None
    changed_by_name: str | None


_STAGE_HISTORY = (
    select(
        StageChange.changed_at,
        StageChange.from_stage,
        StageChange.to_stage,
        StageChange.reason,
        StageChange.changed_by_id,
        User.name,
    )
    .outerjoin(User, User.id == StageChange.changed_by_id)
    .where(StageChange.profile_id == bindparam("profile_id"))
    .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
)


def stage_history(profile_id: int) -> list[StageRow]:
    """A profile's stage changes, newest first, with who made them (one column query)."""
    return [StageRow(*row) for row in read(_STAGE_HISTORY, {"profile_id": profile_id})]


class EnrolmentRow(NamedTuple):
    cohort_id: int
    cohort_name: str
    status: str
    enrolled_at: datetime

    @property
    def status_label(self) -> str:
        return ENROLMENT_LABELS[self.status]


_ENROLMENTS = (
    select(Enrolment.cohort_id, Cohort.name, Enrolment.status, Enrolment.enrolled_at)
    .join(Cohort, Cohort.id == Enrolment.cohort_id)
    .where(Enrolment.profile_id == bindparam("profile_id"))
    .order_by(Enrolment.enrolled_at.desc())
)


def enrolments_of(profile_id: int) -> list[EnrolmentRow]:
    """Every enrolment of a profile (any status), newest first, with its cohort's name."""
    return [EnrolmentRow(*row) for row in read(_ENROLMENTS, {"profile_id": profile_id})]


# ``enrolments_of`` and ``stage_history`` in one statement: part 0 the enrolments, part 1 the
# stage changes, each in its own order (the enrolments' ties by id, newest first).
_ENROLMENTS_AND_HISTORY = union_all(
    _ENROLMENTS.with_only_columns(
        literal(0).label("part"),
        Enrolment.enrolled_at.label("at"),
        Enrolment.cohort_id.label("ref_id"),
        Cohort.name.label("name"),
        Enrolment.status.label("first"),
        literal(None, String).label("second"),
        literal(None, String).label("reason"),
        Enrolment.id.label("row_id"),
    ).order_by(None),
    _STAGE_HISTORY.with_only_columns(
        literal(1).label("part"),
        StageChange.changed_at,
        StageChange.changed_by_id,
        User.name,
        StageChange.from_stage,
        StageChange.to_stage,
        StageChange.reason,
        StageChange.id,
    ).order_by(None),
).order_by(literal_column("part"), literal_column("at").desc(), literal_column("row_id").desc())


def enrolments_and_history(profile_id: int) -> tuple[list[EnrolmentRow], list[StageRow]]:
    """``enrolments_of`` and ``stage_history`` of a profile, in one query."""
    enrolments: list[EnrolmentRow] = []
    history: list[StageRow] = []
    for part, at, ref_id, name, first, second, reason, _ in read(_ENROLMENTS_AND_HISTORY, {"profile_id": profile_id}):
        if part == 0:
            enrolments.append(EnrolmentRow(ref_id, name, first, at))
        else:
            history.append(StageRow(at, first, second, reason, ref_id, name))
    return enrolments, history


# ---------------------------------------------------------------------------------------------
# Sensitive answers


def _valid_value(field: str, value: str) -> str:
    if field not in SENSITIVE_FIELDS:
        raise DomainError("Unknown question.")
    if field == "ethnic_group":
        if value not in ETHNIC_GROUP_LABELS:
            raise DomainError("Choose an ethnic group, or “Prefer not to say”.", field=field)
        return value
    if field == "eu_ref_vote":
        if value not in EU_VOTE_LABELS:
            raise DomainError("Choose how you voted, or “Prefer not to say”.", field=field)
        return value
    if value == PREFER_NOT_TO_SAY:
        return value
    try:
        born = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DomainError("Enter a real date of birth, for example 1994-03-27.", field=field) from None
    today = date.today()
    if born > today or born.year < today.year - 120:
        raise DomainError("Enter a real date of birth, for example 1994-03-27.", field=field)
    return born.isoformat()


def record_sensitive(
    actor: User, profile: CandidateProfile, field: str, value: str, *, consent: bool
) -> SensitiveAnswer:
    """Store (or change) one answer under a fresh consent record. Without consent nothing is stored."""
    if not policy.can_edit_sensitive(actor, profile):
        raise Forbidden("You cannot change these answers.")
    value = _valid_value(field, value)
    if not consent:
        raise DomainError("Tick the consent box to save this answer.", field=f"{field}_consent")
    record = ConsentRecord(
        profile_id=profile.id, field=field, action="given", text_version=CONSENT_VERSION, entered_by_id=actor.id
    )
    db.session.add(record)
    db.session.flush()
    # One statement whether or not an answer exists, so two saves at once cannot collide.
    now = utcnow()
    read(
        upsert.insert(SensitiveAnswer)
        .values(profile_id=profile.id, field=field, value=value, consent_id=record.id, updated_at=now)
        .on_conflict_do_update(
            index_elements=["profile_id", "field"], set_={"value": value, "consent_id": record.id, "updated_at": now}
        )
    )
    answer = db.session.scalar(
        select(SensitiveAnswer)
        .where(SensitiveAnswer.profile_id == profile.id, SensitiveAnswer.field == field)
        .execution_options(populate_existing=True)
    )
    audit.record(actor, "sensitive.recorded", profile, summary=SENSITIVE_FIELDS[field])
    return answer


def withdraw_consent(actor: User, profile: CandidateProfile, field: str) -> bool:
    """Delete an answer and record the withdrawal. Returns False if there was nothing to delete."""
    if not policy.can_edit_sensitive(actor, profile):
        raise Forbidden("You cannot change these answers.")
    if field not in SENSITIVE_FIELDS:
        raise DomainError("Unknown question.")
    answer = db.session.scalar(
        select(SensitiveAnswer).where(SensitiveAnswer.profile_id == profile.id, SensitiveAnswer.field == field)
    )
    if answer is None:
        return False
    db.session.delete(answer)
    db.session.add(
        ConsentRecord(
            profile_id=profile.id, field=field, action="withdrawn", text_version=CONSENT_VERSION, entered_by_id=actor.id
        )
    )
    db.session.flush()
    audit.record(actor, "sensitive.consent_withdrawn", profile, summary=SENSITIVE_FIELDS[field])
    return True


@dataclass
class SensitiveView:
    """What a permitted reader sees: per field, the stored value (or None for not answered)."""

    answers: dict[str, str | None]
    consents: list[ConsentRecord]

    def label(self, field: str) -> str:
        value = self.answers.get(field)
        if value is None:
            return "Not answered"
        if value == PREFER_NOT_TO_SAY:
            return "Prefer not to say"
        if field == "ethnic_group":
            return ETHNIC_GROUP_LABELS[value]
        if field == "eu_ref_vote":
            return EU_VOTE_LABELS[value]
        return date.fromisoformat(value).strftime("%-d %B %Y")


def read_sensitive(actor: User, profile: CandidateProfile) -> SensitiveView:
    """The sensitive answers, for staff or the candidate. Every read by staff is audited."""
    if not policy.can_view_sensitive(actor, profile):
        raise Forbidden("You cannot see these answers.")
    rows = db.session.scalars(select(SensitiveAnswer).where(SensitiveAnswer.profile_id == profile.id)).all()
    consents = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.profile_id == profile.id)
        .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc())
    ).all()
    if not policy.is_own_profile(actor, profile):
        audit.record(actor, "sensitive.viewed", profile)
    answers = dict.fromkeys(SENSITIVE_FIELDS)
    answers.update({row.field: row.value for row in rows})
    return SensitiveView(answers=answers, consents=list(consents))


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
