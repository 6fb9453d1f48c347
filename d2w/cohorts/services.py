"""Business verbs for cohorts and enrolments.

Capacity is enforced by the database: a place is taken with one conditional UPDATE
(``places_taken + n <= capacity``), so two people enrolling into the last place at once cannot
both succeed, and a CHECK constraint backs it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import Select, String, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from d2w.audit import services as audit
from d2w.auth import services as auth
from d2w.auth.models import TokenPurpose, User
from d2w.candidates import policy as candidate_policy
from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import change_stage, check_region
from d2w.cohorts.models import ENROLMENT_LABELS, FOCUS_LABELS, HOLDS_PLACE, Cohort, Enrolment
from d2w.core.db import built_once, one_of, read, utcnow
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import Page, Sort, apply_sort, paginate


def _require_staff(actor: User) -> None:
    if not candidate_policy.can_manage_programme(actor):
        raise Forbidden("Only staff manage cohorts.")


@dataclass
class CohortFields:
    name: str
    focus: str
    intake_start: date
    intake_end: date
    capacity: int
    region: str | None = None


def _check(fields: CohortFields, *, exclude_id: int | None = None, places_taken: int = 0) -> CohortFields:
    name = " ".join((fields.name or "").split())
    if not name:
        raise DomainError("Enter a name for the cohort.", field="name")
    if len(name) > 120:
        raise DomainError("Keep the name under 120 characters.", field="name")
    stmt = select(Cohort.id).where(func.lower(Cohort.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Cohort.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise DomainError("There is already a cohort with this name.", field="name")
    if fields.focus not in FOCUS_LABELS:
        raise DomainError("Choose the cohort's focus.", field="focus")
    if fields.intake_start is None:
        raise DomainError("Enter the intake start date.", field="intake_start")
    if fields.intake_end is None:
        raise DomainError("Enter the intake end date.", field="intake_end")
    if fields.intake_end < fields.intake_start:
        raise DomainError("The intake must end on or after its start.", field="intake_end")
    if fields.capacity is None or fields.capacity < 1 or fields.capacity > 1000:
        raise DomainError("Capacity must be a whole number from 1 to 1,000.", field="capacity")
    if fields.capacity < places_taken:
        raise DomainError(f"{places_taken} places are already taken: capacity cannot be lower.", field="capacity")
    return CohortFields(
        name=name,
        focus=fields.focus,
        intake_start=fields.intake_start,
        intake_end=fields.intake_end,
        capacity=fields.capacity,
        region=check_region(fields.region, field="region"),
    )


def _flush_guarded() -> None:
    """Flush a cohort change; a concurrent change becomes a Conflict, not an error page."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            "Somebody else changed this cohort at the same time. Check the current details and try again."
        ) from None
    except IntegrityError:
        raise Conflict(
            "That clashes with a change somebody else has just made (a name now in use, or places taken meanwhile). Check and try again."
        ) from None


def create_cohort(actor: User, fields: CohortFields) -> Cohort:
    _require_staff(actor)
    f = _check(fields)
    cohort = Cohort(
        name=f.name,
        focus=f.focus,
        intake_start=f.intake_start,
        intake_end=f.intake_end,
        capacity=f.capacity,
        region=f.region,
    )
    db.session.add(cohort)
    try:
        db.session.flush()
    except IntegrityError:
        raise DomainError("There is already a cohort with this name.", field="name") from None
    audit.record(actor, "cohort.created", cohort)
    return cohort


def update_cohort(actor: User, cohort: Cohort, fields: CohortFields, *, version: int) -> Cohort:
    _require_staff(actor)
    if version != cohort.version:
        raise Conflict(
            "Somebody else changed this cohort while you were editing it. Check the current details and try again."
        )
    f = _check(fields, exclude_id=cohort.id, places_taken=cohort.places_taken)
    cohort.name, cohort.focus, cohort.region = f.name, f.focus, f.region
    cohort.intake_start, cohort.intake_end, cohort.capacity = f.intake_start, f.intake_end, f.capacity
    cohort.version = version + 1
    _flush_guarded()
    audit.record(actor, "cohort.updated", cohort)
    return cohort


