"""Business verbs for skills sessions, attendance registers, rates and calendar feeds.

Services take the acting user, flush, and raise domain errors; they never commit, flash or
send e-mail (the view commits, then calls ``d2w.programme.mailers``).

Registers are guarded by ``ProgrammeSession.register_version``: a save first runs one
conditional ``UPDATE ... WHERE register_version = :seen``; if somebody saved in between, no row
matches and the save is refused as a Conflict before anything of it is written.

Rates are (present + late) / marked over non-cancelled sessions, computed with SQL aggregates.
A candidate is at risk after ``AT_RISK_CONSECUTIVE_ABSENCES`` absences in a row (see
``rules.consecutive_absences``: excused marks are skipped) while they hold a current place.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.selectable import ScalarSelect

from d2w.audit import services as audit
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import HOLDS_PLACE, Cohort, Enrolment
from d2w.cohorts.services import roster
from d2w.core.db import built_once, one_of, read, utcnow
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.core.pagination import Page, Sort, apply_sort
from d2w.programme import policy, rules
from d2w.programme.models import IS_CANCELLED, SKILL_LABEL, Attendance, ProgrammeSession
from d2w.programme.skills import ATTENDANCE_LABELS, ATTENDED, SKILL_LABELS

# Enrolment statuses that make absences matter: a candidate who finished or left is not "at risk".
CURRENT_PLACE = ("invited", "active")


def _require_staff(actor: User) -> None:
    if not policy.can_manage_sessions(actor):
        raise Forbidden("Only staff manage skills sessions.")


# ---------------------------------------------------------------------------------------------
# Scheduling, editing and cancelling


@dataclass
class SessionFields:
    """What staff enter. ``day``, ``starts`` and ``ends`` are London wall-clock values."""

    title: str
    skill_area: str
    day: date | None
    starts: time | None
    ends: time | None
    place: str | None = None
    online_url: str | None = None
    facilitator: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What a candidate's e-mail says about a session: title, times and place only."""

    title: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    online_url: str | None

    @classmethod
    def of(cls, s: ProgrammeSession) -> Snapshot:
        return cls(s.title, s.starts_at, s.ends_at, s.place, s.online_url)


@dataclass
class SessionChange:
    """The outcome of an edit or cancellation: whether the cohort should hear about it."""

    session: ProgrammeSession
    previous: Snapshot
    notify: bool


def _tidy(value: str | None, limit: int, field_name: str, label: str) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > limit:
        raise DomainError(f"Keep the {label} under {limit} characters.", field=field_name)
    return value or None


def _check_fields(fields: SessionFields) -> SessionFields:
    title = _tidy(fields.title, 160, "title", "title")
    if not title:
        raise DomainError("Enter a title for the session.", field="title")
    if fields.skill_area not in SKILL_LABELS:
        raise DomainError("Choose a skill area.", field="skill_area")
    if fields.day is None:
        raise DomainError("Enter the date of the session.", field="day")
    if fields.starts is None:
        raise DomainError("Enter the start time, for example 18:30.", field="starts")
    if fields.ends is None:
        raise DomainError("Enter the end time, for example 20:00.", field="ends")
    place = _tidy(fields.place, 255, "place", "place")
    try:
        online_url = rules.clean_online_url(fields.online_url)
    except ValueError as exc:
        raise DomainError(str(exc), field="online_url") from None
    if not place and not online_url:
        raise DomainError("Enter a place, an online link, or both.", field="place")
    notes = (fields.notes or "").strip() or None
    if notes and len(notes) > 2000:
        raise DomainError("Keep the notes under 2,000 characters.", field="notes")
    return SessionFields(
        title=title,
        skill_area=fields.skill_area,
        day=fields.day,
        starts=fields.starts,
        ends=fields.ends,
        place=place,
        online_url=online_url,
        facilitator=_tidy(fields.facilitator, 120, "facilitator", "facilitator's name"),
        notes=notes,
    )


def _slots(fields: SessionFields, weeks: int) -> list[rules.Slot]:
    try:
        return rules.weekly_slots(fields.day, fields.starts, fields.ends, weeks)
    except rules.LocalTimeError as exc:
        raise DomainError(exc.message, field=exc.which) from None


def schedule_sessions(actor: User, cohort: Cohort, fields: SessionFields, *, weeks: int = 1) -> list[ProgrammeSession]:
    """One session, or a weekly series of ``weeks`` sessions at the same London time."""
    _require_staff(actor)
    if not cohort.is_open:
        raise DomainError("This cohort is closed: open it again to schedule sessions.", field="cohort")
    if weeks is None or not 1 <= weeks <= rules.MAX_WEEKS:
        raise DomainError(f"Choose from 1 to {rules.MAX_WEEKS} weeks.", field="weeks")
    f = _check_fields(fields)
    series_id = secrets.token_hex(16) if weeks > 1 else None
    sessions = [
        ProgrammeSession(
            cohort_id=cohort.id,
            title=f.title,
            skill_area=f.skill_area,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            place=f.place,
            online_url=f.online_url,
            facilitator=f.facilitator,
            notes=f.notes,
            series_id=series_id,
        )
        for slot in _slots(f, weeks)
    ]
    db.session.add_all(sessions)
    db.session.flush()
    for s in sessions:
        s.cohort = cohort
    summary = f"{len(sessions)} weekly sessions" if weeks > 1 else "one session"
    audit.record(actor, "session.scheduled", sessions[0], summary=f"{summary} for {cohort.name}")
    return sessions


