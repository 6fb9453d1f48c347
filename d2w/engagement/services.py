"""Business verbs for engagement milestones: the type catalogue, logging with evidence,
verification with a kept history, cohort targets, progress and totals, and local ties for the
seat-fit check.

Services take the acting user, flush, and raise domain errors; they never commit. A milestone
saved with an uploaded file returns the stored file's name (``Saved.stored``) so that the view can
remove it if the commit fails, and the name of a file it replaced (``Saved.replaced``) to remove
once the commit succeeds: a failed save never leaves a file behind, and a replaced one never
disappears before its replacement is safe.

Counts, progress and totals use verified milestones only, computed with SQL aggregates.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import Integer, Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import ensure_profile
from d2w.cohorts.models import HOLDS_PLACE, Cohort, Enrolment
from d2w.core import generations
from d2w.core.db import built_once, one_of, read, utcnow
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import Page, Sort, apply_sort, paginate
from d2w.core.regions import canonical_region
from d2w.engagement import policy, uploads
from d2w.engagement.models import (
    CATEGORY_LABELS,
    MAX_PEOPLE_REACHED,
    MAX_TARGET,
    MAX_VOLUNTEERS,
    STATUS_LABELS,
    Milestone,
    MilestoneEvent,
    MilestoneTarget,
    MilestoneType,
    event_description,
)

# An ONS constituency code: E14 (England), W07 (Wales), S14 (Scotland), N06 (Northern Ireland)
# and their 2024 successors share this shape: a letter and eight digits.
SEAT_CODE = re.compile(r"^[ENSW]\d{8}$")


def _tidy(value: str | None, limit: int, field_name: str, label: str) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > limit:
        raise DomainError(f"Keep the {label} under {limit} characters.", field=field_name)
    return value or None


# ---------------------------------------------------------------------------------------------
# The catalogue of milestone types


@dataclass
class TypeFields:
    name: str
    description: str | None
    category: str
    evidence_required: bool = True
    active: bool = True


def _require_catalogue(actor: User) -> None:
    if not policy.can_manage_catalogue(actor):
        raise Forbidden("Only staff change milestone types and targets.")


def _check_type(fields: TypeFields, *, exclude_id: int | None = None) -> TypeFields:
    name = _tidy(fields.name, 120, "name", "name")
    if not name:
        raise DomainError("Enter a name for the milestone type.", field="name")
    if fields.category not in CATEGORY_LABELS:
        raise DomainError("Choose a category.", field="category")
    description = (fields.description or "").strip() or None
    if description and len(description) > 1000:
        raise DomainError("Keep the description under 1,000 characters.", field="description")
    clash = select(MilestoneType.id).where(func.lower(MilestoneType.name) == name.lower())
    if exclude_id is not None:
        clash = clash.where(MilestoneType.id != exclude_id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise DomainError("There is already a milestone type with this name.", field="name")
    return TypeFields(name, description, fields.category, bool(fields.evidence_required), bool(fields.active))


def all_types() -> list[MilestoneType]:
    return list(
        db.session.scalars(select(MilestoneType).order_by(MilestoneType.category, func.lower(MilestoneType.name)))
    )


def active_types() -> list[MilestoneType]:
    return [t for t in all_types() if t.active]


def create_type(actor: User, fields: TypeFields) -> MilestoneType:
    _require_catalogue(actor)
    f = _check_type(fields)
    t = MilestoneType(
        name=f.name,
        description=f.description,
        category=f.category,
        evidence_required=f.evidence_required,
        active=f.active,
    )
    db.session.add(t)
    db.session.flush()
    audit.record(actor, "milestone_type.created", t)
    return t


def update_type(actor: User, t: MilestoneType, fields: TypeFields, *, version: int) -> MilestoneType:
    _require_catalogue(actor)
    if version != t.version:
        raise Conflict("Somebody else changed this milestone type while you were editing it. Check it and try again.")
    f = _check_type(fields, exclude_id=t.id)
    t.name, t.description, t.category = f.name, f.description, f.category
    t.evidence_required, t.active = f.evidence_required, f.active
    t.version = version + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            "Somebody else changed this milestone type while you were editing it. Check it and try again."
        ) from None
    audit.record(actor, "milestone_type.updated", t)
    return t


# ---------------------------------------------------------------------------------------------
# Logging and editing milestones


@dataclass
class MilestoneFields:
    type_id: int | None
    occurred_on: date | None
    place: str | None
    description: str | None
    region: str | None = None
    borough: str | None = None
    seat_code: str | None = None
    community: str | None = None
    people_reached: int | None = 0
    volunteers_recruited: int | None = 0
    evidence_url: str | None = None


@dataclass
class Saved:
    milestone: Milestone
    stored: str | None = None  # a file written by this save: remove it if the commit fails
    replaced: str | None = None  # a file this save replaced: remove it once the commit succeeds


def clean_evidence_url(raw: str | None) -> str | None:
    """An https link to evidence, or None. Raises DomainError at the field."""
    url = (raw or "").strip()
    if not url:
        return None

    def bad(message: str) -> DomainError:
        return DomainError(message, field="evidence_url")

    if len(url) > 500:
        raise bad("Keep the link under 500 characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise bad("A link cannot contain spaces.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise bad("Enter a full link, for example https://www.example.org/news/story.") from None
    if parts.scheme.lower() != "https":
        raise bad("Evidence links must start with https://.")
    if not host or "." not in host.strip("."):
        raise bad("Enter a full link, for example https://www.example.org/news/story.")
    if parts.username or parts.password:
        raise bad("Remove the user name or password from the link.")
    return url


def clean_seat_code(raw: str | None) -> str | None:
    code = "".join((raw or "").split()).upper()
    if not code:
        return None
    if not SEAT_CODE.match(code):
        raise DomainError("Enter the seat's ONS code: a letter and eight digits, for example E14000555.", "seat_code")
    return code


def _count(value: int | None, limit: int, field_name: str, label: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or value < 0 or value > limit:
        raise DomainError(f"Enter the number of {label}, from 0 to {limit:,}.", field=field_name)
    return value


def _check_milestone(fields: MilestoneFields, today: date) -> tuple[MilestoneFields, MilestoneType]:
    t = db.session.get(MilestoneType, fields.type_id) if fields.type_id else None
    if t is None or not t.active:
        raise DomainError("Choose what kind of milestone this is.", field="type_id")
    if fields.occurred_on is None:
        raise DomainError("Enter the date it happened, for example 14/03/2026.", field="occurred_on")
    if fields.occurred_on > today:
        raise DomainError("The date cannot be in the future: log a milestone once it has happened.", "occurred_on")
    if fields.occurred_on < date(2000, 1, 1):
        raise DomainError("Enter a date from 2000 onwards.", field="occurred_on")
    place = _tidy(fields.place, 255, "place", "place")
    if not place:
        raise DomainError("Enter where it happened, for example the name of the centre and the town.", "place")
    region = None
    if fields.region:
        region = canonical_region(fields.region)
        if region is None:
            raise DomainError("Choose a UK nation or region from the list.", field="region")
    description = (fields.description or "").strip()
    if not description:
        raise DomainError("Describe what you did and who took part.", field="description")
    if len(description) > 4000:
        raise DomainError("Keep the description under 4,000 characters.", field="description")
    clean = MilestoneFields(
        type_id=t.id,
        occurred_on=fields.occurred_on,
        place=place,
        description=description,
        region=region,
        borough=_tidy(fields.borough, 80, "borough", "borough"),
        seat_code=clean_seat_code(fields.seat_code),
        community=_tidy(fields.community, 120, "community", "community"),
        people_reached=_count(fields.people_reached, MAX_PEOPLE_REACHED, "people_reached", "people reached"),
        volunteers_recruited=_count(
            fields.volunteers_recruited, MAX_VOLUNTEERS, "volunteers_recruited", "volunteers recruited"
        ),
        evidence_url=clean_evidence_url(fields.evidence_url),
    )
    return clean, t


def _apply(m: Milestone, f: MilestoneFields) -> None:
    m.type_id, m.occurred_on, m.place, m.description = f.type_id, f.occurred_on, f.place, f.description
    m.region, m.borough, m.seat_code, m.community = f.region, f.borough, f.seat_code, f.community
    m.people_reached, m.volunteers_recruited, m.evidence_url = f.people_reached, f.volunteers_recruited, f.evidence_url


def _attach(m: Milestone, evidence: uploads.Evidence) -> str:
    stored = uploads.store(evidence)
    m.evidence_file, m.evidence_filename = stored, evidence.filename
    m.evidence_type, m.evidence_size = evidence.content_type, evidence.size
    return stored


def _flush_or_discard(stored: str | None) -> None:
    try:
        db.session.flush()
    except Exception:
        uploads.discard(stored)
        raise


def log_milestone(
    actor: User,
    profile: CandidateProfile,
    fields: MilestoneFields,
    evidence: uploads.Evidence | None = None,
    *,
    today: date | None = None,
) -> Saved:
    """A candidate records a milestone of their own; it awaits verification."""
    if not (policy.can_log(actor) and profile.user_id == actor.id):
        raise Forbidden("Only the candidate logs their own milestones.")
    f, t = _check_milestone(fields, today or date.today())
    if t.evidence_required and not (f.evidence_url or evidence):
        raise DomainError(f"“{t.name}” needs evidence: add a link or upload a file.", field="evidence_url")
    m = Milestone(profile_id=profile.id, status="logged")
    _apply(m, f)
    stored = _attach(m, evidence) if evidence else None
    db.session.add(m)
    _flush_or_discard(stored)
    db.session.add(MilestoneEvent(milestone_id=m.id, actor_id=actor.id, from_status=None, to_status="logged"))
    _flush_or_discard(stored)
    return Saved(milestone=m, stored=stored)


def _conflict() -> Conflict:
    return Conflict(
        "This milestone changed while you had it open (it was edited, verified or returned). "
        "Nothing of yours was saved: check it as it is now and try again."
    )


def update_milestone(
    actor: User,
    m: Milestone,
    fields: MilestoneFields,
    evidence: uploads.Evidence | None = None,
    *,
    version: int,
    today: date | None = None,
) -> Saved:
    """The candidate changes a milestone awaiting verification, or fixes and resubmits a
    returned one (it then awaits verification again)."""
    if not policy.is_own(actor, m):
        raise Forbidden("Only the candidate changes their own milestones.")
    if version != m.version:
        raise _conflict()
    if not policy.can_edit(actor, m):
        raise DomainError("This milestone is verified and can no longer be changed.")
    f, t = _check_milestone(fields, today or date.today())
    if t.evidence_required and not (f.evidence_url or evidence or m.evidence_file):
        raise DomainError(f"“{t.name}” needs evidence: add a link or upload a file.", field="evidence_url")
    before = m.status
    _apply(m, f)
    replaced = m.evidence_file if evidence else None
    stored = _attach(m, evidence) if evidence else None
    m.status = "logged"
    m.version = version + 1
    try:
        _flush_or_discard(stored)
    except StaleDataError:
        raise _conflict() from None
    db.session.add(MilestoneEvent(milestone_id=m.id, actor_id=actor.id, from_status=before, to_status="logged"))
    _flush_or_discard(stored)
    return Saved(milestone=m, stored=stored, replaced=replaced)


def _review(actor: User, m: Milestone, to_status: str, comment: str | None, version: int) -> Milestone:
    if not (policy.is_staff(actor) or policy.is_active_mentor(actor, m.profile_id)):
        raise Forbidden("Only staff or the candidate's mentor verify milestones.")
    if version != m.version:
        raise _conflict()
    if m.status != "logged":
        raise DomainError("Only a milestone awaiting verification can be verified or returned.")
    comment = (comment or "").strip() or None
    if comment and len(comment) > 2000:
        raise DomainError("Keep the comment under 2,000 characters.", field="comment")
    if to_status == "returned" and not comment:
        raise DomainError("Say what the candidate should change or add.", field="comment")
    m.status = to_status
    if to_status == "verified":
        m.verified_at, m.verified_by_id = utcnow(), actor.id
    m.version = version + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise _conflict() from None
    db.session.add(
        MilestoneEvent(milestone_id=m.id, actor_id=actor.id, from_status="logged", to_status=to_status, comment=comment)
    )
    db.session.flush()
    audit.record(actor, f"milestone.{to_status}", m)
    return m


def verify(actor: User, m: Milestone, *, version: int, comment: str | None = None) -> Milestone:
    return _review(actor, m, "verified", comment, version)


def return_milestone(actor: User, m: Milestone, *, version: int, comment: str | None) -> Milestone:
    return _review(actor, m, "returned", comment, version)


class EventRow(NamedTuple):
    """One step of a milestone's history as its page shows it (actor_name None: account gone)."""

    at: datetime
    from_status: str | None
    to_status: str
    comment: str | None
    actor_id: int | None
    actor_name: str | None

    @property
    def description(self) -> str:
        return event_description(self.from_status, self.to_status)


