"""Who may do what in the reports domain: one function per rule, shared by views, queries and templates.

* A candidate asks for their own portfolio and the seat-fit reports of their own checks; staff
  ask for anyone's, and for cohort reports. Mentors ask for none (their pages answer 403).
* A finished PDF is downloaded by the person who asked for it, or by staff.
* Self-declared answers (ethnic group, date of birth, referendum vote) appear in a portfolio only
  when ticked in by someone who may see them (staff or the candidate).
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from d2w.auth.models import User
from d2w.auth.policy import is_staff
from d2w.candidates.models import CandidateProfile
from d2w.reports.models import ReportJob


def _is_candidate(actor: User) -> bool:
    return bool(actor and actor.is_authenticated and actor.role == "candidate")


def portfolio_profiles(actor: User) -> Select:
    """Profiles whose portfolio the actor may ask for; anything else answers 404."""
    stmt = select(CandidateProfile)
    if is_staff(actor):
        return stmt
    if _is_candidate(actor):
        return stmt.where(CandidateProfile.user_id == actor.id)
    return stmt.where(false())


def can_request_portfolio(actor: User, profile: CandidateProfile) -> bool:
    return is_staff(actor) or (_is_candidate(actor) and profile.user_id == actor.id)


def can_request_cohort_report(actor: User) -> bool:
    return is_staff(actor)


def can_include_sensitive(actor: User, profile: CandidateProfile) -> bool:
    """Whether the actor may tick self-declared answers into the profile's portfolio."""
    from d2w.candidates.policy import can_view_sensitive

    return can_request_portfolio(actor, profile) and can_view_sensitive(actor, profile)


def seatfit_checks(actor: User) -> Select:
    """Saved seat-fit checks the actor may print (the seat-fit domain's own rule: the candidate's
    own, staff any); anything else answers 404."""
    from d2w.seatfit.policy import visible_checks

    return visible_checks(actor)


def visible_jobs(actor: User) -> Select:
    """Report jobs the actor may follow and download: staff, every one; a candidate, the ones
    they asked for that they may still ask for now (their own portfolio). A job someone asked
    for while they were staff is not theirs to open once their role changes."""
    stmt = select(ReportJob)
    if is_staff(actor):
        return stmt
    if _is_candidate(actor):
        own_profile = select(CandidateProfile.id).where(CandidateProfile.user_id == actor.id)
        return stmt.where(
            ReportJob.requested_by_id == actor.id,
            ReportJob.kind == "portfolio",
            ReportJob.subject_id.in_(own_profile),
        )
    return stmt.where(false())


def can_download(actor: User, job: ReportJob) -> bool:
    return job.status == "done" and (is_staff(actor) or job.requested_by_id == actor.id)