def _conflict() -> Conflict:
    return Conflict(
        "Somebody else changed this session while you were editing it. Check the current details and try again."
    )


def _ended_or_ends_after(moment: datetime, *snapshots: Snapshot) -> bool:
    return any(s.ends_at > moment for s in snapshots)


def update_session(
    actor: User, s: ProgrammeSession, fields: SessionFields, *, version: int, now: datetime | None = None
) -> SessionChange:
    """Change one session. The cohort is told if its time or place changed and it is not over."""
    _require_staff(actor)
    if s.is_cancelled:
        raise DomainError("This session was cancelled and can no longer be changed.")
    if version != s.version:
        raise _conflict()
    f = _check_fields(fields)
    new = _slots(f, 1)[0]
    previous = Snapshot.of(s)
    s.title, s.skill_area, s.facilitator, s.notes = f.title, f.skill_area, f.facilitator, f.notes
    s.starts_at, s.ends_at = new.starts_at, new.ends_at
    s.place, s.online_url = f.place, f.online_url
    s.version = version + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise _conflict() from None
    current = Snapshot.of(s)
    moved = (previous.starts_at, previous.ends_at) != (current.starts_at, current.ends_at)
    relocated = (previous.place, previous.online_url) != (current.place, current.online_url)
    if moved:
        # The order of sessions decides absences in a row.
        recompute_absences(_marked_profiles(s.id))
    audit.record(actor, "session.updated", s)
    notify = (moved or relocated) and _ended_or_ends_after(now or utcnow(), previous, current)
    return SessionChange(session=s, previous=previous, notify=notify)


def cancel_session(actor: User, s: ProgrammeSession, *, now: datetime | None = None) -> SessionChange:
    """Cancel a session. Its marks stay but no longer count; the cohort is told if it is to come."""
    _require_staff(actor)
    if s.is_cancelled:
        raise DomainError("This session is already cancelled.")
    previous = Snapshot.of(s)
    s.cancelled_at = utcnow()
    s.version += 1
    try:
        db.session.flush()
    except StaleDataError:
        raise _conflict() from None
    recompute_absences(_marked_profiles(s.id))
    audit.record(actor, "session.cancelled", s)
    return SessionChange(session=s, previous=previous, notify=_ended_or_ends_after(now or utcnow(), previous))


def recipients(s: ProgrammeSession) -> list[User]:
    """Who hears about a change: every candidate holding a place in the cohort (active accounts)."""
    return [p.user for _, p in roster(s.cohort_id) if p.user.active]


# ---------------------------------------------------------------------------------------------
# Attendance registers


@dataclass
class RegisterRow:
    profile_id: int
    name: str
    saved: str | None  # the stored mark
    consecutive_absences: int
    chosen: str | None = None  # what the person marking picked (when redisplaying a refused save)
    error: str | None = None

    @property
    def field_name(self) -> str:
        return f"status-{self.profile_id}"

    @property
    def shown(self) -> str | None:
        return self.chosen if self.chosen is not None else self.saved


# Built once (fixed statements with bound parameters). Everyone holding a place in the cohort,
# with their mark for the session (an outer join), in the roster's order
# (``d2w.cohorts.services.roster``): by name, then user id.
_REGISTER_ROWS = (
    select(CandidateProfile.id, User.name, Attendance.status, CandidateProfile.consecutive_absences)
    .select_from(Enrolment)
    .join(CandidateProfile, CandidateProfile.id == Enrolment.profile_id)
    .join(User, User.id == CandidateProfile.user_id)
    .outerjoin(
        Attendance,
        and_(Attendance.session_id == bindparam("session_id"), Attendance.profile_id == Enrolment.profile_id),
    )
    .where(Enrolment.cohort_id == bindparam("cohort_id"), one_of(Enrolment.status, HOLDS_PLACE))
    .order_by(func.lower(User.name), User.id)
)
# Marks of candidates who have since left the cohort (name, status), by name then user id.
_DEPARTED = (
    select(User.name, Attendance.status)
    .join(CandidateProfile, CandidateProfile.id == Attendance.profile_id)
    .join(User, User.id == CandidateProfile.user_id)
    .where(
        Attendance.session_id == bindparam("session_id"),
        Attendance.profile_id.not_in(
            select(Enrolment.profile_id).where(
                Enrolment.cohort_id == bindparam("cohort_id"), one_of(Enrolment.status, HOLDS_PLACE)
            )
        ),
    )
    .order_by(func.lower(User.name), User.id)
)
# The roster with its marks, then the departed candidates' marks, in one statement: ``part`` 0 for
# the roster, 1 for the departed; each part by name, then user id.
_ROSTER_PART = _REGISTER_ROWS.with_only_columns(
    literal(0).label("part"),
    CandidateProfile.id.label("profile_id"),
    User.name.label("name"),
    Attendance.status.label("status"),
    CandidateProfile.consecutive_absences.label("absences"),
    func.lower(User.name).label("sort_name"),
    User.id.label("user_id"),
).order_by(None)
_DEPARTED_PART = _DEPARTED.with_only_columns(
    literal(1).label("part"),
    CandidateProfile.id.label("profile_id"),
    User.name.label("name"),
    Attendance.status.label("status"),
    literal(0).label("absences"),
    func.lower(User.name).label("sort_name"),
    User.id.label("user_id"),
).order_by(None)
_ROSTER_AND_DEPARTED = union_all(_ROSTER_PART, _DEPARTED_PART).order_by(
    literal_column("part"), literal_column("sort_name"), literal_column("user_id")
)