_HISTORY = (
    select(
        MilestoneEvent.at,
        MilestoneEvent.from_status,
        MilestoneEvent.to_status,
        MilestoneEvent.comment,
        MilestoneEvent.actor_id,
        User.name,
    )
    .outerjoin(User, User.id == MilestoneEvent.actor_id)
    .where(MilestoneEvent.milestone_id == bindparam("milestone_id"))
    .order_by(MilestoneEvent.at, MilestoneEvent.id)
)


def history(m: Milestone) -> list[EventRow]:
    """Every step of a milestone, oldest first, with who took it (one column query)."""
    return [EventRow(*row) for row in read(_HISTORY, {"milestone_id": m.id})]


def return_comment_in(m: Milestone, events: list[EventRow]) -> str | None:
    """``latest_return_comment`` read from the milestone's history (oldest first), not asked again."""
    if m.status != "returned":
        return None
    return next((e.comment for e in reversed(events) if e.to_status == "returned"), None)


def latest_return_comment(m: Milestone) -> str | None:
    if m.status != "returned":
        return None
    return db.session.scalar(
        select(MilestoneEvent.comment)
        .where(MilestoneEvent.milestone_id == m.id, MilestoneEvent.to_status == "returned")
        .order_by(MilestoneEvent.at.desc(), MilestoneEvent.id.desc())
        .limit(1)
    )


