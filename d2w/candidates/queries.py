"""Read-side queries of the profile page: one visible profile with everything it shows.

Kept apart from services (which programme.services imports, through cohorts) because it uses the
programme's at-risk rule and attendance figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import joinedload

from d2w.candidates.models import CandidateProfile
from d2w.candidates.policy import visible_profiles
from d2w.core.db import built_once, read
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.services import Rate, at_risk_condition
from d2w.programme.skills import ATTENDED


def _attendance_counts():
    """A profile's attended and marked sessions (non-cancelled sessions only), as two correlated
    subqueries: the same figures as programme.services.candidate_rate."""
    base = (
        select(func.count())
        .select_from(Attendance)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(Attendance.profile_id == CandidateProfile.id, ProgrammeSession.cancelled_at.is_(None))
    )
    attended = base.where(Attendance.status.in_(ATTENDED)).scalar_subquery()
    return attended, base.scalar_subquery()


# Built once: whether the profile is at risk (the programme's rule, its threshold a parameter)
# and its attendance figures, added to the policy's statement of visible profiles.
_PAGE_COLUMNS = (at_risk_condition(bindparam("threshold")), *_attendance_counts())
_PAGE_OPTIONS = joinedload(CandidateProfile.languages)


@dataclass
class ProfilePage:
    profile: CandidateProfile
    at_risk: bool
    attendance: Rate


def _page_statement(actor):
    """The policy's visible profiles (for ``actor``, or a stand-in for a kind of user), narrowed to
    ``:profile_id``, with the page's columns."""
    return (
        visible_profiles(actor)
        .where(CandidateProfile.id == bindparam("profile_id", type_=Integer))
        .options(_PAGE_OPTIONS)
        .add_columns(*_PAGE_COLUMNS)
    )


def profile_page(actor, profile_id: int, threshold: int) -> ProfilePage | None:
    """One profile the actor may see (``policy.visible_profiles``) with its user and languages,
    whether it is at risk (the programme's rule) and its attendance, in one query; None if the
    actor may not see it. The statement is built once per kind of user (``built_once``)."""
    stmt, params = built_once(("candidates.profile_page",), actor, _page_statement)
    row = read(stmt, {**params, "profile_id": profile_id, "threshold": threshold}).unique().first()
    if row is None:
        return None
    profile, at_risk, attended, marked = row
    return ProfilePage(profile, bool(at_risk), Rate(int(attended or 0), int(marked or 0)))