def register_rows(s: ProgrammeSession) -> list[RegisterRow]:
    """Everyone holding a place in the cohort, by name, with their saved mark: one query of the
    columns shown (the roster's order: ``d2w.cohorts.services.roster``)."""
    rows = read(_REGISTER_ROWS, {"cohort_id": s.cohort_id, "session_id": s.id}).all()
    return [RegisterRow(*row) for row in rows]


@dataclass
class SessionRoster:
    """What a session's page shows of its marks: the roster (``register_rows``), the marks of
    candidates who have since left the cohort (name, status label, by name) and the summary of
    every mark (``session_summaries``)."""

    rows: list[RegisterRow]
    departed: list[tuple[str, str]]
    summary: Summary


def session_roster(s: ProgrammeSession) -> SessionRoster:
    """``register_rows``, ``departed_marks`` and ``session_summaries`` of one session, in one
    query: the roster with its marks and the departed candidates' marks, each in its order. Every
    mark of the session is either a roster member's (one enrolment per cohort and candidate, one
    mark per session and candidate) or a departed candidate's, so the summary counts both."""
    rows: list[RegisterRow] = []
    departed: list[tuple[str, str]] = []
    summary = Summary()
    for part, profile_id, name, status, absences, _, _ in read(
        _ROSTER_AND_DEPARTED, {"cohort_id": s.cohort_id, "session_id": s.id}
    ).all():
        if part == 0:
            rows.append(RegisterRow(profile_id, name, status, absences))
        else:
            departed.append((name, ATTENDANCE_LABELS[status]))
        if status is not None:
            setattr(summary, status, getattr(summary, status) + 1)
    return SessionRoster(rows, departed, summary)


def departed_marks(s: ProgrammeSession) -> list[tuple[str, str]]:
    """Marks of candidates who have since left the cohort: (name, status label), one query."""
    rows = read(_DEPARTED, {"cohort_id": s.cohort_id, "session_id": s.id}).all()
    return [(name, ATTENDANCE_LABELS[status]) for name, status in rows]