def evidence_for_download(actor: User, m: Milestone):
    """The stored file's path, for those who may see the milestone. Staff and mentor downloads
    are audited (the candidate's own are not)."""
    path = uploads.path_for(m.evidence_file) if m.evidence_file else None
    if path is None:
        return None
    if not policy.is_own(actor, m):
        audit.record(actor, "milestone.evidence_downloaded", m)
    return path


# ---------------------------------------------------------------------------------------------
# Targets, progress and totals (verified milestones only)


def targets_for(cohort_id: int) -> dict[int, int]:
    """A cohort's targets: {type id: target}."""
    return dict(
        read(
            select(MilestoneTarget.type_id, MilestoneTarget.target).where(MilestoneTarget.cohort_id == cohort_id)
        ).all()
    )


def set_targets(actor: User, cohort: Cohort, wanted: Mapping[int, int | None]) -> int:
    """Set a cohort's target for each type in ``wanted``; None or 0 removes it. Returns how many
    changed. Unknown type ids are refused."""
    _require_catalogue(actor)
    known = set(db.session.scalars(select(MilestoneType.id)))
    for type_id, target in wanted.items():
        if type_id not in known:
            raise DomainError("Unknown milestone type.")
        if target is not None and (not isinstance(target, int) or target < 0 or target > MAX_TARGET):
            raise DomainError(f"Enter a target from 0 to {MAX_TARGET:,} (0 for none).", field=f"target-{type_id}")
    existing = {
        t.type_id: t for t in db.session.scalars(select(MilestoneTarget).where(MilestoneTarget.cohort_id == cohort.id))
    }
    changed = 0
    for type_id, target in wanted.items():
        row = existing.get(type_id)
        if not target:
            if row is not None:
                db.session.execute(delete(MilestoneTarget).where(MilestoneTarget.id == row.id))
                changed += 1
        elif row is None:
            db.session.add(MilestoneTarget(cohort_id=cohort.id, type_id=type_id, target=target, set_by_id=actor.id))
            changed += 1
        elif row.target != target:
            row.target, row.set_by_id = target, actor.id
            changed += 1
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict("Somebody else set these targets at the same time. Check them and save again.") from None
    if changed:
        audit.record(actor, "milestone_targets.set", cohort, summary=f"{changed} target(s) changed")
    return changed