def close_cohort(actor: User, cohort: Cohort) -> None:
    """Close a cohort: no more enrolments; active candidates are marked as having completed it."""
    _require_staff(actor)
    if not cohort.is_open:
        raise DomainError("This cohort is already closed.")
    cohort.status = "closed"
    cohort.closed_at = utcnow()
    cohort.version += 1
    _flush_guarded()
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active")
        .values(status="completed", ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    # Invitations to a closed cohort lapse: they are withdrawn and their places freed.
    lapsed = db.session.execute(
        update(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "invited")
        .values(status="withdrawn", ended_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if lapsed:
        db.session.execute(
            update(Cohort)
            .where(Cohort.id == cohort.id)
            .values(places_taken=Cohort.places_taken - lapsed)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    audit.record(actor, "cohort.closed", cohort)


def reopen_cohort(actor: User, cohort: Cohort) -> None:
    _require_staff(actor)
    if cohort.is_open:
        raise DomainError("This cohort is already open.")
    cohort.status = "open"
    cohort.closed_at = None
    cohort.version += 1
    _flush_guarded()
    audit.record(actor, "cohort.reopened", cohort)


def take_places(cohort_id: int, n: int) -> bool:
    """Atomically take n places; False if the cohort has fewer left (nothing changes then)."""
    result = db.session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id, Cohort.places_taken + n <= Cohort.capacity, Cohort.status == "open")
        .values(places_taken=Cohort.places_taken + n)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release_place(cohort_id: int) -> None:
    db.session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id, Cohort.places_taken > 0)
        .values(places_taken=Cohort.places_taken - 1)
        .execution_options(synchronize_session=False)
    )


def enrol(actor: User, cohort: Cohort, profile: CandidateProfile, *, status: str = "active") -> Enrolment:
    """Put a candidate in a cohort, taking a place. A withdrawn enrolment is renewed."""
    _require_staff(actor)
    if status not in ("invited", "active"):
        raise DomainError("New enrolments are invited or active.")
    if not cohort.is_open:
        raise DomainError("This cohort is closed.")
    existing = db.session.scalar(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.profile_id == profile.id)
    )
    if existing is not None and existing.holds_place:
        raise DomainError(f"{profile.name} is already in this cohort.", field="candidate")
    if not take_places(cohort.id, 1):
        raise DomainError(f"{cohort.name} is full ({cohort.capacity} places).", field="candidate")
    if existing is not None:
        existing.status, existing.ended_at, existing.enrolled_at = status, None, utcnow()
        enrolment = existing
    else:
        enrolment = Enrolment(cohort_id=cohort.id, profile_id=profile.id, status=status, enrolled_by_id=actor.id)
        db.session.add(enrolment)
    try:
        db.session.flush()
    except IntegrityError:  # the same candidate enrolled by somebody else at the same moment
        raise DomainError(f"{profile.name} is already in this cohort.", field="candidate") from None
    db.session.refresh(cohort)
    if profile.stage == "prospective":
        change_stage(actor, profile, "in_programme", f"Enrolled in {cohort.name}")
    audit.record(actor, "cohort.enrolled", enrolment, summary=cohort.name)
    return enrolment


def withdraw(actor: User, enrolment: Enrolment) -> None:
    _require_staff(actor)
    if enrolment.status == "withdrawn":
        raise DomainError("This candidate has already withdrawn from the cohort.")
    held = enrolment.holds_place
    enrolment.status = "withdrawn"
    enrolment.ended_at = utcnow()
    if held:
        _release_place(enrolment.cohort_id)
    db.session.flush()
    audit.record(actor, "cohort.withdrawn", enrolment, summary=enrolment.cohort.name)


