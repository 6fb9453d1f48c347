"""Who may see and do what in mentoring. Shared by views, queries and templates.

* Staff see every mentor profile, assignment and log, and add staff-only notes; they never see a
  mentor's private note.
* A mentor sees their own profile and their own assignments (active or ended) and logs; another
  mentor's answer 404. Only the mentor of an active assignment writes logs for it.
* A candidate sees their own assignments: the summaries and action items, never private or staff
  notes, and marks the action items they own as done.
* A private note is read by its author only (``can_read_private_note``).
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.mentoring.models import ActionItem, MentorAssignment, MentorProfile, PrivateNote


def is_mentor(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "mentor")


def is_candidate(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "candidate")


def can_manage_mentoring(actor: User) -> bool:
    """Mentor profiles, matching, assigning and ending assignments, the health page: staff."""
    return is_staff(actor)


# What an actor may see of mentoring is one of these scopes. Lists and pages built once per scope
# (statements made at import, with the actor's id as a bound parameter) use ``*_within`` with
# ``bindparam("actor_id")``; ``visible_*`` use the same conditions with the actor's id.
SCOPES = ("all", "mentor", "candidate", "none")


def scope_of(actor: User) -> str:
    """Staff see all; a mentor and a candidate see their own; anyone else nothing."""
    if is_staff(actor):
        return "all"
    if is_mentor(actor):
        return "mentor"
    if is_candidate(actor):
        return "candidate"
    return "none"


def _actor_id(actor: User, scope: str):
    return actor.id if scope in ("mentor", "candidate") else None


def mentor_users_within(scope: str, actor_id):
    """The condition of ``visible_mentor_users`` besides the role (None: no condition)."""
    if scope == "all":
        return None
    if scope == "mentor":
        return User.id == actor_id
    return false()


def visible_mentor_users(actor: User) -> Select:
    """Mentor accounts whose profile the actor may open (staff: all; a mentor: themselves)."""
    stmt = select(User).where(User.role == "mentor")
    scope = scope_of(actor)
    condition = mentor_users_within(scope, _actor_id(actor, scope))
    return stmt if condition is None else stmt.where(condition)


def can_edit_mentor_profile(actor: User, mentor_user: User) -> bool:
    return is_staff(actor) or (is_mentor(actor) and mentor_user.id == actor.id)


def assignments_within(scope: str, actor_id):
    """The condition of ``visible_assignments`` for a scope (None: no condition); ``actor_id``
    is the actor's id or a bound parameter standing for it."""
    if scope == "all":
        return None
    if scope == "mentor":
        return MentorAssignment.mentor_id.in_(select(MentorProfile.id).where(MentorProfile.user_id == actor_id))
    if scope == "candidate":
        return MentorAssignment.profile_id.in_(select(CandidateProfile.id).where(CandidateProfile.user_id == actor_id))
    return false()


def visible_assignments(actor: User) -> Select:
    """Assignments the actor may open; anything else answers 404."""
    stmt = select(MentorAssignment)
    scope = scope_of(actor)
    condition = assignments_within(scope, _actor_id(actor, scope))
    return stmt if condition is None else stmt.where(condition)


def is_assigned_mentor(actor: User, assignment: MentorAssignment) -> bool:
    return is_mentor(actor) and assignment.mentor.user_id == actor.id


def is_mentee(actor: User, assignment: MentorAssignment) -> bool:
    return is_candidate(actor) and assignment.profile.user_id == actor.id


def can_write_log(actor: User, assignment: MentorAssignment) -> bool:
    return is_assigned_mentor(actor, assignment) and assignment.is_active


def can_add_staff_note(actor: User) -> bool:
    return is_staff(actor)


def can_see_staff_notes(actor: User) -> bool:
    return is_staff(actor)


def can_read_private_note(actor: User, note: PrivateNote) -> bool:
    """Its author, and nobody else: not staff, not admins, not the candidate."""
    return bool(actor and actor.is_authenticated and note.author_id == actor.id)


def can_complete_item(actor: User, assignment: MentorAssignment, item: ActionItem) -> bool:
    """The owner of an open item marks it done: the candidate their own, the mentor theirs."""
    if item.is_done or not assignment.is_active:
        return False
    if item.owner == "candidate":
        return is_mentee(actor, assignment)
    return is_assigned_mentor(actor, assignment)


def mentee_profile_ids(actor: User) -> Select:
    """The candidate profiles a mentor has an active assignment with (a subquery)."""
    return (
        select(MentorAssignment.profile_id)
        .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
        .where(MentorProfile.user_id == actor.id, MentorAssignment.status == "active")
    )
