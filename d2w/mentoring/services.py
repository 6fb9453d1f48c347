"""Business verbs for mentoring: mentor profiles, matching, assignments, logs, notes, action
items, the mentor's home, the health page and reminders.

Services take the acting user, flush, and raise domain errors; they never commit, flash or send
e-mail (the view or command commits, then calls ``d2w.mentoring.mailers``).

Capacity: a mentor's place is taken with one conditional UPDATE (``active_mentees + 1 <=
capacity``), backed by a CHECK constraint, so two staff assigning the last place at once cannot
both succeed. One active primary mentor per candidate is a partial unique index; a clash found
only by the database is turned into the same message as the one checked first.

Private notes are read only through ``private_notes_for``, which returns the actor's own notes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, defaultload, lazyload

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates import policy as candidate_policy
from d2w.candidates.models import CandidateProfile, ProfileLanguage
from d2w.candidates.services import check_region, clean_languages
from d2w.cohorts.models import HOLDS_PLACE, Enrolment
from d2w.core import generations
from d2w.core.db import built_once, one_of, read, utcnow
from d2w.core.errors import DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import Page
from d2w.core.templating import format_date
from d2w.mentoring import matching, policy
from d2w.mentoring.models import (
    IS_DONE,
    MAX_CAPACITY,
    MODE_LABEL,
    MODE_LABELS,
    OWNER_LABEL,
    OWNER_LABELS,
    ActionItem,
    MentorAssignment,
    MentoringLog,
    MentoringReminder,
    MentorLanguage,
    MentorProfile,
    MentorSkill,
    PrivateNote,
    StaffNote,
    item_is_overdue,
)
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.skills import SKILL_LABELS

SUMMARY_MAX = 4000
NOTE_MAX = 4000


def _require_staff(actor: User) -> None:
    if not policy.can_manage_mentoring(actor):
        raise Forbidden("Only staff manage mentoring.")


def _text(value: str | None, limit: int, field_name: str, label: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError(f"Keep the {label} under {limit:,} characters.", field=field_name)
    return value or None


def _by_scope(build) -> dict[str, Select]:
    """A statement per scope of the mentoring policy (``policy.SCOPES``), built once: ``build``
    gets the scope's condition (None: none) with the actor's id as ``bindparam("actor_id")``."""
    return {scope: build(policy.assignments_within(scope, bindparam("actor_id"))) for scope in policy.SCOPES}


def _where(stmt: Select, condition) -> Select:
    return stmt if condition is None else stmt.where(condition)


# ---------------------------------------------------------------------------------------------
# Mentor profiles


def mentor_profile_of(user: User, *, languages: bool = True) -> MentorProfile | None:
    """The mentor's profile; ``languages=False`` leaves its languages unloaded until read."""
    stmt = select(MentorProfile).where(MentorProfile.user_id == user.id)
    if not languages:
        stmt = stmt.options(lazyload(MentorProfile.languages))
    return db.session.scalar(stmt)


@dataclass
class MentorFields:
    region: str | None = None
    skills: list[str] = field(default_factory=list)
    languages: str | None = None
    capacity: int | None = 2
    availability: str | None = None


def save_mentor_profile(actor: User, mentor_user: User, fields: MentorFields) -> MentorProfile:
    """Create or update a mentor's profile (staff, or the mentor themselves)."""
    if mentor_user.role != "mentor" or not policy.can_edit_mentor_profile(actor, mentor_user):
        raise Forbidden("You may not change this mentor's profile.")
    region = check_region(fields.region, field="region")
    unknown = [s for s in fields.skills or [] if s not in SKILL_LABELS]
    if unknown:
        raise DomainError("Choose skill areas from the list.", field="skills")
    languages = clean_languages(fields.languages)
    profile = mentor_profile_of(mentor_user)
    load = profile.active_mentees if profile else 0
    if fields.capacity is None or not 0 <= fields.capacity <= MAX_CAPACITY:
        raise DomainError(f"Capacity must be a whole number from 0 to {MAX_CAPACITY}.", field="capacity")
    if fields.capacity < load:
        raise DomainError(
            f"{mentor_user.name} mentors {load} candidate(s) now: end an assignment before lowering the capacity.",
            field="capacity",
        )
    availability = _text(fields.availability, 500, "availability", "availability note")
    if profile is None:
        profile = MentorProfile(user_id=mentor_user.id, user=mentor_user, active_mentees=0)
        db.session.add(profile)
    profile.region, profile.capacity, profile.availability = region, fields.capacity, availability
    # Old rows go first, so that a kept skill or language is not inserted twice.
    profile.skills.clear()
    profile.languages.clear()
    db.session.flush()
    profile.skills = [MentorSkill(skill_area=s) for s in dict.fromkeys(fields.skills or [])]
    profile.languages = [MentorLanguage(language=lang) for lang in languages]
    db.session.flush()
    audit.record(actor, "mentor.profile_saved", profile, summary=mentor_user.name)
    return profile


def mentor_list_statement(actor: User) -> Select:
    """The mentor accounts the actor may see (``policy.visible_mentor_users``), by name, as rows
    of ``id``, ``name``, ``active`` and their profile's ``profile_id``, ``region``, ``capacity``
    and ``active_mentees`` (all None without a mentor profile)."""
    return _mentor_list_columns(policy.visible_mentor_users(actor))


def _mentor_list_columns(stmt: Select) -> Select:
    return (
        stmt.with_only_columns(
            User.id,
            User.name,
            User.active,
            MentorProfile.id.label("profile_id"),
            MentorProfile.region,
            MentorProfile.capacity,
            MentorProfile.active_mentees,
        )
        .outerjoin(MentorProfile, MentorProfile.user_id == User.id)
        .order_by(func.lower(User.name), User.id)
    )


def _mentor_users_statement(scope: str) -> Select:
    return _where(select(User).where(User.role == "mentor"), policy.mentor_users_within(scope, bindparam("actor_id")))