def verified_counts(profile_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """Verified milestones per candidate and type, in one query: {profile: {type: n}}."""
    ids = list(profile_ids)
    out: dict[int, dict[int, int]] = {pid: {} for pid in ids}
    if not ids:
        return out
    rows = read(
        select(Milestone.profile_id, Milestone.type_id, func.count())
        .where(Milestone.profile_id.in_(ids), Milestone.status == "verified")
        .group_by(Milestone.profile_id, Milestone.type_id)
    ).all()
    for pid, tid, n in rows:
        out[pid][tid] = int(n)
    return out


@dataclass
class Progress:
    """Progress towards targets: each type counts up to its target."""

    done: int = 0
    target: int = 0

    @property
    def percent(self) -> int:
        return 0 if not self.target else round(100 * self.done / self.target)

    @property
    def text(self) -> str:
        return f"{self.done:,} of {self.target:,}"


@dataclass(frozen=True)
class Member:
    """A candidate as the cohort's progress names them: the profile's id and the user's name
    (loaded as two columns, not as objects)."""

    id: int
    name: str


@dataclass
class TypeProgress:
    type: MilestoneType
    progress: Progress


@dataclass
class CandidateProgress:
    profile: CandidateProfile | Member
    overall: Progress
    by_type: list[TypeProgress] = field(default_factory=list)


@dataclass
class CohortProgress:
    cohort: Cohort
    overall: Progress
    by_type: list[TypeProgress]
    candidates: list[CandidateProgress]
    totals: Totals


@dataclass
class Totals:
    milestones: int = 0
    people_reached: int = 0
    volunteers_recruited: int = 0


def _ordered(types: Iterable[MilestoneType]) -> list[MilestoneType]:
    return sorted(types, key=lambda t: (t.category, t.name.lower()))


def _targets_and_types(cohort_ids: Iterable[int]) -> dict[int, tuple[dict[int, int], list[MilestoneType]]]:
    """Each cohort's targets ({type id: target}) and their types in catalogue order, in one query."""
    ids = list(cohort_ids)
    out: dict[int, tuple[dict[int, int], list[MilestoneType]]] = {cid: ({}, []) for cid in ids}
    if not ids:
        return out
    rows = read(_TARGETS_AND_TYPES, {"ids": ids}).all()
    for cid, target, t in rows:
        out[cid][0][t.id] = target
        out[cid][1].append(t)
    return {cid: (targets, _ordered(types)) for cid, (targets, types) in out.items()}


_TARGETS_AND_TYPES = (
    select(MilestoneTarget.cohort_id, MilestoneTarget.target, MilestoneType)
    .join(MilestoneType, MilestoneType.id == MilestoneTarget.type_id)
    .where(MilestoneTarget.cohort_id.in_(bindparam("ids", expanding=True)))
)


def _spec(targets: Mapping[int, int], types: list[MilestoneType]) -> list[tuple[MilestoneType, int, int]]:
    """(type, its id, its target) for each type with a target, in order: read once a page."""
    return [(t, t.id, targets[t.id]) for t in types]


def _candidate_progress(
    profile: CandidateProfile | Member, spec: list[tuple[MilestoneType, int, int]], counts: Mapping[int, int]
) -> CandidateProgress:
    """Each type counts up to its target."""
    by_type = [TypeProgress(t, Progress(min(counts.get(tid, 0), target), target)) for t, tid, target in spec]
    overall = Progress(sum(tp.progress.done for tp in by_type), sum(tp.progress.target for tp in by_type))
    return CandidateProgress(profile=profile, overall=overall, by_type=by_type)


# Statements a candidate's own pages run on every visit, built once (SQLAlchemy then keeps their
# cache keys instead of working them out again on every request).
_HOLDING_COHORTS = (
    select(Cohort)
    .join(Enrolment, Enrolment.cohort_id == Cohort.id)
    .where(Enrolment.profile_id == bindparam("profile_id", type_=Integer), one_of(Enrolment.status, HOLDS_PLACE))
    .order_by(Cohort.intake_start.desc(), Cohort.id)
)


def holding_cohorts(profile_id: int) -> list[Cohort]:
    """The cohorts a candidate holds a place in, newest intake first."""
    return list(db.session.scalars(_HOLDING_COHORTS, {"profile_id": profile_id}))


def candidate_progress(profile: CandidateProfile, cohort: Cohort) -> CandidateProgress:
    """One candidate's progress towards one cohort's targets (two queries)."""
    return candidate_progress_in(profile, [cohort])[0][1]


def candidate_progress_in(
    profile: CandidateProfile | Member, cohorts: Iterable[Cohort], counts: Mapping[int, int] | None = None
) -> list[tuple[Cohort, CandidateProgress]]:
    """One candidate's progress towards each cohort's targets, in two queries whatever the number
    of cohorts (one if ``counts``, their verified milestones per type, are given)."""
    cohorts = list(cohorts)
    targets = _targets_and_types(c.id for c in cohorts)
    if counts is None:
        counts = verified_counts([profile.id])[profile.id]
    return [(c, _candidate_progress(profile, _spec(*targets[c.id]), counts)) for c in cohorts]


def _holding(cohort_id: int):
    """The profiles holding a place in a cohort (a subquery: at most one enrolment each)."""
    return select(Enrolment.profile_id).where(Enrolment.cohort_id == cohort_id, one_of(Enrolment.status, HOLDS_PLACE))


def _roster(cohort_id: int) -> list[Member]:
    rows = read(
        select(CandidateProfile.id, User.name)
        .join(Enrolment, Enrolment.profile_id == CandidateProfile.id)
        .join(User, User.id == CandidateProfile.user_id)
        .where(Enrolment.cohort_id == cohort_id, one_of(Enrolment.status, HOLDS_PLACE))
        .order_by(func.lower(User.name), CandidateProfile.id)
    ).all()
    return [Member(pid, name) for pid, name in rows]


def cohort_progress(cohort: Cohort) -> CohortProgress:
    """Every candidate's progress in a cohort, the cohort's as a whole (each candidate's target
    counts), per type, and the cohort's totals: four queries, whatever the cohort's size."""
    targets, types = _targets_and_types([cohort.id])[cohort.id]
    members = _roster(cohort.id)
    counts: dict[int, dict[int, int]] = {m.id: {} for m in members}
    if types:
        # Only the types with a target count towards progress; the roster's milestones are
        # found through the profile's index, never by scanning every verified milestone.
        rows = read(
            select(Milestone.profile_id, Milestone.type_id, func.count())
            .where(
                Milestone.profile_id.in_(_holding(cohort.id)),
                Milestone.status == "verified",
                Milestone.type_id.in_(list(targets)),
            )
            .group_by(Milestone.profile_id, Milestone.type_id)
        ).all()
        for pid, tid, n in rows:
            if pid in counts:
                counts[pid][tid] = int(n)
    spec = _spec(targets, types)
    candidates = [_candidate_progress(m, spec, counts[m.id]) for m in members]
    by_type = []
    for i, t in enumerate(types):
        done = sum(c.by_type[i].progress.done for c in candidates)
        by_type.append(TypeProgress(t, Progress(done, targets[t.id] * len(candidates))))
    overall = Progress(sum(c.overall.done for c in candidates), sum(c.overall.target for c in candidates))
    return CohortProgress(
        cohort=cohort,
        overall=overall,
        by_type=by_type,
        candidates=candidates,
        totals=cohort_totals([cohort.id])[cohort.id],
    )


def _totals_columns():
    return (
        func.count(Milestone.id),
        func.coalesce(func.sum(Milestone.people_reached), 0),
        func.coalesce(func.sum(Milestone.volunteers_recruited), 0),
    )


def cohort_totals(cohort_ids: Iterable[int]) -> dict[int, Totals]:
    """Verified milestones, people reached and volunteers recruited by each cohort's candidates
    (those holding a place), in one query.

    The milestones are summed per candidate first, reached through the candidates' index (the
    candidates of the cohorts asked for only), then per cohort: a candidate in two cohorts
    counts in each."""
    ids = list(cohort_ids)
    out = {cid: Totals() for cid in ids}
    if not ids:
        return out
    holding = Enrolment.cohort_id.in_(ids), one_of(Enrolment.status, HOLDS_PLACE)
    per_profile = (
        select(
            Milestone.profile_id.label("profile_id"),
            func.count(Milestone.id).label("n"),
            func.sum(Milestone.people_reached).label("people"),
            func.sum(Milestone.volunteers_recruited).label("volunteers"),
        )
        .where(Milestone.status == "verified", Milestone.profile_id.in_(select(Enrolment.profile_id).where(*holding)))
        .group_by(Milestone.profile_id)
        .subquery()
    )
    rows = read(
        select(
            Enrolment.cohort_id,
            func.sum(per_profile.c.n),
            func.coalesce(func.sum(per_profile.c.people), 0),
            func.coalesce(func.sum(per_profile.c.volunteers), 0),
        )
        .join(per_profile, per_profile.c.profile_id == Enrolment.profile_id)
        .where(*holding)
        .group_by(Enrolment.cohort_id)
    ).all()
    for cid, n, people, volunteers in rows:
        out[cid] = Totals(int(n), int(people), int(volunteers))
    return out


_PROGRESS_COHORTS = select(Cohort.id, Cohort.name).order_by(Cohort.intake_start.desc(), func.lower(Cohort.name))


def progress_cohorts() -> list:
    """Every cohort's id and name, the latest intake first (the rows of the progress page)."""
    return read(_PROGRESS_COHORTS).all()


def programme_totals() -> Totals:
    """Verified milestones, people reached and volunteers recruited across the programme."""
    n, people, volunteers = read(select(*_totals_columns()).where(Milestone.status == "verified")).one()
    return Totals(int(n), int(people), int(volunteers))


# ---------------------------------------------------------------------------------------------
# Local ties, for the seat-fit check


@dataclass(frozen=True)
class Tie:
    """A verified milestone as evidence of a local connection."""

    milestone_id: int
    type_name: str
    occurred_on: date
    place: str
    region: str | None
    borough: str | None
    seat_code: str | None
    community: str | None


def verified_ties(profile_id: int) -> list[Tie]:
    """A candidate's verified milestones tied to a region, borough or seat, newest first."""
    rows = read(
        select(
            Milestone.id,
            MilestoneType.name,
            Milestone.occurred_on,
            Milestone.place,
            Milestone.region,
            Milestone.borough,
            Milestone.seat_code,
            Milestone.community,
        )
        .join(MilestoneType, MilestoneType.id == Milestone.type_id)
        .where(
            Milestone.profile_id == profile_id,
            Milestone.status == "verified",
            (Milestone.region.is_not(None)) | (Milestone.borough.is_not(None)) | (Milestone.seat_code.is_not(None)),
        )
        .order_by(Milestone.occurred_on.desc(), Milestone.id.desc())
    ).all()
    return [Tie(*row) for row in rows]


def group_counts_by_status(profile_id: int) -> dict[str, int]:
    rows = read(
        select(Milestone.status, func.count()).where(Milestone.profile_id == profile_id).group_by(Milestone.status)
    ).all()
    out: dict[str, int] = defaultdict(int)
    for status, n in rows:
        out[status] = int(n)
    return out


_OWN_PROFILE_ID = select(CandidateProfile.id).where(CandidateProfile.user_id == bindparam("user_id", type_=Integer))


def own_member(actor: User) -> Member:
    """The acting candidate as a Member (their profile's id, one column); the profile is made if
    missing, as ``ensure_profile`` does."""
    profile_id = read(_OWN_PROFILE_ID, {"user_id": actor.id}).scalar()
    if profile_id is None:
        profile_id = ensure_profile(actor).id
    return Member(profile_id, actor.name)


_MILESTONE_COUNTS = (
    select(Milestone.status, Milestone.type_id, func.count())
    .where(Milestone.profile_id == bindparam("profile_id", type_=Integer))
    .group_by(Milestone.status, Milestone.type_id)
)


def milestone_counts(profile_id: int) -> tuple[dict[str, int], dict[int, int]]:
    """A candidate's milestones by status, and their verified ones by type, in one query."""
    rows = read(_MILESTONE_COUNTS, {"profile_id": profile_id}).all()
    by_status: dict[str, int] = defaultdict(int)
    verified: dict[int, int] = {}
    for status, type_id, n in rows:
        by_status[status] += int(n)
        if status == "verified":
            verified[type_id] = int(n)
    return by_status, verified


# A candidate's own milestones page asks these on every visit: their profile's id with their
# milestones counted by status and type (a row for the profile even with no milestones), and the
# cohorts they hold a place in with each one's targets and types.
_OWN_COUNTS = (
    select(CandidateProfile.id, Milestone.status, Milestone.type_id, func.count(Milestone.id))
    .outerjoin(Milestone, Milestone.profile_id == CandidateProfile.id)
    .where(CandidateProfile.user_id == bindparam("user_id", type_=Integer))
    .group_by(CandidateProfile.id, Milestone.status, Milestone.type_id)
)
_OWN_COHORT_TARGETS = (
    select(Cohort, MilestoneTarget.target, MilestoneType)
    .join(Enrolment, Enrolment.cohort_id == Cohort.id)
    .outerjoin(MilestoneTarget, MilestoneTarget.cohort_id == Cohort.id)
    .outerjoin(MilestoneType, MilestoneType.id == MilestoneTarget.type_id)
    .where(Enrolment.profile_id == bindparam("profile_id", type_=Integer), one_of(Enrolment.status, HOLDS_PLACE))
    .order_by(Cohort.intake_start.desc(), Cohort.id)
)


def own_counts(actor: User) -> tuple[Member, dict[str, int], dict[int, int]]:
    """The acting candidate as a Member with ``milestone_counts`` of their profile, in one query;
    the profile is made if missing, as ``own_member`` does."""
    rows = read(_OWN_COUNTS, {"user_id": actor.id}).all()
    if not rows:
        return own_member(actor), defaultdict(int), {}
    by_status: dict[str, int] = defaultdict(int)
    verified: dict[int, int] = {}
    for _, status, type_id, n in rows:
        if status is None:  # no milestones
            continue
        by_status[status] += int(n)
        if status == "verified":
            verified[type_id] = int(n)
    return Member(rows[0][0], actor.name), by_status, verified


def own_progress(member: Member, verified: Mapping[int, int]) -> list[tuple[Cohort, CandidateProgress]]:
    """``candidate_progress_in(member, holding_cohorts(member.id), verified)`` in one query."""
    cohorts: dict[int, Cohort] = {}
    targets: dict[int, tuple[dict[int, int], list[MilestoneType]]] = {}
    for cohort, target, milestone_type in db.session.execute(_OWN_COHORT_TARGETS, {"profile_id": member.id}):
        if cohort.id not in cohorts:
            cohorts[cohort.id] = cohort
            targets[cohort.id] = ({}, [])
        if milestone_type is not None:
            targets[cohort.id][0][milestone_type.id] = target
            targets[cohort.id][1].append(milestone_type)
    return [
        (c, _candidate_progress(member, _spec(targets[cid][0], _ordered(targets[cid][1])), verified))
        for cid, c in cohorts.items()
    ]


# ---------------------------------------------------------------------------------------------
# Lists: the columns a row shows, never whole objects


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    """A milestone as a list shows it."""

    id: int
    type_name: str
    place: str
    occurred_on: date
    status: str
    created_at: datetime | None = None
    candidate_name: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def status_class(self) -> str:
        """The tag colour of the status, as engagement/_macros.html status_tag gives it."""
        return STATUS_TAG_CLASSES.get(self.status, "tag-amber")


# Lists write the status tag inline (a macro call a row costs more than the row's other cells).
STATUS_TAG_CLASSES = {"verified": "tag-green", "returned": "tag-red"}


REVIEW_SORTS = {
    "date": Milestone.occurred_on,
    "logged": Milestone.created_at,
    "type": func.lower(MilestoneType.name),
    "candidate": func.lower(User.name),
}
OWN_SORTS = {"date": Milestone.occurred_on, "type": func.lower(MilestoneType.name), "status": Milestone.status}


def own_milestones(profile_id: int, total: int, sort: Sort, number: int, per_page: int) -> Page:
    """A page of the candidate's own milestones (``total``: how many they have; one query, its
    statement built once per sort)."""
    key = sort.key if sort.key in OWN_SORTS else "date"
    stmt, params = built_once(
        ("engagement.own_milestones", key, sort.descending), None, lambda _: _own_statement(Sort(key, sort.descending))
    )
    page = paginate(stmt, number, per_page, scalars=False, total=total, params={**params, "profile_id": profile_id})
    page.items = [MilestoneRow(*r) for r in page.items]
    return page


def _own_statement(sort: Sort) -> Select:
    stmt = (
        select(Milestone.id, MilestoneType.name, Milestone.place, Milestone.occurred_on, Milestone.status)
        .join(MilestoneType, MilestoneType.id == Milestone.type_id)
        .where(Milestone.profile_id == bindparam("profile_id", type_=Integer))
    )
    return apply_sort(stmt, sort, OWN_SORTS, Milestone.id.desc())


def _build_review_page(status: str, by_type: bool, sort: Sort):
    def build(shape) -> tuple[Select, Select]:
        visible = policy.visible_milestones(shape)
        if status != "all":
            visible = visible.where(Milestone.status == bindparam("status"))
        if by_type:
            visible = visible.where(Milestone.type_id == bindparam("type_id"))
        count = visible.with_only_columns(func.count()).select_from(Milestone)
        page = (
            visible.with_only_columns(
                Milestone.id,
                MilestoneType.name,
                Milestone.place,
                Milestone.occurred_on,
                Milestone.status,
                Milestone.created_at,
                User.name,
            )
            .select_from(Milestone)
            .join(MilestoneType, MilestoneType.id == Milestone.type_id)
            .join(CandidateProfile, CandidateProfile.id == Milestone.profile_id)
            .join(User, User.id == CandidateProfile.user_id)
        )
        page = apply_sort(page, sort, REVIEW_SORTS, Milestone.id)
        return count, page.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))

    return build


