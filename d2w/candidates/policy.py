"""Who may see and change candidate profiles and their sensitive answers.

One function per rule, shared by views, queries and templates. A mentor sees the profiles of
the candidates they have an active mentoring assignment with (never their self-declared answers).
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile


def visible_profiles(actor: User) -> Select:
    """Profiles the actor may open; anything else answers 404."""
    stmt = select(CandidateProfile)
    if is_staff(actor):
        return stmt
    if actor.role == "candidate":
        return stmt.where(CandidateProfile.user_id == actor.id)
    if actor.role == "mentor":
        return stmt.where(CandidateProfile.id.in_(_mentee_ids(actor)))
    return stmt.where(false())


def _mentee_ids(actor: User) -> Select:
    from d2w.mentoring.policy import mentee_profile_ids

    return mentee_profile_ids(actor)


def is_mentor_of(actor: User, profile: CandidateProfile) -> bool:
    """Whether the actor mentors this candidate now (an active assignment)."""
    if not (actor and actor.is_authenticated and actor.role == "mentor"):
        return False
    from d2w.core.extensions import db
    from d2w.mentoring.models import MentorAssignment

    stmt = _mentee_ids(actor).where(MentorAssignment.profile_id == profile.id).limit(1)
    return db.session.scalar(stmt) is not None


def is_own_profile(actor: User, profile: CandidateProfile) -> bool:
    return actor.role == "candidate" and profile.user_id == actor.id


def can_view_profile(actor: User, profile: CandidateProfile) -> bool:
    return is_staff(actor) or is_own_profile(actor, profile) or is_mentor_of(actor, profile)


def can_edit_profile(actor: User, profile: CandidateProfile) -> bool:
    """Contact details, region, languages, community links and roles held."""
    return is_staff(actor) or is_own_profile(actor, profile)


def can_view_sensitive(actor: User, profile: CandidateProfile) -> bool:
    """Ethnic group, date of birth and referendum vote: staff and the candidate, never mentors."""
    return is_staff(actor) or is_own_profile(actor, profile)


def can_edit_sensitive(actor: User, profile: CandidateProfile) -> bool:
    return is_staff(actor) or is_own_profile(actor, profile)


def can_manage_programme(actor: User) -> bool:
    """Stage changes, approved-list status, cohorts, enrolments, sessions and registers."""
    return is_staff(actor)