# The list of mentors, built once per scope of the policy: the count (no join: a mentor has at
# most one profile) and one page.
_MENTOR_COUNT = {
    scope: _mentor_users_statement(scope).with_only_columns(func.count(User.id)) for scope in policy.SCOPES
}
_MENTOR_PAGE = {
    scope: _mentor_list_columns(_mentor_users_statement(scope)).limit(bindparam("limit")).offset(bindparam("offset"))
    for scope in policy.SCOPES
}


def _skills_and_languages() -> Select:
    ids = bindparam("profile_ids", expanding=True)
    skills = select(
        MentorSkill.mentor_id, literal_column("0").label("kind"), MentorSkill.skill_area.label("value")
    ).where(MentorSkill.mentor_id.in_(ids))
    languages = select(
        MentorLanguage.mentor_id, literal_column("1").label("kind"), MentorLanguage.language.label("value")
    ).where(MentorLanguage.mentor_id.in_(ids))
    both = union_all(skills, languages).subquery()
    return select(both.c.mentor_id, both.c.kind, both.c.value).order_by(both.c.kind, both.c.value)


# Built once: the skills (kind 0) and languages (kind 1) of some mentor profiles, each in order.
_SKILLS_AND_LANGUAGES = _skills_and_languages()


def mentor_skills_and_languages(profile_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """{mentor profile id: (skill labels, languages)}, each in the order of their profile's lists
    (one query)."""
    out: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in profile_ids}
    if not profile_ids:
        return out
    for mentor_id, kind, value in read(_SKILLS_AND_LANGUAGES, {"profile_ids": profile_ids}):
        if kind == 0:
            out[mentor_id][0].append(SKILL_LABELS[value])
        else:
            out[mentor_id][1].append(value)
    return out


class MentorRow(NamedTuple):
    """A mentor account as the list of mentors shows it (plain columns); the profile's fields are
    None without a mentor profile. ``skills`` and ``languages`` are written out, comma separated."""

    id: int
    name: str
    active: bool
    profile_id: int | None
    region: str | None
    capacity: int | None
    active_mentees: int | None
    skills: str
    languages: str

    @property
    def full(self) -> bool:
        return self.profile_id is not None and self.active_mentees >= self.capacity


def mentor_page(actor: User, page: int, per_page: int) -> Page:
    """One page of ``mentor_list_statement`` as ``MentorRow``, with each profile's skill labels
    and languages (three queries of columns, their statements built once)."""
    params = {"actor_id": getattr(actor, "id", None)}
    scope = policy.scope_of(actor)
    total = read(_MENTOR_COUNT[scope], params).scalar() or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = read(_MENTOR_PAGE[scope], {**params, "limit": per_page, "offset": (page - 1) * per_page}).all()
    extras = mentor_skills_and_languages([r.profile_id for r in rows if r.profile_id is not None])
    items = []
    for row in rows:
        skills, languages = extras.get(row.profile_id, ((), ()))
        items.append(MentorRow(*row, ", ".join(skills), ", ".join(languages)))
    return Page(items=items, page=page, per_page=per_page, total=total)


# ---------------------------------------------------------------------------------------------
# Matching


@dataclass
class MatchCandidate:
    """A candidate as the match page reads them: its own lines need the id and name alone; the
    home region is read with them and the languages (``language_list``, as on CandidateProfile)
    only when the suggestions are drawn, which a kept page does not do."""

    id: int
    name: str
    home_region: str | None

    @cached_property
    def language_list(self) -> list[str]:
        return list(read(_LANGUAGES, {"profile_id": self.id}).scalars())


_LANGUAGES = (
    select(ProfileLanguage.language)
    .where(ProfileLanguage.profile_id == bindparam("profile_id"))
    .order_by(ProfileLanguage.language)
)


def _match_candidate_statement(shape) -> Select:
    return (
        candidate_policy.visible_profiles(shape)
        .with_only_columns(CandidateProfile.id, User.name, CandidateProfile.home_region)
        .join(User, User.id == CandidateProfile.user_id)
        .where(CandidateProfile.id == bindparam("profile_id", type_=Integer))
    )


def match_candidate(actor: User, profile_id: int) -> MatchCandidate | None:
    """The candidate with this profile id if the actor may see them (``visible_profiles``), as
    ``MatchCandidate``: one query of three columns, its statement built once per kind of user."""
    stmt, params = built_once(("mentoring.match_candidate",), actor, _match_candidate_statement)
    row = read(stmt, {**params, "profile_id": profile_id}).first()
    return MatchCandidate(*row) if row else None


def needed_skills(profile: CandidateProfile, now: datetime | None = None) -> list[str]:
    """Skill areas of the candidate's cohort sessions they missed (absent or excused) or have not
    had yet, most frequent first (one query)."""
    now = now or utcnow()
    held = select(Enrolment.cohort_id).where(Enrolment.profile_id == profile.id, one_of(Enrolment.status, HOLDS_PLACE))
    rows = read(
        select(ProgrammeSession.skill_area, func.count())
        .outerjoin(
            Attendance,
            and_(Attendance.session_id == ProgrammeSession.id, Attendance.profile_id == profile.id),
        )
        .where(
            ProgrammeSession.cohort_id.in_(held),
            ProgrammeSession.cancelled_at.is_(None),
            or_(ProgrammeSession.starts_at > now, one_of(Attendance.status, ("absent", "excused"))),
        )
        .group_by(ProgrammeSession.skill_area)
    ).all()
    return [skill for skill, _ in sorted(rows, key=lambda r: (-r[1], r[0]))]


