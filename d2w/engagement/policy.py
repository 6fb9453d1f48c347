"""Who may see and do what with engagement milestones. Shared by views, queries and templates.

* Staff see every milestone and its evidence, verify or return it, edit the catalogue of types
  and set each cohort's targets.
* A mentor sees the milestones of the candidates they mentor now (an active assignment), and
  verifies or returns them; any other milestone answers 404.
* A candidate sees, logs and edits their own milestones (until one is verified); anyone else's
  answers 404. Nobody verifies their own.

Whether someone is a candidate's active mentor is decided in one place, ``mentee_ids``, which asks
the mentoring domain; without it no mentor sees any milestone.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.core.extensions import db
from d2w.engagement.models import Milestone

try:  # The mentoring domain owns "who mentors whom".
    from d2w.mentoring.policy import mentee_profile_ids as _mentee_profile_ids
except ImportError:  # pragma: no cover - only before mentoring exists
    _mentee_profile_ids = None


def is_candidate(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "candidate")


def is_mentor(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "mentor")


def mentee_ids(actor: User) -> Select | None:
    """The candidate profiles the actor mentors now (a subquery), or None if they mentor nobody."""
    if not is_mentor(actor) or _mentee_profile_ids is None:
        return None
    return _mentee_profile_ids(actor)


def is_active_mentor(actor: User, profile_id: int) -> bool:
    """Whether the actor is this candidate's mentor now (an active mentoring assignment)."""
    ids = mentee_ids(actor)
    if ids is None:
        return False
    stmt = select(CandidateProfile.id).where(CandidateProfile.id == profile_id, CandidateProfile.id.in_(ids))
    return db.session.scalar(stmt) is not None


def _own_profile_id(actor: User):
    return select(CandidateProfile.id).where(CandidateProfile.user_id == actor.id).scalar_subquery()


def visible_milestones(actor: User) -> Select:
    """Milestones the actor may open (with their evidence); anything else answers 404."""
    stmt = select(Milestone)
    if is_staff(actor):
        return stmt
    if is_candidate(actor):
        return stmt.where(Milestone.profile_id == _own_profile_id(actor))
    ids = mentee_ids(actor)
    if ids is not None:
        return stmt.where(Milestone.profile_id.in_(ids))
    return stmt.where(false())


def is_own(actor: User, milestone: Milestone) -> bool:
    return is_candidate(actor) and milestone.profile.user_id == actor.id


def can_log(actor: User) -> bool:
    return is_candidate(actor)


def can_edit(actor: User, milestone: Milestone) -> bool:
    """The candidate changes their own milestone while it awaits verification or was returned."""
    return is_own(actor, milestone) and milestone.status in ("logged", "returned")


def can_review(actor: User, milestone: Milestone) -> bool:
    """Verify or return: staff, or the candidate's mentor now; only while it awaits verification."""
    if milestone.status != "logged":
        return False
    return is_staff(actor) or is_active_mentor(actor, milestone.profile_id)


def can_review_any(actor: User) -> bool:
    """The review list: staff, and mentors (who see their own mentees' milestones)."""
    return is_staff(actor) or is_mentor(actor)


def can_manage_catalogue(actor: User) -> bool:
    """Milestone types and cohort targets: staff."""
    return is_staff(actor)


def can_see_progress(actor: User) -> bool:
    """Cohort progress and programme totals: staff."""
    return is_staff(actor)
