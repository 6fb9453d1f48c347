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


def scope_of(actor: User) -> str:
    """Which rule of ``visible_checks`` applies: staff see "all", a candidate their "own", anyone
    else "none"."""
    if is_staff(actor):
        return "all"
    if actor and actor.is_authenticated and actor.role == "candidate":
        return "own"
    return "none"


SCOPES = ("all", "own", "none")


def checks_within(scope: str, stmt: Select, actor_id) -> Select:
    """``visible_checks``'s rule for a scope, applied to a statement over checks; ``actor_id`` is
    the actor's id or a bound parameter standing for it (statements built once per scope)."""
    if scope == "all":
        return stmt
    if scope == "own":
        return stmt.join(CandidateProfile, CandidateProfile.id == SeatFitCheck.profile_id).where(
            CandidateProfile.user_id == actor_id
        )
    return stmt.where(false())


def visible_checks(actor: User) -> Select:
    scope = scope_of(actor)
    return checks_within(scope, select(SeatFitCheck), actor.id if scope == "own" else None)


def can_view_check(actor: User, check: SeatFitCheck, profile: CandidateProfile) -> bool:
    return check.profile_id == profile.id and can_run_check(actor, profile)