def mentor_offers() -> list[matching.MentorOffer]:
    """What every mentor with a profile and an active account offers, as plain data: three column
    queries, no ORM objects (matching ranks all of them on every visit of the match page)."""
    skills: dict[int, list[str]] = defaultdict(list)
    for mentor_id, skill in read(select(MentorSkill.mentor_id, MentorSkill.skill_area)):
        skills[mentor_id].append(skill)
    languages: dict[int, list[str]] = defaultdict(list)
    for mentor_id, language in read(select(MentorLanguage.mentor_id, MentorLanguage.language)):
        languages[mentor_id].append(language)
    rows = read(
        select(
            MentorProfile.id,
            User.name,
            MentorProfile.region,
            MentorProfile.capacity,
            MentorProfile.active_mentees,
            MentorProfile.availability,
        )
        .join(User, User.id == MentorProfile.user_id)
        .where(User.active.is_(True))
    )
    return [
        matching.MentorOffer(
            mentor_id=mentor_id,
            name=name,
            region=region,
            skills=frozenset(skills.get(mentor_id, ())),
            languages=frozenset(languages.get(mentor_id, ())),
            capacity=capacity,
            load=load,
            availability=availability,
        )
        for mentor_id, name, region, capacity, load, availability in rows
    ]


def suggestions(
    profile: CandidateProfile, focus: list[str] | None = None, needed: list[str] | None = None
) -> list[matching.Suggestion]:
    """Every mentor with a profile (active accounts), ranked for this candidate. ``needed`` is
    ``needed_skills(profile)`` when the caller has it already."""
    needs = matching.CandidateNeeds(
        region=profile.home_region,
        languages=frozenset(profile.language_list),
        needed_skills=tuple(needed_skills(profile) if needed is None else needed),
        focus_skills=tuple(s for s in (focus or []) if s in SKILL_LABELS),
    )
    # The mentors' offers and the ranking for these needs are the same until the data changes.
    ranked = generations.kept(
        ("mentoring.suggestions", needs),
        lambda: matching.rank(needs, generations.kept(("mentoring.offers",), mentor_offers), SKILL_LABELS),
    )
    return list(ranked)  # a copy: the kept list is shared


# ---------------------------------------------------------------------------------------------
# Assignments


