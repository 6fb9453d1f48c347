"""Who may see and do what with applications to seats. Shared by views, queries and templates.

* Staff see every application (the board), start one for any candidate, move any of them, and
  alone record an override of a poor fit, with a written reason.
* A candidate sees, starts and moves their own applications; anyone else's answers 404.
* Mentors see nothing of applications (the referendum stance behind a fit lives in the checks).
"""

from __future__ import annotations

from sqlalchemy import Select, bindparam, false, select

from d2w.applications.models import Application
from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile


def is_candidate(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "candidate")


def _own_profile_id(actor_id):
    # Never correlated: lists join candidate_profiles themselves.
    return select(CandidateProfile.id).where(CandidateProfile.user_id == actor_id).correlate(None).scalar_subquery()


SCOPES = ("all", "own", "none")


def scope_of(actor: User) -> str:
    """Which rule of ``visible_applications`` applies: staff see "all", a candidate their "own",
    anyone else "none"."""
    if is_staff(actor):
        return "all"
    if is_candidate(actor):
        return "own"
    return "none"


def applications_within(scope: str, stmt: Select, actor_id) -> Select:
    """``visible_applications``'s rule for a scope, applied to a statement over applications;
    ``actor_id`` is the actor's id or a bound parameter standing for it (statements built once
    per scope)."""
    if scope == "all":
        return stmt
    if scope == "own":
        return stmt.where(Application.profile_id == _own_profile_id(actor_id))
    return stmt.where(false())


def visible_applications(actor: User) -> Select:
    """Applications the actor may open; anything else answers 404."""
    scope = scope_of(actor)
    return applications_within(scope, select(Application), actor.id if scope == "own" else None)


_OWNER_USER_ID = select(CandidateProfile.user_id).where(CandidateProfile.id == bindparam("profile_id"))


def is_owner(actor: User, application: Application, owner_user_id: int | None = None) -> bool:
    """Whether the actor is the candidate the application belongs to (one query at most: none
    when the caller knows the user id of the application's candidate, ``owner_user_id``)."""
    if not is_candidate(actor):
        return False
    if owner_user_id is None:
        from d2w.core.extensions import db

        owner_user_id = db.session.scalar(_OWNER_USER_ID, {"profile_id": application.profile_id})
    return owner_user_id == actor.id


def can_view_application(actor: User, application: Application) -> bool:
    return is_staff(actor) or is_owner(actor, application)


def can_edit_application(actor: User, application: Application, owner_user_id: int | None = None) -> bool:
    """Move it on (with a date and a note) or withdraw it: staff, and the candidate it belongs to
    (``owner_user_id``: the user id of its candidate, when the caller knows it)."""
    return is_staff(actor) or is_owner(actor, application, owner_user_id)


def can_override(actor: User) -> bool:
    """Record that a poor fit may still be submitted, with a written reason: staff only."""
    return is_staff(actor)


def can_create_for(actor: User, profile: CandidateProfile) -> bool:
    """Start an application: a candidate for themselves, staff for any candidate."""
    return is_staff(actor) or (is_candidate(actor) and profile.user_id == actor.id)


def can_see_board(actor: User) -> bool:
    """The board of every application by status: staff."""
    return is_staff(actor)