def save_register(
    actor: User,
    s: ProgrammeSession,
    marks: Mapping[int, str | None],
    *,
    seen_version: int,
    now: datetime | None = None,
) -> int:
    """Save the marks of a register that was read at ``seen_version``. Returns how many changed.

    ``marks`` maps profile ids to "present", "late", "excused" or "absent"; a candidate left out
    (or None) keeps their mark, or stays unmarked. Profiles not on the roster are ignored.
    """
    _require_staff(actor)
    if s.is_cancelled:
        raise DomainError("This session was cancelled: its register is closed.")
    if not rules.register_is_open(s.starts_at, now or utcnow()):
        raise DomainError("The register opens on the day of the session.")
    on_roster = [p.id for _, p in roster(s.cohort_id)]
    wanted: dict[int, str] = {}
    for profile_id in on_roster:
        value = marks.get(profile_id)
        if value is None or value == "":
            continue
        if value not in ATTENDANCE_LABELS:
            raise DomainError("Choose present, late, excused or absent.", field=f"status-{profile_id}")
        wanted[profile_id] = value

    # Claim the register: one conditional UPDATE, so two savers cannot both win.
    claimed = db.session.execute(
        update(ProgrammeSession)
        .where(
            ProgrammeSession.id == s.id,
            ProgrammeSession.register_version == seen_version,
            ProgrammeSession.cancelled_at.is_(None),
        )
        .values(register_version=ProgrammeSession.register_version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(
            "Somebody else saved this register while you were marking it. Nothing of yours was saved: "
            "below is the register as it is now. Check it and make your changes again."
        )
    set_committed_value(s, "register_version", seen_version + 1)

    existing = {a.profile_id: a for a in db.session.scalars(select(Attendance).where(Attendance.session_id == s.id))}
    changed = []
    for profile_id, status in wanted.items():
        mark = existing.get(profile_id)
        if mark is None:
            db.session.add(Attendance(session_id=s.id, profile_id=profile_id, status=status, marked_by_id=actor.id))
        elif mark.status != status:
            mark.status, mark.marked_by_id, mark.marked_at = status, actor.id, utcnow()
        else:
            continue
        changed.append(profile_id)
    db.session.flush()
    recompute_absences(changed)
    audit.record(actor, "attendance.saved", s)
    return len(changed)


def _marked_profiles(session_id: int) -> list[int]:
    return list(db.session.scalars(select(Attendance.profile_id).where(Attendance.session_id == session_id)))


def recompute_absences(profile_ids: Iterable[int]) -> dict[int, int]:
    """Store each candidate's absences in a row (``CandidateProfile.consecutive_absences``)."""
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    # Lock the profiles (PostgreSQL; SQLite serialises writers anyway) so that two registers
    # saved at once for the same candidates each count the other's committed marks.
    read(
        select(CandidateProfile.id).where(CandidateProfile.id.in_(ids)).order_by(CandidateProfile.id).with_for_update()
    )
    rows = read(
        select(Attendance.profile_id, Attendance.status)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(Attendance.profile_id.in_(ids), ProgrammeSession.cancelled_at.is_(None))
        .order_by(Attendance.profile_id, ProgrammeSession.starts_at.desc(), ProgrammeSession.id.desc())
    ).all()
    statuses: dict[int, list[str]] = defaultdict(list)
    for profile_id, status in rows:
        statuses[profile_id].append(status)
    counts = {pid: rules.consecutive_absences(statuses.get(pid, [])) for pid in ids}
    db.session.execute(
        update(CandidateProfile)
        .where(CandidateProfile.id.in_(ids))
        .values(
            consecutive_absences=case(counts, value=CandidateProfile.id, else_=0),
            updated_at=CandidateProfile.updated_at,  # attendance is not a profile edit
        )
        .execution_options(synchronize_session=False)
    )
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, CandidateProfile) and obj.id in counts:
            set_committed_value(obj, "consecutive_absences", counts[obj.id])
    return counts


# ---------------------------------------------------------------------------------------------
# Rates and summaries (SQL aggregates; no query per row)


@dataclass
class Rate:
    attended: int = 0
    marked: int = 0

    @property
    def rate(self) -> float | None:
        return rules.rate(self.attended, self.marked)

    @property
    def percent(self) -> str:
        return rules.percent(self.rate)


@dataclass
class Summary:
    """The marks of one session."""

    present: int = 0
    late: int = 0
    excused: int = 0
    absent: int = 0

    @property
    def marked(self) -> int:
        return self.present + self.late + self.excused + self.absent

    @property
    def attended(self) -> int:
        return self.present + self.late

    @property
    def rate(self) -> float | None:
        return rules.rate(self.attended, self.marked)

    @property
    def percent(self) -> str:
        return rules.percent(self.rate)


_SESSION_SUMMARIES = (
    select(Attendance.session_id, Attendance.status, func.count())
    .where(Attendance.session_id.in_(bindparam("ids", expanding=True)))
    .group_by(Attendance.session_id, Attendance.status)
)


def session_summaries(session_ids: Iterable[int]) -> dict[int, Summary]:
    """Marks per session, for any number of sessions, in one query."""
    ids = list(session_ids)
    out = {sid: Summary() for sid in ids}
    if not ids:
        return out
    rows = read(_SESSION_SUMMARIES, {"ids": ids}).all()
    for sid, status, n in rows:
        setattr(out[sid], status, n)
    return out


def _attended_sum():
    return func.coalesce(func.sum(case((one_of(Attendance.status, ATTENDED), 1), else_=0)), 0)


_CANDIDATE_RATES = (
    select(Attendance.profile_id, _attended_sum(), func.count())
    .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
    .where(Attendance.profile_id.in_(bindparam("ids", expanding=True)), ProgrammeSession.cancelled_at.is_(None))
    .group_by(Attendance.profile_id)
)


def candidate_rates(profile_ids: Iterable[int]) -> dict[int, Rate]:
    """Each candidate's attendance rate over non-cancelled sessions, in one query."""
    ids = list(profile_ids)
    out = {pid: Rate() for pid in ids}
    if not ids:
        return out
    rows = read(_CANDIDATE_RATES, {"ids": ids}).all()
    for pid, attended, marked in rows:
        out[pid] = Rate(int(attended), int(marked))
    return out


def candidate_rate(profile_id: int) -> Rate:
    return candidate_rates([profile_id])[profile_id]


def cohort_rates(cohort_ids: Iterable[int]) -> dict[int, Rate]:
    """Each cohort's attendance rate over its non-cancelled sessions, in one query."""
    ids = list(cohort_ids)
    out = {cid: Rate() for cid in ids}
    if not ids:
        return out
    rows = read(
        select(ProgrammeSession.cohort_id, _attended_sum(), func.count(Attendance.id))
        .join(Attendance, Attendance.session_id == ProgrammeSession.id)
        .where(ProgrammeSession.cohort_id.in_(ids), ProgrammeSession.cancelled_at.is_(None))
        .group_by(ProgrammeSession.cohort_id)
    ).all()
    for cid, attended, marked in rows:
        out[cid] = Rate(int(attended), int(marked))
    return out


def cohort_rate(cohort_id: int) -> Rate:
    return cohort_rates([cohort_id])[cohort_id]


# ---------------------------------------------------------------------------------------------
# Lists for other pages


@dataclass
class SessionRow:
    session: ProgrammeSession
    summary: Summary


def with_summaries(sessions: Iterable[ProgrammeSession]) -> list[SessionRow]:
    sessions = list(sessions)
    summaries = session_summaries(s.id for s in sessions)
    return [SessionRow(s, summaries[s.id]) for s in sessions]


SESSION_SORTS = {
    "starts": ProgrammeSession.starts_at,
    "title": func.lower(ProgrammeSession.title),
    "cohort": func.lower(Cohort.name),
}


class ListedSession(NamedTuple):
    """A session as lists show it (the columns of ``_session_table.html``, the candidate's
    schedule and home page): plain columns, no model object. ``cohort_name`` only where a list
    shows the cohort."""

    id: int
    title: str
    skill_area: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    online_url: str | None
    cancelled_at: datetime | None
    cohort_name: str | None = None

    skill_label = SKILL_LABEL
    is_cancelled = IS_CANCELLED


class SessionView(NamedTuple):
    """One session as its pages show it (staff's page and register, a candidate's page): plain
    columns, with its cohort's name. Policy functions read it as they read a ProgrammeSession."""

    id: int
    cohort_id: int
    title: str
    skill_area: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    online_url: str | None
    facilitator: str | None
    notes: str | None
    series_id: str | None
    cancelled_at: datetime | None
    register_version: int
    cohort_name: str

    skill_label = SKILL_LABEL
    is_cancelled = IS_CANCELLED


_SESSION_VIEW_COLUMNS = (
    ProgrammeSession.id,
    ProgrammeSession.cohort_id,
    ProgrammeSession.title,
    ProgrammeSession.skill_area,
    ProgrammeSession.starts_at,
    ProgrammeSession.ends_at,
    ProgrammeSession.place,
    ProgrammeSession.online_url,
    ProgrammeSession.facilitator,
    ProgrammeSession.notes,
    ProgrammeSession.series_id,
    ProgrammeSession.cancelled_at,
    ProgrammeSession.register_version,
    Cohort.name,
)


def _build_session_view(shape) -> Select:
    """A session's page (``policy.visible_sessions``) for every user of one kind; a candidate's
    adds their own mark (``mark_of``), so that their page is one query."""
    stmt = (
        policy.visible_sessions(shape)
        .with_only_columns(*_SESSION_VIEW_COLUMNS)
        .select_from(ProgrammeSession)
        .join(Cohort, Cohort.id == ProgrammeSession.cohort_id)
        .where(ProgrammeSession.id == bindparam("session_id"))
    )
    if not policy.can_view_roster(shape):
        stmt = stmt.add_columns(
            select(Attendance.status)
            .where(Attendance.session_id == ProgrammeSession.id, Attendance.profile_id == _OWN_PROFILE_ID)
            .scalar_subquery()
        )
    return stmt


def _session_view_row(actor: User, session_id: int):
    stmt, params = built_once(("programme.session_view",), actor, _build_session_view)
    return read(stmt, {**params, "session_id": session_id}).first()


def session_view(actor: User, session_id: int) -> SessionView | None:
    """The session if the actor may see it (``policy.visible_sessions``), else None: one query of
    the columns its pages show."""
    row = _session_view_row(actor, session_id)
    return SessionView(*row[: len(_SESSION_VIEW_COLUMNS)]) if row else None


def own_session_view(actor: User, session_id: int) -> tuple[SessionView, str | None] | None:
    """A session as a candidate sees it (``session_view``) with their own mark (``mark_of``), in
    one query; None if they may not see it."""
    row = _session_view_row(actor, session_id)
    if row is None:
        return None
    n = len(_SESSION_VIEW_COLUMNS)
    return SessionView(*row[:n]), (row[n] if len(row) > n else mark_of(actor, SessionView(*row[:n])))


_SESSION_COLUMNS = (
    ProgrammeSession.id,
    ProgrammeSession.title,
    ProgrammeSession.skill_area,
    ProgrammeSession.starts_at,
    ProgrammeSession.ends_at,
    ProgrammeSession.place,
    ProgrammeSession.online_url,
    ProgrammeSession.cancelled_at,
)
_LISTED_COLUMNS = (*_SESSION_COLUMNS, Cohort.name)


def _build_session_page(when: str, by_cohort: bool, by_skill: bool, sort: Sort):
    def build(shape) -> tuple[Select, Select]:
        stmt = policy.visible_sessions(shape)
        if by_cohort:
            stmt = stmt.where(ProgrammeSession.cohort_id == bindparam("cohort_id"))
        if by_skill:
            stmt = stmt.where(ProgrammeSession.skill_area == bindparam("skill"))
        if when == "upcoming":
            stmt = stmt.where(ProgrammeSession.ends_at > bindparam("now"))
        elif when == "past":
            stmt = stmt.where(ProgrammeSession.ends_at <= bindparam("now"))
        count = stmt.with_only_columns(func.count()).select_from(ProgrammeSession)
        if when == "upcoming":
            # Said again in a form that lets the database walk the start-time index from the first
            # session not yet over (found through the end-time index) rather than from the
            # oldest session: every session not yet over starts at or after the earliest start
            # of those sessions, so the rows are the same (none when there are none). The
            # coalesce keeps SQLite from finding that minimum by walking the start-time index
            # from the oldest session too (its min() shortcut); it changes no value.
            later = aliased(ProgrammeSession)
            earliest = select(func.min(func.coalesce(later.starts_at, later.starts_at)))
            stmt = stmt.where(
                ProgrammeSession.starts_at >= earliest.where(later.ends_at > bindparam("now")).scalar_subquery()
            )
        page = apply_sort(
            stmt.with_only_columns(*_LISTED_COLUMNS).join(Cohort, Cohort.id == ProgrammeSession.cohort_id),
            sort,
            SESSION_SORTS,
            ProgrammeSession.id,
        )
        return count, page.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))

    return build


