"""Who may see and change candidate profiles and their sensitive answers.

One function per rule, shared by views, queries and templates. Mentors will see their own
mentees once mentoring arrives; until then they see no profiles.
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
    return stmt.where(false())


def is_own_profile(actor: User, profile: CandidateProfile) -> bool:
    return actor.role == "candidate" and profile.user_id == actor.id


def can_view_profile(actor: User, profile: CandidateProfile) -> bool:
    return is_staff(actor) or is_own_profile(actor, profile)


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
