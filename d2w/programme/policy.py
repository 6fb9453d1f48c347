"""Who may see and change skills sessions and registers. Shared by views, queries and templates.

Staff see and run every session. A candidate sees the sessions of cohorts they hold a place in,
and any session they have an attendance mark for (their own history, even after leaving a
cohort); any other session answers 404. Mentors see none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, false, or_, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import HOLDS_PLACE, Enrolment
from d2w.core.db import one_of, utcnow
from d2w.programme import rules
from d2w.programme.models import Attendance, ProgrammeSession


def held_cohort_ids(profile_id: int) -> Select:
    """The cohorts a candidate holds a place in (a subquery)."""
    return select(Enrolment.cohort_id).where(Enrolment.profile_id == profile_id, one_of(Enrolment.status, HOLDS_PLACE))


def _own_profile_id(actor: User) -> Select:
    return select(CandidateProfile.id).where(CandidateProfile.user_id == actor.id).scalar_subquery()


def visible_sessions(actor: User) -> Select:
    """Sessions the actor may open; anything else answers 404."""
    stmt = select(ProgrammeSession)
    if is_staff(actor):
        return stmt
    if actor.is_authenticated and actor.role == "candidate":
        profile_id = _own_profile_id(actor)
        return stmt.where(
            or_(
                ProgrammeSession.cohort_id.in_(
                    select(Enrolment.cohort_id).where(
                        Enrolment.profile_id == profile_id, one_of(Enrolment.status, HOLDS_PLACE)
                    )
                ),
                exists().where(Attendance.session_id == ProgrammeSession.id, Attendance.profile_id == profile_id),
            )
        )
    return stmt.where(false())


def can_manage_sessions(actor: User) -> bool:
    """Scheduling, editing, cancelling and taking registers: staff."""
    return is_staff(actor)


def can_edit_session(actor: User, session: ProgrammeSession) -> bool:
    return can_manage_sessions(actor) and not session.is_cancelled


def can_cancel_session(actor: User, session: ProgrammeSession) -> bool:
    return can_manage_sessions(actor) and not session.is_cancelled


def can_take_register(actor: User, session: ProgrammeSession, now: datetime | None = None) -> bool:
    """Staff, once the session's day has come, unless it was cancelled."""
    return (
        can_manage_sessions(actor)
        and not session.is_cancelled
        and rules.register_is_open(session.starts_at, now or utcnow())
    )


def can_view_roster(actor: User) -> bool:
    """Who is in the session and how each attended: staff only (a candidate sees their own mark)."""
    return is_staff(actor)