def session_page(
    actor: User,
    *,
    when: str,
    cohort_id: int | None,
    skill: str | None,
    sort: Sort,
    page: int,
    per_page: int,
    now: datetime | None = None,
) -> Page:
    """A page of the sessions the actor may see: "upcoming" (not yet over), "past" or "all", of
    one cohort and skill area if given, as ``SessionRow`` of a ``ListedSession`` and its marks.
    Three queries: the count needs no join (every session has its cohort); the page is one query
    of the columns shown, with the cohort's name through the join it sorts by; then the marks of
    the page's sessions (``session_summaries``). The statements are built once per kind of user
    and shape of filter (``built_once``)."""
    when = when if when in ("upcoming", "past") else "all"
    shape = ("programme.session_page", when, cohort_id is not None, bool(skill), sort.key, sort.descending)
    (count, rows), params = built_once(
        shape, actor, _build_session_page(when, cohort_id is not None, bool(skill), sort)
    )
    params.update(now=now or utcnow(), cohort_id=cohort_id, skill=skill)
    total = read(count, params).scalar() or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    items = read(rows, {**params, "limit": per_page, "offset": (page - 1) * per_page}).all()
    summaries = session_summaries(row[0] for row in items)
    items = [SessionRow(ListedSession(*row), summaries[row[0]]) for row in items]
    return Page(items=items, page=page, per_page=per_page, total=total)