def take_mentor_place(mentor_id: int) -> bool:
    """Atomically take one of a mentor's places; False if none is left (nothing changes then)."""
    result = db.session.execute(
        update(MentorProfile)
        .where(MentorProfile.id == mentor_id, MentorProfile.active_mentees + 1 <= MentorProfile.capacity)
        .values(active_mentees=MentorProfile.active_mentees + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release_mentor_place(mentor_id: int) -> None:
    db.session.execute(
        update(MentorProfile)
        .where(MentorProfile.id == mentor_id, MentorProfile.active_mentees > 0)
        .values(active_mentees=MentorProfile.active_mentees - 1)
        .execution_options(synchronize_session=False)
    )


def active_assignments_of(profile: CandidateProfile) -> list[MentorAssignment]:
    return list(
        db.session.scalars(
            select(MentorAssignment)
            .where(MentorAssignment.profile_id == profile.id, MentorAssignment.status == "active")
            .order_by(MentorAssignment.is_primary.desc(), MentorAssignment.started_at)
            .options(*PAIR_LIST_OPTIONS)
        )
    )


class CurrentMentor(NamedTuple):
    """One of a candidate's active assignments as the match page lists it (plain columns)."""

    id: int  # the assignment's
    mentor_name: str
    is_primary: bool
    started_at: datetime


_CURRENT_MENTORS = (
    select(MentorAssignment.id, User.name, MentorAssignment.is_primary, MentorAssignment.started_at)
    .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
    .join(User, User.id == MentorProfile.user_id)
    .where(MentorAssignment.profile_id == bindparam("profile_id"), MentorAssignment.status == "active")
    .order_by(MentorAssignment.is_primary.desc(), MentorAssignment.started_at)
)


def current_mentors(profile: CandidateProfile) -> list[CurrentMentor]:
    """``active_assignments_of`` as plain rows with the mentor's name (one query)."""
    return [CurrentMentor(*row) for row in read(_CURRENT_MENTORS, {"profile_id": profile.id})]


def _primary_taken(profile: CandidateProfile) -> DomainError:
    return DomainError(
        f"{profile.name} already has an active primary mentor: end that assignment first, "
        "or assign this mentor as an additional (not primary) mentor.",
        field="is_primary",
    )


def assign(actor: User, profile: CandidateProfile, mentor: MentorProfile, *, is_primary: bool) -> MentorAssignment:
    """Pair a mentor with a candidate, taking one of the mentor's places."""
    _require_staff(actor)
    if not mentor.user.active:
        raise DomainError(f"{mentor.name}'s account is deactivated.", field="mentor")
    current = active_assignments_of(profile)
    if any(a.mentor_id == mentor.id for a in current):
        raise DomainError(f"{mentor.name} already mentors {profile.name}.", field="mentor")
    if is_primary and any(a.is_primary for a in current):
        raise _primary_taken(profile)
    if not take_mentor_place(mentor.id):
        raise DomainError(f"{mentor.name} has no spare place ({mentor.capacity} mentees at most).", field="mentor")
    assignment = MentorAssignment(
        mentor_id=mentor.id, profile_id=profile.id, is_primary=is_primary, status="active", assigned_by_id=actor.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(assignment)
            db.session.flush()
    except IntegrityError:
        # Somebody assigned a primary mentor (or this pair) in the meantime.
        raise (
            _primary_taken(profile)
            if is_primary
            else DomainError(f"{mentor.name} already mentors {profile.name}.", field="mentor")
        ) from None
    db.session.refresh(mentor)
    kind = "primary mentor" if is_primary else "additional mentor"
    audit.record(actor, "mentoring.assigned", assignment, summary=f"{mentor.name} as {kind} of {profile.name}")
    return assignment


def end_assignment(actor: User, assignment: MentorAssignment, reason: str | None = None) -> None:
    _require_staff(actor)
    if not assignment.is_active:
        raise DomainError("This assignment has already ended.")
    reason = _text(reason, 255, "reason", "reason")
    assignment.status = "ended"
    assignment.ended_at = utcnow()
    assignment.ended_by_id = actor.id
    assignment.end_reason = reason
    _release_mentor_place(assignment.mentor_id)
    db.session.flush()
    db.session.refresh(assignment.mentor)
    audit.record(
        actor, "mentoring.ended", assignment, summary=f"{assignment.mentor.name} and {assignment.profile.name}"
    )


# ---------------------------------------------------------------------------------------------
# Logs, notes and action items


@dataclass
class ActionFields:
    description: str | None
    owner: str | None
    due_on: date | None


@dataclass
class LogFields:
    met_on: date | None
    duration_minutes: int | None
    mode: str | None
    summary: str | None
    private_note: str | None = None
    actions: list[ActionFields] = field(default_factory=list)


def _check_actions(actions: list[ActionFields]) -> list[ActionFields]:
    out = []
    for i, a in enumerate(actions):
        desc = " ".join((a.description or "").split())
        if not desc:
            if a.due_on is not None:
                raise DomainError("Describe the action, or clear its due date.", field=f"actions-{i}-description")
            continue
        if len(desc) > 300:
            raise DomainError("Keep the action under 300 characters.", field=f"actions-{i}-description")
        if a.owner not in OWNER_LABELS:
            raise DomainError("Choose who owns the action.", field=f"actions-{i}-owner")
        if a.due_on is None:
            raise DomainError("Enter a due date for the action.", field=f"actions-{i}-due_on")
        out.append(ActionFields(desc, a.owner, a.due_on))
    return out


def add_log(actor: User, assignment: MentorAssignment, fields: LogFields, today: date | None = None) -> MentoringLog:
    """The assigned mentor records a conversation, an optional private note and action items."""
    if not policy.can_write_log(actor, assignment):
        raise Forbidden("Only the candidate's current mentor logs mentoring sessions.")
    today = today or utcnow().date()
    if fields.met_on is None:
        raise DomainError("Enter the date you met, for example 14/03/2026.", field="met_on")
    if fields.met_on > today:
        raise DomainError("The date you met cannot be in the future.", field="met_on")
    if fields.met_on < assignment.started_at.date() - timedelta(days=366):
        raise DomainError("The date is more than a year before this mentoring began.", field="met_on")
    if fields.duration_minutes is None or not 5 <= fields.duration_minutes <= 600:
        raise DomainError("Enter the length in minutes, from 5 to 600.", field="duration_minutes")
    if fields.mode not in MODE_LABELS:
        raise DomainError("Choose how you met: in person, phone or video.", field="mode")
    summary = _text(fields.summary, SUMMARY_MAX, "summary", "summary")
    if not summary:
        raise DomainError("Write a summary to share with the candidate.", field="summary")
    note = _text(fields.private_note, NOTE_MAX, "private_note", "private note")
    actions = _check_actions(fields.actions)
    log = MentoringLog(
        assignment_id=assignment.id,
        author_id=actor.id,
        met_on=fields.met_on,
        duration_minutes=fields.duration_minutes,
        mode=fields.mode,
        summary=summary,
    )
    db.session.add(log)
    db.session.flush()
    note_meeting(assignment, fields.met_on)
    if note:
        db.session.add(PrivateNote(log_id=log.id, author_id=actor.id, body=note))
    for a in actions:
        db.session.add(
            ActionItem(
                log_id=log.id, assignment_id=assignment.id, description=a.description, owner=a.owner, due_on=a.due_on
            )
        )
    db.session.flush()
    audit.record(actor, "mentoring.logged", log, summary=f"{len(actions)} action item(s)")
    return log


# The actor's own private notes on some logs (built once).
_PRIVATE_NOTES = select(PrivateNote.log_id, PrivateNote.author_id, PrivateNote.body).where(
    PrivateNote.log_id.in_(bindparam("log_ids", expanding=True)), PrivateNote.author_id == bindparam("actor_id")
)


def private_notes_for(actor: User, log_ids: list[int]) -> dict[int, str]:
    """The actor's own private notes on these logs (the only way a private note is read)."""
    if not log_ids or not (actor and actor.is_authenticated):
        return {}
    notes = read(_PRIVATE_NOTES, {"log_ids": log_ids, "actor_id": actor.id})
    return {n.log_id: n.body for n in notes if policy.can_read_private_note(actor, n)}


def add_staff_note(actor: User, log: MentoringLog, body: str | None) -> StaffNote:
    if not policy.can_add_staff_note(actor):
        raise Forbidden("Only staff add staff notes.")
    text = _text(body, NOTE_MAX, "body", "note")
    if not text:
        raise DomainError("Write the note.", field="body")
    note = StaffNote(log_id=log.id, author_id=actor.id, body=text)
    db.session.add(note)
    db.session.flush()
    audit.record(actor, "mentoring.staff_note", log)
    return note


def complete_item(actor: User, assignment: MentorAssignment, item: ActionItem) -> None:
    if item.is_done:
        raise DomainError("This action is already done.")
    if not policy.can_complete_item(actor, assignment, item):
        raise Forbidden("Only the owner of an action marks it done.")
    item.done_at = utcnow()
    item.done_by_id = actor.id
    db.session.flush()


class PersonRef(NamedTuple):
    """The mentor or the candidate of a pair: whose account it is, and their name."""

    user_id: int
    name: str


class PairView(NamedTuple):
    """An assignment as its page shows it (plain columns). The policies read it like a
    ``MentorAssignment``: ``mentor.user_id``, ``profile.user_id``, ``is_active``."""

    id: int
    mentor_id: int
    profile_id: int
    is_primary: bool
    status: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    mentor: PersonRef
    profile: PersonRef

    @property
    def is_active(self) -> bool:
        return self.status == "active"


# Aliases (built once: an alias is costly to make), so that the joins never meet the tables of
# the policy's subqueries.
_PAIR_ALIASES = (aliased(MentorProfile), aliased(CandidateProfile), aliased(User), aliased(User))


def _pair_view_statement(condition) -> Select:
    mentor, candidate, mentor_user, candidate_user = _PAIR_ALIASES
    return _where(
        select(
            MentorAssignment.id,
            MentorAssignment.mentor_id,
            MentorAssignment.profile_id,
            MentorAssignment.is_primary,
            MentorAssignment.status,
            MentorAssignment.started_at,
            MentorAssignment.ended_at,
            MentorAssignment.end_reason,
            mentor_user.id,
            mentor_user.name,
            candidate_user.id,
            candidate_user.name,
        )
        .join(mentor, mentor.id == MentorAssignment.mentor_id)
        .join(mentor_user, mentor_user.id == mentor.user_id)
        .join(candidate, candidate.id == MentorAssignment.profile_id)
        .join(candidate_user, candidate_user.id == candidate.user_id),
        condition,
    ).where(MentorAssignment.id == bindparam("assignment_id"))


_PAIR_VIEW = _by_scope(_pair_view_statement)


def pair_view(actor: User, assignment_id: int) -> PairView | None:
    """The assignment if the actor may see it (``policy.visible_assignments``), else ``None``.
    One query of columns (its statement built once per scope of the policy)."""
    row = read(
        _PAIR_VIEW[policy.scope_of(actor)], {"assignment_id": assignment_id, "actor_id": getattr(actor, "id", None)}
    ).first()
    if row is None:
        return None
    return PairView(*row[:8], PersonRef(*row[8:10]), PersonRef(*row[10:12]))


class LogLine(NamedTuple):
    """A mentoring log as a pair's page shows it (plain columns)."""

    id: int
    met_on: date
    duration_minutes: int
    mode: str
    summary: str

    mode_label = MODE_LABEL

    @property
    def heading(self) -> str:
        """The log's heading on its pair's page: date, how they met and for how long."""
        return f"{format_date(self.met_on, '%-d %B %Y')} · {MODE_LABELS[self.mode]} · {self.duration_minutes} minutes"


class ActionLine(NamedTuple):
    """An action item as a pair's page shows it (plain columns; ``policy.can_complete_item``
    reads it like an ``ActionItem``)."""

    id: int
    log_id: int
    description: str
    owner: str
    due_on: date
    done_at: datetime | None

    owner_label = OWNER_LABEL
    is_done = IS_DONE
    is_overdue = item_is_overdue

    @property
    def owner_and_due(self) -> str:
        """Whose it is and when it is due, as a pair's page writes it."""
        return f"{OWNER_LABELS[self.owner]}, due {format_date(self.due_on, '%-d %b %Y')}"


class StaffNoteLine(NamedTuple):
    id: int
    log_id: int
    body: str
    created_at: datetime
    author_name: str


@dataclass
class LogView:
    log: LogLine
    actions: list[ActionLine]
    staff_notes: list[StaffNoteLine]
    private_note: str | None


_LOGS = (
    select(
        MentoringLog.id,
        MentoringLog.met_on,
        MentoringLog.duration_minutes,
        MentoringLog.mode,
        MentoringLog.summary,
    )
    .where(MentoringLog.assignment_id == bindparam("assignment_id"))
    .order_by(MentoringLog.met_on.desc(), MentoringLog.id.desc())
)
# An action item's columns as an ActionLine holds them.
_ACTION_LINE_COLUMNS = (
    ActionItem.id,
    ActionItem.log_id,
    ActionItem.description,
    ActionItem.owner,
    ActionItem.due_on,
    ActionItem.done_at,
)
# The items of the pair's logs (every item belongs to a log of its own assignment).
_LOG_ACTIONS = (
    select(*_ACTION_LINE_COLUMNS)
    .join(MentoringLog, MentoringLog.id == ActionItem.log_id)
    .where(MentoringLog.assignment_id == bindparam("assignment_id"))
    .order_by(ActionItem.due_on, ActionItem.id)
)
_LOG_STAFF_NOTES = (
    select(StaffNote.id, StaffNote.log_id, StaffNote.body, StaffNote.created_at, User.name)
    .join(User, User.id == StaffNote.author_id)
    .join(MentoringLog, MentoringLog.id == StaffNote.log_id)
    .where(MentoringLog.assignment_id == bindparam("assignment_id"))
    .order_by(StaffNote.created_at, StaffNote.id)
)


def log_views(actor: User, assignment: MentorAssignment | PairView) -> list[LogView]:
    """The assignment's logs, newest first, with what the actor may see of each (at most four
    queries of columns; the action items and staff notes without the list of log ids)."""
    params = {"assignment_id": assignment.id}
    logs = [LogLine(*row) for row in read(_LOGS, params)]
    actions: dict[int, list[ActionLine]] = defaultdict(list)
    staff: dict[int, list[StaffNoteLine]] = defaultdict(list)
    if logs:
        for row in read(_LOG_ACTIONS, params):
            actions[row[1]].append(ActionLine(*row))
        if policy.can_see_staff_notes(actor):
            for row in read(_LOG_STAFF_NOTES, params):
                staff[row[1]].append(StaffNoteLine(*row))
    ids = [lg.id for lg in logs]
    mine = private_notes_for(actor, ids) if policy.is_assigned_mentor(actor, assignment) else {}
    return [LogView(lg, actions[lg.id], staff[lg.id], mine.get(lg.id)) for lg in logs]


# ---------------------------------------------------------------------------------------------
# The mentor's home, the candidate's page and the health page


def lapse_weeks() -> int:
    from flask import current_app

    return int(current_app.config["MENTORING_LAPSE_WEEKS"])


@dataclass
class PairRow:
    assignment: MentorAssignment
    last_contact: date | None
    next_step: ActionItem | None
    overdue: int
    lapsed: bool


def pair_rows(assignments: list[MentorAssignment], today: date, weeks: int) -> list[PairRow]:
    """Last contact, next open action and overdue count for each pair (two queries)."""
    ids = [a.id for a in assignments]
    last: dict[int, date] = {}
    open_items: dict[int, list[ActionItem]] = defaultdict(list)
    if ids:
        last = dict(
            read(
                select(MentoringLog.assignment_id, func.max(MentoringLog.met_on))
                .where(MentoringLog.assignment_id.in_(ids))
                .group_by(MentoringLog.assignment_id)
            ).all()
        )
        for item in db.session.scalars(
            select(ActionItem)
            .where(ActionItem.assignment_id.in_(ids), ActionItem.done_at.is_(None))
            .order_by(ActionItem.due_on, ActionItem.id)
        ):
            open_items[item.assignment_id].append(item)
    cutoff = today - timedelta(weeks=weeks)
    rows = []
    for a in assignments:
        contact = last.get(a.id)
        since = contact or a.started_at.date()
        items = open_items[a.id]
        rows.append(
            PairRow(
                assignment=a,
                last_contact=contact,
                next_step=next((i for i in items if i.due_on >= today), items[0] if items else None),
                overdue=sum(1 for i in items if i.due_on < today),
                lapsed=since < cutoff,
            )
        )
    return rows


class MenteeLine(NamedTuple):
    """A mentor's active mentee as their home lists it (plain columns)."""

    id: int  # the assignment's
    profile_id: int
    is_primary: bool
    candidate_name: str
    last_contact: date | None
    next_step: ActionLine | None
    overdue: int
    lapsed: bool


class MentorSummary(NamedTuple):
    """A mentor's load and skill areas, as their home shows them."""

    active_mentees: int
    capacity: int
    skill_labels: list[str]


def _last_contact():
    """The date of a pair's latest log, as the pair keeps it (``note_meeting``; logs are only
    ever added), rather than asked of its logs."""
    return MentorAssignment.last_met_on


def mentor_home(actor: User, today: date | None = None) -> list[MenteeLine]:
    """The mentor's active mentees, by name, each with the last contact, the next open action
    and the number of overdue ones, and whether contact has lapsed (two queries of columns; the
    same figures as ``pair_rows``)."""
    today = today or utcnow().date()
    pairs = read(_MENTEES[policy.scope_of(actor)], {"actor_id": getattr(actor, "id", None)}).all()
    open_items: dict[int, list[ActionLine]] = defaultdict(list)
    if pairs:
        for row in read(_OPEN_ITEMS_OF, {"assignment_ids": [p[0] for p in pairs]}):
            open_items[row[6]].append(ActionLine(*row[:6]))
    cutoff = today - timedelta(weeks=lapse_weeks())
    lines = []
    for assignment_id, profile_id, is_primary, started_at, name, contact in pairs:
        items = open_items[assignment_id]
        lines.append(
            MenteeLine(
                id=assignment_id,
                profile_id=profile_id,
                is_primary=is_primary,
                candidate_name=name,
                last_contact=contact,
                next_step=next((i for i in items if i.due_on >= today), items[0] if items else None),
                overdue=sum(1 for i in items if i.due_on < today),
                lapsed=(contact or started_at.date()) < cutoff,
            )
        )
    return lines


def _mentees_statement(condition) -> Select:
    _, candidate, _, candidate_user = _PAIR_ALIASES
    return (
        _where(
            select(
                MentorAssignment.id,
                MentorAssignment.profile_id,
                MentorAssignment.is_primary,
                MentorAssignment.started_at,
                candidate_user.name,
                _last_contact(),
            )
            .join(candidate, candidate.id == MentorAssignment.profile_id)
            .join(candidate_user, candidate_user.id == candidate.user_id),
            condition,
        )
        .where(MentorAssignment.status == "active")
        .order_by(func.lower(candidate_user.name), MentorAssignment.id)
    )


# The active pairs an actor may see, with the candidate's name and the last contact (built once
# per scope of the policy).
_MENTEES = _by_scope(_mentees_statement)
# The open items of some assignments, by due date (built once).
_OPEN_ITEMS_OF = (
    select(*_ACTION_LINE_COLUMNS, ActionItem.assignment_id)
    .where(ActionItem.assignment_id.in_(bindparam("assignment_ids", expanding=True)), ActionItem.done_at.is_(None))
    .order_by(ActionItem.due_on, ActionItem.id)
)
# A mentor's load and skill areas (built once).
_MENTOR_SUMMARY = (
    select(MentorProfile.active_mentees, MentorProfile.capacity, MentorSkill.skill_area)
    .outerjoin(MentorSkill, MentorSkill.mentor_id == MentorProfile.id)
    .where(MentorProfile.user_id == bindparam("user_id"))
    .order_by(MentorSkill.skill_area)
)


def mentor_summary(user: User) -> MentorSummary | None:
    """The mentor's places taken and offered and their skill areas, or ``None`` without a mentor
    profile (one query)."""
    rows = read(_MENTOR_SUMMARY, {"user_id": user.id}).all()
    if not rows:
        return None
    return MentorSummary(rows[0][0], rows[0][1], [SKILL_LABELS[r[2]] for r in rows if r[2] is not None])


class MentorLine(NamedTuple):
    """One of a candidate's mentors as their mentoring page lists it (plain columns)."""

    id: int
    mentor_name: str
    is_primary: bool
    status: str
    ended_at: datetime | None
    last_contact: date | None  # the date of the pair's latest log

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class ItemLine(NamedTuple):
    """An open action item as the candidate's mentoring page lists it (plain columns)."""

    id: int
    description: str
    due_on: date

    def is_overdue(self, today: date) -> bool:
        return self.due_on < today  # open by construction


def candidate_mentoring(actor: User) -> tuple[list[MentorLine], list[ItemLine]]:
    """The candidate's mentoring page, in two queries of columns:

    * the assignments the actor may see (a candidate: their own; active first, the primary
      first, newest first), each with its mentor's name and the date of its latest log;
    * the actor's own open action items across those of them that are active, by due date."""
    params = {"actor_id": getattr(actor, "id", None)}
    scope = policy.scope_of(actor)
    rows = read(_CANDIDATE_LINES[scope], params)
    lines = [MentorLine(*row) for row in rows]
    items = read(_CANDIDATE_ITEMS[scope], params)
    return lines, [ItemLine(*row) for row in items]


def _candidate_lines_statement(condition) -> Select:
    return (
        _where(
            select(
                MentorAssignment.id,
                User.name,
                MentorAssignment.is_primary,
                MentorAssignment.status,
                MentorAssignment.ended_at,
                _last_contact(),
            )
            .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
            .join(User, User.id == MentorProfile.user_id),
            condition,
        )
    ).order_by(MentorAssignment.status, MentorAssignment.is_primary.desc(), MentorAssignment.started_at.desc())


def _candidate_items_statement(condition) -> Select:
    active = _where(select(MentorAssignment.id), condition).where(MentorAssignment.status == "active")
    return (
        select(ActionItem.id, ActionItem.description, ActionItem.due_on)
        .where(ActionItem.assignment_id.in_(active), ActionItem.owner == "candidate", ActionItem.done_at.is_(None))
        .order_by(ActionItem.due_on, ActionItem.id)
    )


# The candidate's mentoring page, built once per scope of the policy.
_CANDIDATE_LINES = _by_scope(_candidate_lines_statement)
_CANDIDATE_ITEMS = _by_scope(_candidate_items_statement)


@dataclass(frozen=True)
class PairLine:
    """A pair as the health page lists it: names and dates, no ORM objects (plain columns)."""

    id: int
    mentor_name: str
    candidate_name: str
    started_at: datetime
    last_contact: date | None = None


@dataclass(frozen=True)
class OverdueLine:
    """An overdue action item with its pair's names (plain columns)."""

    item_id: int
    assignment_id: int
    mentor_name: str
    candidate_name: str
    description: str
    owner: str
    due_on: date

    owner_label = OWNER_LABEL


@dataclass(frozen=True)
class FullMentor:
    user_id: int
    name: str
    active_mentees: int
    capacity: int


@dataclass
class Health:
    lapsed: list[PairLine]
    overdue: list[OverdueLine]
    overdue_total: int
    full_mentors: list[FullMentor]
    months: list[date]
    pairs: Page  # a page of the active pairs (PairLine), by candidate name
    per_month: dict[int, dict[date, int]]


def _month_starts(today: date, n: int) -> list[date]:
    months, y, m = [], today.year, today.month
    for _ in range(n):
        months.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(months))


# The assignment lists show names, dates and counts: never the skills and languages that mentor and
# candidate profiles otherwise load with them (three extra queries and much ORM work per list).
# ``lazyload`` rather than ``noload``: a later access still loads the right rows.
PAIR_LIST_OPTIONS = (
    defaultload(MentorAssignment.mentor).lazyload(MentorProfile.skills),
    defaultload(MentorAssignment.mentor).lazyload(MentorProfile.languages),
    defaultload(MentorAssignment.profile).lazyload(CandidateProfile.languages),
)


def _active():
    """``status = 'active'`` with the value written into the SQL rather than bound, so that SQLite
    can use the partial indexes over active assignments (``WHERE status = 'active'``)."""
    return MentorAssignment.status == literal("active", literal_execute=True)


def _fixed(n: int):
    """A LIMIT or OFFSET written into the SQL rather than bound: SQLite plans ``LIMIT ?`` as if
    every row were wanted (the health page's overdue items then read every active pair's items,
    60 times slower than walking the due-date index for the first 50)."""
    return literal(int(n), literal_execute=True)


_MentorUser = aliased(User, name="mentor_user")
_CandidateUser = aliased(User, name="candidate_user")


def _with_pair_names(stmt: Select, assignment_id, mentor_id, profile_id) -> Select:
    """Join the mentor's and the candidate's names to a statement over assignments (columns)."""
    return (
        stmt.join(MentorProfile, MentorProfile.id == mentor_id)
        .join(_MentorUser, _MentorUser.id == MentorProfile.user_id)
        .join(CandidateProfile, CandidateProfile.id == profile_id)
        .join(_CandidateUser, _CandidateUser.id == CandidateProfile.user_id)
    )


def note_meeting(assignment: MentorAssignment, met_on: date) -> None:
    """Keep the pair's latest meeting date: one atomic update, so two logs saved at once
    cannot leave the earlier date behind."""
    db.session.execute(
        update(MentorAssignment)
        .where(MentorAssignment.id == assignment.id)
        .values(
            last_met_on=case(
                (or_(MentorAssignment.last_met_on.is_(None), MentorAssignment.last_met_on < met_on), met_on),
                else_=MentorAssignment.last_met_on,
            )
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(assignment, ["last_met_on"])


def refresh_last_met(assignment_ids: list[int] | None = None) -> None:
    """Work out the pairs' latest meeting dates from their logs (after bulk loading logs)."""
    latest = (
        select(func.max(MentoringLog.met_on))
        .where(MentoringLog.assignment_id == MentorAssignment.id)
        .correlate(MentorAssignment)
        .scalar_subquery()
    )
    stmt = update(MentorAssignment).values(last_met_on=latest).execution_options(synchronize_session=False)
    if assignment_ids is not None:
        stmt = stmt.where(MentorAssignment.id.in_(assignment_ids))
    read(stmt)


def active_pairs_page(page: int, per_page: int) -> Page:
    """The active pairs by candidate name, one page of ``PairLine`` (two queries)."""
    # Every assignment has a mentor and a candidate (non-null foreign keys): the count needs no join.
    total = db.session.scalar(select(func.count()).where(_active())) or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = read(
        _with_pair_names(
            select(MentorAssignment.id, _MentorUser.name, _CandidateUser.name, MentorAssignment.started_at),
            MentorAssignment.id,
            MentorAssignment.mentor_id,
            MentorAssignment.profile_id,
        )
        .where(_active())
        .order_by(func.lower(_CandidateUser.name), MentorAssignment.id)
        .limit(_fixed(per_page))
        .offset(_fixed((page - 1) * per_page))
    ).all()
    return Page(items=[PairLine(*row) for row in rows], page=page, per_page=per_page, total=total)


def health(actor: User, page: int = 1, per_page: int = 25, today: date | None = None, *, limit: int = 50) -> Health:
    """The mentoring health of the programme, in a fixed number of column queries whatever its
    size: lapsed pairs, overdue action items and full mentors (each capped at ``limit`` rows, the
    most urgent first), and sessions per month for one page of the active pairs."""
    _require_staff(actor)
    today = today or utcnow().date()
    cutoff = today - timedelta(weeks=lapse_weeks())

    # Lapsed: the 50 pairs with the oldest last contact (never met first), found on ids alone; the
    # names are joined to those 50 only.
    last = _last_contact()
    lapsed_ids = (
        select(
            MentorAssignment.id,
            MentorAssignment.mentor_id,
            MentorAssignment.profile_id,
            MentorAssignment.started_at,
            last.label("last"),
        )
        .where(
            _active(),
            or_(
                last < cutoff,
                and_(last.is_(None), MentorAssignment.started_at < datetime.combine(cutoff, time.min, UTC)),
            ),
        )
        .order_by(last.asc().nulls_first(), MentorAssignment.started_at, MentorAssignment.id)
        .limit(_fixed(limit))
        .subquery()
    )
    lapsed = [
        PairLine(*row)
        for row in read(
            _with_pair_names(
                select(
                    lapsed_ids.c.id, _MentorUser.name, _CandidateUser.name, lapsed_ids.c.started_at, lapsed_ids.c.last
                ),
                lapsed_ids.c.id,
                lapsed_ids.c.mentor_id,
                lapsed_ids.c.profile_id,
            ).order_by(lapsed_ids.c.last.asc().nulls_first(), lapsed_ids.c.started_at, lapsed_ids.c.id)
        )
    ]

    # Overdue items of active pairs. The count walks the open items due before today (the partial
    # index over open items, with or without SQLite statistics) and looks up each one's pair by
    # its key; the oldest 50 come through the due-date index.
    overdue_total = (
        db.session.scalar(
            select(func.count())
            .select_from(ActionItem)
            .join(MentorAssignment, MentorAssignment.id == ActionItem.assignment_id)
            .where(ActionItem.done_at.is_(None), ActionItem.due_on < today, _active())
        )
        or 0
    )
    overdue = [
        OverdueLine(*row)
        for row in read(
            _with_pair_names(
                select(
                    ActionItem.id,
                    MentorAssignment.id,
                    _MentorUser.name,
                    _CandidateUser.name,
                    ActionItem.description,
                    ActionItem.owner,
                    ActionItem.due_on,
                ).join(MentorAssignment, MentorAssignment.id == ActionItem.assignment_id),
                MentorAssignment.id,
                MentorAssignment.mentor_id,
                MentorAssignment.profile_id,
            )
            .where(_active(), ActionItem.done_at.is_(None), ActionItem.due_on < today)
            .order_by(ActionItem.due_on, ActionItem.id)
            .limit(_fixed(limit))
        )
    ]

    full = [
        FullMentor(*row)
        for row in read(
            select(MentorProfile.user_id, User.name, MentorProfile.active_mentees, MentorProfile.capacity)
            .join(User, User.id == MentorProfile.user_id)
            .where(MentorProfile.active_mentees >= MentorProfile.capacity)
            .order_by(func.lower(User.name), MentorProfile.id)
            .limit(_fixed(limit))
        )
    ]

    pairs = active_pairs_page(page, per_page)
    months = _month_starts(today, 6)
    per_month: dict[int, dict[date, int]] = {p.id: dict.fromkeys(months, 0) for p in pairs.items}
    if pairs.items:
        for assignment_id, met_on in read(
            select(MentoringLog.assignment_id, MentoringLog.met_on).where(
                MentoringLog.assignment_id.in_(list(per_month)), MentoringLog.met_on >= months[0]
            )
        ):
            key = date(met_on.year, met_on.month, 1)
            if key in per_month[assignment_id]:
                per_month[assignment_id][key] += 1
    return Health(
        lapsed=lapsed,
        overdue=overdue,
        overdue_total=overdue_total,
        full_mentors=full,
        months=months,
        pairs=pairs,
        per_month=per_month,
    )


# ---------------------------------------------------------------------------------------------
# Reminders


@dataclass
class Reminder:
    mentor: MentorProfile
    lapsed: list[PairRow] = field(default_factory=list)
    overdue: list[tuple[ActionItem, MentorAssignment]] = field(default_factory=list)


def _record_once(mentor_id: int, kind: str, subject_id: int, today: date) -> bool:
    """Record a reminder for today; False if one was already recorded (by us or a parallel run)."""
    exists = db.session.scalar(
        select(MentoringReminder.id).where(
            MentoringReminder.mentor_id == mentor_id,
            MentoringReminder.kind == kind,
            MentoringReminder.subject_id == subject_id,
            MentoringReminder.sent_on == today,
        )
    )
    if exists is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(MentoringReminder(mentor_id=mentor_id, kind=kind, subject_id=subject_id, sent_on=today))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def due_reminders(today: date | None = None) -> list[Reminder]:
    """Lapsed contact and overdue action items not yet reminded about today, per mentor. Each is
    recorded as it is found (the caller commits, then sends)."""
    today = today or utcnow().date()
    weeks = lapse_weeks()
    active = db.session.scalars(
        select(MentorAssignment)
        .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
        .join(User, User.id == MentorProfile.user_id)
        .where(MentorAssignment.status == "active", User.active.is_(True))
        .order_by(MentorAssignment.id)
    ).all()
    by_mentor: dict[int, Reminder] = {}
    for row in pair_rows(list(active), today, weeks):
        a = row.assignment
        if row.lapsed and _record_once(a.mentor_id, "lapsed", a.id, today):
            by_mentor.setdefault(a.mentor_id, Reminder(a.mentor)).lapsed.append(row)
    overdue = read(
        select(ActionItem, MentorAssignment)
        .join(MentorAssignment, MentorAssignment.id == ActionItem.assignment_id)
        .where(
            MentorAssignment.id.in_([a.id for a in active]),
            ActionItem.done_at.is_(None),
            ActionItem.due_on < today,
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    ).all()
    for item, a in overdue:
        if _record_once(a.mentor_id, "overdue", item.id, today):
            by_mentor.setdefault(a.mentor_id, Reminder(a.mentor)).overdue.append((item, a))
    return list(by_mentor.values())
