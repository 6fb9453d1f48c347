"""Who may run, read, rank and compare seat-fit checks. One function per rule, shared by views,
queries and templates. A check holds the candidate's referendum stance (a political opinion):
staff and the candidate see checks; mentors never do.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.candidates.policy import is_own_profile
from d2w.seatfit.models import SeatFitCheck


def can_run_check(actor: User, profile: CandidateProfile) -> bool:
    """A candidate for themselves; staff for anyone."""
    return is_staff(actor) or is_own_profile(actor, profile)


def can_rank(actor: User, profile: CandidateProfile) -> bool:
    """Ranking every seat of a boundary set for one candidate is a staff tool."""
    return is_staff(actor)


def can_use_seatfit(actor: User) -> bool:
    """Whether the seat-fit pages are for this role at all (mentors: no)."""
    return bool(actor and actor.is_authenticated and (is_staff(actor) or actor.role == "candidate"))


def visible_checks(actor: User) -> Select:
    stmt = select(SeatFitCheck)
    if is_staff(actor):
        return stmt
    if actor.role == "candidate":
        return stmt.join(CandidateProfile, CandidateProfile.id == SeatFitCheck.profile_id).where(
            CandidateProfile.user_id == actor.id
        )
    return stmt.where(false())


def can_view_check(actor: User, check: SeatFitCheck, profile: CandidateProfile) -> bool:
    return check.profile_id == profile.id and can_run_check(actor, profile)