def sessions_for_cohort(cohort_id: int) -> list[SessionRow]:
    """A cohort's sessions (cancelled included), oldest first, with their marks: two queries."""
    sessions = db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.cohort_id == cohort_id)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ).all()
    return with_summaries(sessions)


def this_week_sessions(today: date | None = None) -> list[SessionRow]:
    """Every cohort's sessions from Monday to Sunday (London) of this week: two queries."""
    today = today or rules.to_london(utcnow()).date()
    start, end = rules.london_week_bounds(today)
    sessions = db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.starts_at >= start, ProgrammeSession.starts_at < end)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ).all()
    return with_summaries(sessions)


def at_risk_threshold() -> int:
    return int(current_app.config["AT_RISK_CONSECUTIVE_ABSENCES"])


def is_at_risk(profile: CandidateProfile, threshold: int | None = None) -> bool:
    """Absences in a row at or over the threshold (for one profile already loaded)."""
    return profile.consecutive_absences >= (at_risk_threshold() if threshold is None else threshold)


def at_risk_condition(threshold: int | None = None):
    """The "at risk" rule as a SQL condition on CandidateProfile, for lists and filters:
    enough absences in a row, and still holding a current (invited or active) place."""
    n = at_risk_threshold() if threshold is None else threshold
    return and_(
        CandidateProfile.consecutive_absences >= n,
        exists().where(Enrolment.profile_id == CandidateProfile.id, one_of(Enrolment.status, CURRENT_PLACE)),
    )


def at_risk_candidates(limit: int = 10, *, threshold: int | None = None) -> list[CandidateProfile]:
    """Candidates at risk, most absences in a row first."""
    return list(
        db.session.scalars(
            select(CandidateProfile)
            .join(User, User.id == CandidateProfile.user_id)
            .where(at_risk_condition(threshold))
            .order_by(CandidateProfile.consecutive_absences.desc(), func.lower(User.name), CandidateProfile.id)
            .limit(limit)
        )
    )


# ---------------------------------------------------------------------------------------------
# The candidate's own schedule


@dataclass
class HistoryRow:
    session: ListedSession
    status: str | None

    @property
    def status_label(self) -> str:
        return ATTENDANCE_LABELS[self.status] if self.status else "Not recorded"