def set_enrolment_status(actor: User, enrolment: Enrolment, status: str) -> None:
    """Move between invited, active and completed (withdrawal has its own verb)."""
    _require_staff(actor)
    if status not in ("invited", "active", "completed"):
        raise DomainError("Choose invited, active or completed.")
    if enrolment.status == "withdrawn":
        raise DomainError("Enrol the candidate again instead.")
    enrolment.status = status
    db.session.flush()


def roster(cohort_id: int) -> list[tuple[Enrolment, CandidateProfile]]:
    """The candidates holding a place in a cohort, by name (one query)."""
    rows = read(
        select(Enrolment, CandidateProfile)
        .join(CandidateProfile, CandidateProfile.id == Enrolment.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
        .where(Enrolment.cohort_id == cohort_id, one_of(Enrolment.status, HOLDS_PLACE))
        .order_by(func.lower(User.name), User.id)
    ).all()
    return [(e, p) for e, p in rows]


class CohortRow(NamedTuple):
    """A cohort as the cohort list shows it (plain columns: no model objects for a list)."""

    id: int
    name: str
    focus: str
    region: str | None
    intake_start: date
    intake_end: date
    places_taken: int
    capacity: int
    status: str

    @property
    def focus_label(self) -> str:
        return FOCUS_LABELS[self.focus]

    @property
    def is_open(self) -> bool:
        return self.status == "open"


LIST_SORTS = {
    "name": func.lower(Cohort.name),
    "start": Cohort.intake_start,
    "places": Cohort.places_taken,
    "region": Cohort.region,
}


def cohort_list(*, status: str | None, q: str | None, sort: Sort, page: int, per_page: int) -> Page:
    """A page of cohorts, filtered by status and a name fragment, as ``CohortRow``s. The statement
    is built once per shape of filter and sort (``built_once``)."""
    q = (q or "").strip().lower()
    shape = (bool(status), bool(q), sort.key if sort.key in LIST_SORTS else "start", sort.descending)
    stmt, params = built_once(("cohorts.list", shape), None, lambda _: _cohort_list_statement(shape))
    if status:
        params["status"] = status
    if q:
        params["like"] = f"%{q}%"
    page_of = paginate(stmt, page, per_page, scalars=False, params=params)
    page_of.items = [CohortRow(*row) for row in page_of.items]
    return page_of


def _cohort_list_statement(shape) -> Select:
    by_status, by_text, sort_key, descending = shape
    stmt = select(*(getattr(Cohort, name) for name in CohortRow._fields))
    if by_status:
        stmt = stmt.where(Cohort.status == bindparam("status", type_=String))
    if by_text:
        stmt = stmt.where(func.lower(Cohort.name).like(bindparam("like", type_=String)))
    return apply_sort(stmt, Sort(sort_key, descending), LIST_SORTS, Cohort.id)


class RosterRow(NamedTuple):
    enrolment_id: int
    status: str
    profile_id: int
    name: str
    active: bool
    has_password: bool

    @property
    def status_label(self) -> str:
        return ENROLMENT_LABELS[self.status]


def roster_rows(cohort_id: int) -> list[RosterRow]:
    """The roster as the cohort page shows it: the same people in the same order as ``roster``,
    as plain columns (a cohort of 125 loads no model objects)."""
    rows = read(
        select(
            Enrolment.id,
            Enrolment.status,
            CandidateProfile.id,
            User.name,
            User.active,
            User.password_hash.is_not(None),
        )
        .join(CandidateProfile, CandidateProfile.id == Enrolment.profile_id)
        .join(User, User.id == CandidateProfile.user_id)
        .where(Enrolment.cohort_id == cohort_id, one_of(Enrolment.status, HOLDS_PLACE))
        .order_by(func.lower(User.name), User.id)
    ).all()
    return [RosterRow(*row) for row in rows]


def detail_parts(cohort_id: int, at_risk_threshold: int) -> dict:
    """What a cohort's page shows below its summary: the roster with each candidate's attendance
    and at-risk flag, those who withdrew, and the cohort's sessions (six queries)."""
    from d2w.candidates.queries import at_risk_ids
    from d2w.programme import services as programme

    roster = roster_rows(cohort_id)
    profile_ids = [r.profile_id for r in roster]
    withdrawn = read(
        select(Enrolment.ended_at, User.name)
        .join(Enrolment.profile)
        .join(User)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == "withdrawn")
        .order_by(func.lower(User.name))
    ).all()
    return {
        "roster": roster,
        "withdrawn": withdrawn,
        "attendance": programme.candidate_rates(profile_ids),
        "sessions": programme.sessions_for_cohort(cohort_id),
        "at_risk": at_risk_ids(profile_ids, at_risk_threshold),
        "uninvited": sum(1 for r in roster if r.active and not r.has_password),
    }