def review_page(actor: User, status: str, type_id: int | None, sort: Sort, number: int, per_page: int) -> Page:
    """A page of the milestones the actor may review, of one status (or "all") and type: two
    queries. The count needs no joins: every milestone has exactly one type and candidate. The
    statements are built once per kind of user and shape of filter (``built_once``)."""
    shape = ("engagement.review_page", status == "all", type_id is not None, sort.key, sort.descending)
    (count, rows), params = built_once(shape, actor, _build_review_page(status, type_id is not None, sort))
    params.update(status=status, type_id=type_id)

    def find() -> tuple[int, int, list[MilestoneRow]]:
        total = read(count, params).scalar() or 0
        shown = min(number, max(1, math.ceil(total / per_page)))
        items = read(rows, {**params, "limit": per_page, "offset": (shown - 1) * per_page}).all()
        return total, shown, [MilestoneRow(*r) for r in items]

    # The count (16,000 waiting milestones at the benchmark's scale) and the page are kept until
    # the programme's data changes.
    key = (shape, actor.role, bool(actor.is_admin), tuple(sorted(params.items())), number, per_page)
    total, shown, items = generations.kept(key, find)
    return Page(items=list(items), page=shown, per_page=per_page, total=total)


def type_options() -> list[tuple[int, str]]:
    """Every type's id and name, in catalogue order (for filters)."""
    return [
        (tid, name)
        for tid, name in read(
            select(MilestoneType.id, MilestoneType.name).order_by(
                MilestoneType.category, func.lower(MilestoneType.name)
            )
        )
    ]