# The candidate's schedule: fixed statements built once, with the candidate's profile id, the
# time and the page as bound parameters. They reach sessions from the candidate's cohorts (a join
# on the cohort's sessions; one enrolment per cohort and candidate, so no session twice) and
# marks, never by scanning every session in time order.
_HELD = policy.held_cohort_ids(bindparam("profile_id")).subquery("held")
_UPCOMING = (
    select(*_SESSION_COLUMNS)
    .join(_HELD, _HELD.c.cohort_id == ProgrammeSession.cohort_id)
    .where(ProgrammeSession.ends_at > bindparam("now"))
    .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
)
_UPCOMING_FIRST = _UPCOMING.limit(bindparam("limit"))


def _started_sessions(profile_id):
    """The ids of the sessions that have started (by ``:now``) of the candidate's own cohorts,
    and of any session they were marked in (``profile_id``: a bound parameter or the outer
    query's profile). Each part goes through its index: from the candidate's enrolments to their
    cohorts' sessions, and from their marks to each mark's session by its key (a candidate has a
    few dozen; SQLite would otherwise walk every started session, PostgreSQL read every one)."""
    mark_start = (
        select(ProgrammeSession.starts_at).where(ProgrammeSession.id == Attendance.session_id).scalar_subquery()
    )
    return union(
        select(ProgrammeSession.id)
        .join(Enrolment, Enrolment.cohort_id == ProgrammeSession.cohort_id)
        .where(
            Enrolment.profile_id == profile_id,
            one_of(Enrolment.status, HOLDS_PLACE),
            ProgrammeSession.starts_at <= bindparam("now"),
        )
        .correlate_except(ProgrammeSession, Enrolment),
        select(Attendance.session_id)
        .where(Attendance.profile_id == profile_id, mark_start <= bindparam("now"))
        .correlate_except(Attendance, ProgrammeSession),
    )


def _history_count(profile_id) -> Select:
    return select(func.count()).select_from(_started_sessions(profile_id).subquery())