def invite_enrolled(actor: User, cohort: Cohort) -> list[tuple[User, str]]:
    """New invitation links for enrolled candidates who have not made their account yet."""
    _require_staff(actor)
    out = []
    for _, profile in roster(cohort.id):
        user = profile.user
        if user.active and not user.has_password:
            raw = auth.issue_token(user, TokenPurpose.INVITE, created_by=actor)
            audit.record(actor, "user.invited", user, summary=f"via cohort {cohort.name}")
            out.append((user, raw))
    return out


def existing_emails(emails: list[str]) -> set[str]:
    from d2w.auth.models import User as _User

    if not emails:
        return set()
    found = set()
    for start in range(0, len(emails), 500):
        chunk = [e.lower() for e in emails[start : start + 500]]
        found.update(db.session.scalars(select(_User.email).where(_User.email.in_(chunk))))
    return found


def preview_import(cohort: Cohort, data: bytes, *, max_rows: int):
    """Check a CSV of candidates against the cohort and the accounts already in the system."""
    from d2w.cohorts import importer
    from d2w.core.csvio import CsvError, read_csv

    try:
        _, dicts = read_csv(data, max_rows=max_rows)
        emails = [d.get("email", "").strip().lower() for _, d in dicts if d.get("email")]
    except CsvError:
        emails = []
    return importer.check_file(
        data,
        existing_emails=existing_emails(emails),
        places_left=cohort.places_left if cohort.is_open else 0,
        max_rows=max_rows,
    )


def import_candidates(actor: User, cohort: Cohort, data: bytes, *, max_rows: int) -> list[CandidateProfile]:
    """Create and enrol every candidate in the file, or nothing: the file is checked again here,
    and the caller commits once (a failure rolls the whole import back)."""
    from d2w.candidates.models import ProfileLanguage
    from d2w.users.services import create_user

    _require_staff(actor)
    if not cohort.is_open:
        raise DomainError("This cohort is closed.")
    preview = preview_import(cohort, data, max_rows=max_rows)
    if not preview.ok:
        raise DomainError(f"The file has {preview.error_count} problem(s); nothing was imported.")
    if not take_places(cohort.id, len(preview.rows)):
        raise DomainError("The cohort no longer has enough places; nothing was imported.")
    profiles = []
    for row in preview.rows:
        user = create_user(actor, email=row.email, name=row.name, role="candidate")
        from d2w.candidates.services import ensure_profile

        profile = ensure_profile(user)
        profile.phone = row.phone or None
        profile.home_region = row.home_region
        profile.home_borough = row.home_borough or None
        profile.languages = [ProfileLanguage(language=lang) for lang in row.languages]
        db.session.add(Enrolment(cohort_id=cohort.id, profile_id=profile.id, status="active", enrolled_by_id=actor.id))
        db.session.flush()
        change_stage(actor, profile, "in_programme", f"Imported into {cohort.name}")
        profiles.append(profile)
    db.session.refresh(cohort)
    audit.record(actor, "cohort.imported", cohort, summary=f"{len(profiles)} candidate(s)")
    return profiles
