"""Read-side queries of the profile page: one visible profile with everything it shows.

Kept apart from services (which programme.services imports, through cohorts) because it uses the
programme's at-risk rule and attendance figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from d2w.candidates.models import CandidateProfile
from d2w.core.db import read
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


def profile_page(visible: Select, profile_id: int, threshold: int) -> ProfilePage | None:
    """One visible profile with its user and languages, whether it is at risk (the programme's
    rule) and its attendance, in one query; None if the profile is not in ``visible``."""
    stmt = visible.where(CandidateProfile.id == profile_id).options(_PAGE_OPTIONS).add_columns(*_PAGE_COLUMNS)
    row = read(stmt, {"threshold": threshold}).unique().first()
    if row is None:
        return None
    profile, at_risk, attended, marked = row
    return ProfilePage(profile, bool(at_risk), Rate(int(attended or 0), int(marked or 0)))