_HISTORY_COUNT = _history_count(bindparam("profile_id"))
_HISTORY_PAGE = (
    select(*_SESSION_COLUMNS, Attendance.status)
    .outerjoin(
        Attendance,
        and_(Attendance.session_id == ProgrammeSession.id, Attendance.profile_id == bindparam("profile_id")),
    )
    .where(ProgrammeSession.id.in_(_started_sessions(bindparam("profile_id"))))
    .order_by(ProgrammeSession.starts_at.desc(), ProgrammeSession.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def upcoming_for(
    profile: CandidateProfile, now: datetime | None = None, *, limit: int | None = None
) -> list[ListedSession]:
    """Sessions not yet over in the cohorts the candidate holds a place in (cancelled included),
    soonest first; at most ``limit`` of them if given. One query of the columns shown."""
    params = {"profile_id": profile.id, "now": now or utcnow()}
    rows = read(_UPCOMING, params) if limit is None else read(_UPCOMING_FIRST, {**params, "limit": limit})
    return [ListedSession(*row) for row in rows.all()]


def history_for(profile: CandidateProfile, page: int, per_page: int, now: datetime | None = None) -> Page:
    """Sessions that have started, newest first, with the candidate's mark (``HistoryRow``):
    their own cohorts' sessions and any session they were marked in. Two queries per page (the
    count, and the page of the columns shown), each reaching the sessions through the
    candidate's cohorts and marks (never every past session)."""
    params = {"profile_id": profile.id, "now": now or utcnow()}
    total = db.session.scalar(_HISTORY_COUNT, params) or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = read(_HISTORY_PAGE, {**params, "limit": per_page, "offset": (page - 1) * per_page}).all()
    items = [HistoryRow(ListedSession(*row[:-1]), row[-1]) for row in rows]
    return Page(items=items, page=page, per_page=per_page, total=total)


@dataclass(frozen=True)
class OwnSchedule:
    """A candidate's schedule page: their profile's id and calendar token, the sessions coming
    up, a page of the sessions that have started (``HistoryRow``) and their attendance rate."""

    profile_id: int
    calendar_token: str | None
    upcoming: list[ListedSession]
    history: Page
    rate: Rate


def own_attendance(profile_id) -> tuple[ScalarSelect, ScalarSelect]:
    """A candidate's attended and marked sessions (non-cancelled ones), as ``candidate_rate``
    counts them, as two scalar subqueries (``profile_id``: a bound parameter or the outer query's
    profile). Each mark's session is looked up by its key, one mark at a time: a candidate has a
    few dozen marks, and PostgreSQL would otherwise read every session to join them."""
    session_cancelled = (
        select(ProgrammeSession.cancelled_at).where(ProgrammeSession.id == Attendance.session_id).scalar_subquery()
    )
    marked = (
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.profile_id == profile_id, session_cancelled.is_(None))
        .correlate_except(Attendance, ProgrammeSession)
    )
    return marked.with_only_columns(_attended_sum()).scalar_subquery(), marked.scalar_subquery()


def _own_figures():
    """One row for the acting candidate (``actor_id``): their profile's id and calendar token, how
    many sessions have started for them (``history_for``'s count) and their attendance
    (attended, marked)."""
    me = CandidateProfile
    return select(me.id, me.calendar_token, _history_count(me.id).scalar_subquery(), *own_attendance(me.id)).where(
        me.user_id == bindparam("actor_id", type_=Integer)
    )


_OWN_FIGURES = _own_figures()
# The sessions coming up and a page of those that have started, in one statement: each part in
# its own subquery (its order and page), told apart by ``part``; put back in order in Python.
_UPCOMING_PART = _UPCOMING.add_columns(literal("u").label("part"), null().label("status")).subquery()
_HISTORY_PART = _HISTORY_PAGE.with_only_columns(
    *_SESSION_COLUMNS, literal("h").label("part"), Attendance.status
).subquery()
_OWN_SESSIONS = union_all(select(*_UPCOMING_PART.c), select(*_HISTORY_PART.c))


def own_schedule(actor: User, page: int, per_page: int, now: datetime | None = None) -> OwnSchedule | None:
    """What the candidate's schedule page shows (``OwnSchedule``), in two queries; None if the
    candidate has no profile yet. The same sessions, order and figures as ``upcoming_for``,
    ``history_for`` and ``candidate_rate``."""
    now = now or utcnow()
    figures = read(_OWN_FIGURES, {"actor_id": actor.id, "now": now}).first()
    if figures is None:
        return None
    profile_id, token, total, attended, marked = figures
    total = int(total or 0)
    page = min(page, max(1, math.ceil(total / per_page)))
    params = {"profile_id": profile_id, "now": now, "limit": per_page, "offset": (page - 1) * per_page}
    upcoming, history = [], []
    for row in read(_OWN_SESSIONS, params).all():
        listed = ListedSession(*row[:8])
        if row[8] == "u":
            upcoming.append(listed)
        else:
            history.append(HistoryRow(listed, row[9]))
    upcoming.sort(key=lambda s: (s.starts_at, s.id))
    history.sort(key=lambda r: (r.session.starts_at, r.session.id), reverse=True)
    return OwnSchedule(
        profile_id,
        token,
        upcoming,
        Page(items=history, page=page, per_page=per_page, total=total),
        Rate(int(attended or 0), int(marked or 0)),
    )


def own_mark(profile: CandidateProfile, s: ProgrammeSession) -> str | None:
    return db.session.scalar(
        select(Attendance.status).where(Attendance.session_id == s.id, Attendance.profile_id == profile.id)
    )


# The acting user's own candidate profile (bound parameter ``actor_id``: their user id).
_OWN_PROFILE_ID = (
    select(CandidateProfile.id)
    .where(CandidateProfile.user_id == bindparam("actor_id", type_=Integer))
    .scalar_subquery()
)
_MARK_OF = select(Attendance.status).where(
    Attendance.session_id == bindparam("session_id"), Attendance.profile_id == _OWN_PROFILE_ID
)


def mark_of(actor: User, s: ProgrammeSession) -> str | None:
    """The acting candidate's own mark for a session (one query, without loading their profile)."""
    return read(_MARK_OF, {"actor_id": actor.id, "session_id": s.id}).scalar()


def feed_sessions(profile: CandidateProfile) -> list[ProgrammeSession]:
    """What a candidate's calendar holds: every session of the cohorts they hold a place in."""
    return list(
        db.session.scalars(
            select(ProgrammeSession)
            .where(ProgrammeSession.cohort_id.in_(policy.held_cohort_ids(profile.id)))
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# Calendar tokens


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_token(profile: CandidateProfile) -> str:
    """The candidate's calendar token, made on first use (safe if two requests race)."""
    if profile.calendar_token:
        return profile.calendar_token
    db.session.execute(
        update(CandidateProfile)
        .where(CandidateProfile.id == profile.id, CandidateProfile.calendar_token.is_(None))
        .values(calendar_token=_new_token(), updated_at=CandidateProfile.updated_at)
        .execution_options(synchronize_session=False)
    )
    token = db.session.scalar(select(CandidateProfile.calendar_token).where(CandidateProfile.id == profile.id))
    set_committed_value(profile, "calendar_token", token)
    return token


def reset_calendar_token(actor: User, profile: CandidateProfile) -> str:
    """A new token: the old feed address stops working at once."""
    if not (actor.role == "candidate" and profile.user_id == actor.id):
        raise Forbidden("Only the candidate can reset their calendar address.")
    token = _new_token()
    db.session.execute(
        update(CandidateProfile)
        .where(CandidateProfile.id == profile.id)
        .values(calendar_token=token, updated_at=CandidateProfile.updated_at)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(profile, "calendar_token", token)
    audit.record(actor, "calendar.token_reset", profile)
    return token


def profile_for_token(token: str) -> CandidateProfile | None:
    """The active candidate a feed token belongs to, or None."""
    if not token or len(token) > 64:
        return None
    profile = db.session.scalar(select(CandidateProfile).where(CandidateProfile.calendar_token == token))
    if profile is None or not profile.user.active or profile.user.role != "candidate":
        return None
    return profile
