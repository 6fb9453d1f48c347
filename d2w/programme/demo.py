"""Demo skills sessions for the quick start: call ``load_demo_sessions`` from ``d2w.demo`` once a
demo cohort with candidates exists. It goes through the services, like a person would."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from d2w.auth.models import User
from d2w.cohorts.models import Cohort
from d2w.cohorts.services import roster
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.programme import rules, services
from d2w.programme.models import ProgrammeSession

# Who did what at the past sessions, by candidate (in roster order), oldest session first.
PATTERNS = (
    ("present", "present", "late", "present"),
    ("present", "excused", "present", "late"),
    ("late", "present", "absent", "absent"),  # two absences in a row: at risk
    ("present", "absent", "excused", "present"),
)


def load_demo_sessions(actor: User, cohort: Cohort, today: date | None = None) -> list[ProgrammeSession]:
    """A weekly series (four past with registers taken, four to come, one cancelled) and one
    online masterclass. Does nothing if the cohort already has sessions."""
    if db.session.scalar(select(ProgrammeSession.id).where(ProgrammeSession.cohort_id == cohort.id).limit(1)):
        return []
    today = today or rules.to_london(utcnow()).date()
    first_tuesday = today - timedelta(days=(today.weekday() - 1) % 7) - timedelta(weeks=4)
    series = services.schedule_sessions(
        actor,
        cohort,
        services.SessionFields(
            title="Winning your selection panel",
            skill_area="mock_selection_panel",
            day=first_tuesday,
            starts=time(18, 30),
            ends=time(20, 30),
            place="Committee Room 2, 4 Matthew Parker Street, London SW1H 9HQ",
            facilitator="Ama Owusu",
        ),
        weeks=8,
    )
    online = services.schedule_sessions(
        actor,
        cohort,
        services.SessionFields(
            title="Social media masterclass",
            skill_area="social_media",
            day=today + timedelta(days=(3 - today.weekday()) % 7 or 7),
            starts=time(12, 30),
            ends=time(13, 30),
            online_url="https://meet.example.org/d2w-social-media",
            facilitator="Daniel Okafor",
        ),
    )
    roster_ids = [p.id for _, p in roster(cohort.id)]
    for week, s in enumerate(series[:4]):
        marks = {pid: PATTERNS[i % len(PATTERNS)][week] for i, pid in enumerate(roster_ids)}
        services.save_register(actor, s, marks, seen_version=s.register_version)
    services.cancel_session(actor, series[6])
    return series + online
