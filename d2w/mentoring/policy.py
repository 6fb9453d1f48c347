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


def visible_mentor_users(actor: User) -> Select:
    """Mentor accounts whose profile the actor may open (staff: all; a mentor: themselves)."""
    stmt = select(User).where(User.role == "mentor")
    if is_staff(actor):
        return stmt
    if is_mentor(actor):
        return stmt.where(User.id == actor.id)
    return stmt.where(false())


def can_edit_mentor_profile(actor: User, mentor_user: User) -> bool:
    return is_staff(actor) or (is_mentor(actor) and mentor_user.id == actor.id)


def visible_assignments(actor: User) -> Select:
    """Assignments the actor may open; anything else answers 404."""
    stmt = select(MentorAssignment)
    if is_staff(actor):
        return stmt
    if is_mentor(actor):
        return stmt.where(
            MentorAssignment.mentor_id.in_(select(MentorProfile.id).where(MentorProfile.user_id == actor.id))
        )
    if is_candidate(actor):
        return stmt.where(
            MentorAssignment.profile_id.in_(select(CandidateProfile.id).where(CandidateProfile.user_id == actor.id))
        )
    return stmt.where(false())


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
