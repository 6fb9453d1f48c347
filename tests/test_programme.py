"""Skills sessions, attendance registers, rates, the candidate's schedule and calendar feed."""

from __future__ import annotations

import html
import re
import threading
import time as time_module
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts import services as cohorts
from d2w.cohorts.models import Cohort, Enrolment
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.programme import rules, services
from d2w.programme.models import Attendance, ProgrammeSession
from tests.conftest import count_queries, csrf_token, login, post, run_at_once

# ---------------------------------------------------------------------------------------------
# The role matrix of the programme's routes, in the same shape as MATRIX in test_access.py.
# {session} and {calendar_token} come from programme_placeholders() below.

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page
H = "home"  # a redirect to the home page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


PROGRAMME_MATRIX = {
    "programme.index": ("GET", "/sessions/", row(L, 403, 403, 200, 200)),
    "programme.new": ("GET", "/sessions/new", row(L, 403, 403, 200, 200)),
    # A session of a cohort people["candidate"] is not in: 404 for them.
    "programme.detail": ("GET", "/sessions/{session}", row(L, 404, 403, 200, 200)),
    "programme.edit": ("GET", "/sessions/{session}/edit", row(L, 403, 403, 200, 200)),
    "programme.cancel": ("POST", "/sessions/{session}/cancel", row(L, 403, 403, 302, 302)),
    "programme.register": ("GET", "/sessions/{session}/register", row(L, 403, 403, 200, 200)),
    "programme.mine": ("GET", "/sessions/mine", row(L, 200, 403, 403, 403)),
    "programme.reset_calendar": ("POST", "/sessions/mine/calendar/reset", row(L, 302, 403, 403, 403)),
    "programme.calendar_feed": ("GET", "/sessions/calendar/{calendar_token}.ics", row(200, 200, 200, 200, 200)),
}


def programme_placeholders(app, people, cohort_id: int | None = None) -> dict:
    """The objects PROGRAMME_MATRIX's paths name. {session}: a session (last week) of a cohort
    that people["candidate2"] holds a place in and people["candidate"] does not; pass the id of
    such a cohort if the caller already made one, or one is made here.
    {calendar_token}: candidate2's calendar token."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        other = db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == people["candidate2"].id))
        if cohort_id is None:
            cohort = cohorts.create_cohort(
                admin,
                cohorts.CohortFields(
                    name="Programme matrix cohort",
                    focus="both",
                    intake_start=date(2026, 1, 1),
                    intake_end=date(2027, 12, 31),
                    capacity=10,
                ),
            )
            cohorts.enrol(admin, cohort, other)
        else:
            cohort = db.session.get(Cohort, cohort_id)
        last_week = rules.to_london(datetime.now(UTC)).date() - timedelta(days=7)
        (session,) = services.schedule_sessions(admin, cohort, _fields(day=last_week))
        token = services.calendar_token(other)
        db.session.commit()
        return {"session": session.id, "calendar_token": token}


# ---------------------------------------------------------------------------------------------
# Helpers


def _fields(**over) -> services.SessionFields:
    values = {
        "title": "Media and TV training",
        "skill_area": "media_tv",
        "day": date(2026, 10, 13),
        "starts": time(18, 30),
        "ends": time(20, 0),
        "place": "Party HQ, 4 Matthew Parker Street, London",
        "online_url": None,
        "facilitator": "Jo Trainer",
        "notes": None,
    }
    values.update(over)
    return services.SessionFields(**values)


def _today() -> date:
    return rules.to_london(datetime.now(UTC)).date()


def _staff(app, ref) -> User:
    return db.session.get(User, ref.id)


class Programme:
    """A cohort with candidates, built quickly in one transaction (no passwords to hash)."""

    def __init__(self, app, people, make):
        self.app, self.people, self.make = app, people, make
        self.n = 0

    def cohort(self, n_candidates=3, *, name=None, extra=()):
        """A cohort with n new candidates (plus any candidate UserRefs in ``extra``).
        Returns (cohort id, [profile ids])."""
        self.n += 1
        with self.app.app_context():
            admin = _staff(self.app, self.people["admin"])
            cohort = cohorts.create_cohort(
                admin,
                cohorts.CohortFields(
                    name=name or f"Programme cohort {self.n}",
                    focus="both",
                    intake_start=date(2026, 1, 1),
                    intake_end=date(2027, 12, 31),
                    capacity=200,
                ),
            )
            from d2w.users import services as users

            profiles = []
            for i in range(n_candidates):
                user = users.create_user(
                    admin, email=f"c{self.n}-{i}@example.org", name=f"Cand {self.n:02d}-{i:03d}", role="candidate"
                )
                profiles.append(db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == user.id)))
            for ref in extra:
                profiles.append(db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == ref.id)))
            for profile in profiles:
                cohorts.enrol(admin, cohort, profile)
            db.session.commit()
            return cohort.id, [p.id for p in profiles]

    def sessions(self, cohort_id, *, weeks=1, **over) -> list[int]:
        with self.app.app_context():
            admin = _staff(self.app, self.people["admin"])
            cohort = db.session.get(Cohort, cohort_id)
            made = services.schedule_sessions(admin, cohort, _fields(**over), weeks=weeks)
            db.session.commit()
            return [s.id for s in made]

    def mark(self, session_id, marks: dict[int, str]):
        with self.app.app_context():
            staff = _staff(self.app, self.people["staff"])
            s = db.session.get(ProgrammeSession, session_id)
            services.save_register(staff, s, marks, seen_version=s.register_version)
            db.session.commit()


@pytest.fixture
def prog(app, people, make):
    return Programme(app, people, make)


def _schedule_data(cohort_id, **over):
    data = {
        "cohort": str(cohort_id),
        "title": "Media and TV training",
        "skill_area": "media_tv",
        "facilitator": "Jo Trainer",
        "day": "2026-10-13",
        "starts": "18:30",
        "ends": "20:00",
        "place": "Party HQ, London",
        "online_url": "",
        "weeks": "1",
        "notes": "",
    }
    data.update(over)
    return data


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _plain(page: str) -> str:
    """The page's text without tags, for sentences that have markup inside."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------------------------
# Pure rules


def test_weekly_series_keeps_london_wall_time_when_the_clocks_go_back():
    # The clocks go back at 02:00 BST on Sunday 25 October 2026.
    slots = rules.weekly_slots(date(2026, 10, 13), time(18, 30), time(20, 0), 4)
    assert [s.starts_at for s in slots] == [
        datetime(2026, 10, 13, 17, 30, tzinfo=UTC),
        datetime(2026, 10, 20, 17, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 18, 30, tzinfo=UTC),
        datetime(2026, 11, 3, 18, 30, tzinfo=UTC),
    ]
    assert {rules.to_london(s.starts_at).strftime("%a %H:%M") for s in slots} == {"Tue 18:30"}
    assert {rules.to_london(s.ends_at).strftime("%H:%M") for s in slots} == {"20:00"}
    assert all(s.starts_at.tzinfo is UTC for s in slots)


def test_weekly_series_keeps_london_wall_time_when_the_clocks_go_forward():
    # The clocks go forward at 01:00 GMT on Sunday 28 March 2027.
    slots = rules.weekly_slots(date(2027, 3, 23), time(9, 0), time(10, 0), 2)
    assert [s.starts_at for s in slots] == [
        datetime(2027, 3, 23, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 30, 8, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    "day,at,message",
    [
        (date(2026, 3, 29), time(1, 30), "does not exist"),
        (date(2026, 10, 25), time(1, 30), "happens twice"),
    ],
)
def test_times_that_do_not_exist_or_happen_twice_are_refused(day, at, message):
    with pytest.raises(rules.LocalTimeError, match=message):
        rules.london_to_utc(day, at)


def test_a_series_that_lands_in_the_spring_gap_is_refused():
    with pytest.raises(rules.LocalTimeError, match="does not exist"):
        rules.weekly_slots(date(2026, 3, 22), time(1, 15), time(3, 0), 2)


@pytest.mark.parametrize(
    "args,which",
    [
        ((date(2026, 10, 13), time(20, 0), time(18, 30), 1), "ends"),
        ((date(2026, 10, 13), time(18, 30), time(18, 30), 1), "ends"),
        ((date(2026, 10, 13), time(18, 30), time(20, 0), 0), "weeks"),
        ((date(2026, 10, 13), time(18, 30), time(20, 0), 53), "weeks"),
        ((date(9999, 12, 30), time(18, 30), time(20, 0), 52), "day"),
        ((date(1, 1, 1), time(18, 30), time(20, 0), 1), "day"),
    ],
)
def test_bad_slots_are_refused_with_the_field_at_fault(args, which):
    with pytest.raises(rules.LocalTimeError) as caught:
        rules.weekly_slots(*args)
    assert caught.value.which == which


@pytest.mark.parametrize(
    "newest_first,expected",
    [
        ([], 0),
        (["absent"], 1),
        (["absent", "absent", "present", "absent"], 2),
        (["absent", "excused", "absent"], 2),  # excused is skipped: neither counts nor breaks
        (["excused", "excused"], 0),
        (["late", "absent", "absent"], 0),  # late counts as attending
        (["absent", "late", "absent"], 1),
        (["excused", "absent", "present"], 1),
    ],
)
def test_consecutive_absences(newest_first, expected):
    assert rules.consecutive_absences(newest_first) == expected


def test_rates_and_percentages():
    assert rules.rate(0, 0) is None
    assert rules.rate(3, 4) == 0.75
    assert rules.percent(None) == "–"
    assert rules.percent(2 / 3) == "67%"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("", None),
        ("   ", None),
        (None, None),
        ("https://meet.example.org/abc-def", "https://meet.example.org/abc-def"),
        ("  https://zoom.us/j/123?pwd=x  ", "https://zoom.us/j/123?pwd=x"),
    ],
)
def test_online_links_accepted(raw, expected):
    assert rules.clean_online_url(raw) == expected


@pytest.mark.parametrize(
    "raw,message",
    [
        ("http://meet.example.org/x", "https://"),
        ("javascript:alert(1)", "https://"),
        ("meet.example.org/x", "https://"),
        ("https://", "full link"),
        ("https://localhost/x", "full link"),
        ("https://[::1", "full link"),
        ("https://meet.example.org:99999/x", "full link"),
        ("https://user:pw@meet.example.org/x", "user name or password"),
        ("https://meet.example.org/a b", "spaces"),
        ("https://meet.example.org/\x00", "spaces"),
        ("https://meet.example.org/" + "a" * 500, "500 characters"),
    ],
)
def test_online_links_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        rules.clean_online_url(raw)


def test_week_bounds_are_london_mondays():
    start, end = rules.london_week_bounds(date(2026, 10, 28))  # a Wednesday, the week after BST ends
    assert start == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)  # GMT again by then
    assert rules.to_london(start).strftime("%a %H:%M") == "Mon 00:00"
    assert end - start == timedelta(days=7)
    summer_start, _ = rules.london_week_bounds(date(2026, 7, 1))
    assert summer_start == datetime(2026, 6, 28, 23, 0, tzinfo=UTC)


def test_calendar_builder_is_pure_and_parses_back():
    from types import SimpleNamespace

    from d2w.programme.ical import build_calendar

    s = SimpleNamespace(
        id=7,
        title="Canvassing, doors; and phones",
        starts_at=datetime(2026, 10, 27, 18, 30, tzinfo=UTC),
        ends_at=datetime(2026, 10, 27, 20, 0, tzinfo=UTC),
        place=None,
        online_url="https://meet.example.org/x",
        version=3,
        is_cancelled=False,
    )
    cal = Calendar.from_ical(build_calendar([s], uid_domain="d2w.example.org", now=datetime.now(UTC)))
    (event,) = cal.walk("VEVENT")
    assert str(event["summary"]) == "Canvassing, doors; and phones"
    assert str(event["uid"]) == "programme-session-7@d2w.example.org"
    assert event["dtstart"].dt == s.starts_at
    assert str(event["location"]) == "Online: https://meet.example.org/x"
    assert event["sequence"] == 3


# ---------------------------------------------------------------------------------------------
# Services


def test_schedule_a_weekly_series_in_one_go(app, people, prog):
    cohort_id, _ = prog.cohort(1)
    with app.app_context():
        admin = _staff(app, people["staff"])
        made = services.schedule_sessions(admin, db.session.get(Cohort, cohort_id), _fields(), weeks=6)
        db.session.commit()
        assert len(made) == 6
        assert len({s.series_id for s in made}) == 1 and made[0].series_id
        assert [rules.to_london(s.starts_at).strftime("%a %H:%M") for s in made] == ["Tue 18:30"] * 6
        assert made[2].starts_at - made[1].starts_at == timedelta(days=7, hours=1)  # the clocks went back
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session.scheduled")).one()
        assert "6 weekly sessions" in event.summary


def test_only_staff_schedule_and_closed_cohorts_refuse(app, people, prog):
    cohort_id, _ = prog.cohort(0)
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        for role in ("mentor", "candidate"):
            with pytest.raises(Forbidden):
                services.schedule_sessions(_staff(app, people[role]), cohort, _fields())
        cohorts.close_cohort(_staff(app, people["admin"]), cohort)
        with pytest.raises(DomainError, match="closed"):
            services.schedule_sessions(_staff(app, people["admin"]), cohort, _fields())


def test_register_saves_marks_counts_absences_and_audits(app, people, prog):
    cohort_id, pids = prog.cohort(3)
    ids = prog.sessions(cohort_id, weeks=3, day=_today() - timedelta(days=21))
    a, b, c = pids
    prog.mark(ids[0], {a: "absent", b: "present", c: "excused"})
    prog.mark(ids[1], {a: "absent", b: "absent", c: "absent"})
    prog.mark(ids[2], {a: "excused", b: "absent", c: "late"})
    with app.app_context():
        absences = dict(db.session.execute(select(CandidateProfile.id, CandidateProfile.consecutive_absences)).all())
        assert (absences[a], absences[b], absences[c]) == (2, 2, 0)
        s = db.session.get(ProgrammeSession, ids[2])
        assert s.register_version == 1
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "attendance.saved")) == 3
        at_risk = services.at_risk_candidates(10)
        assert [p.id for p in at_risk] == sorted([a, b], key=lambda pid: db.session.get(CandidateProfile, pid).name)
        assert services.at_risk_candidates(10, threshold=3) == []
        # Cancelling the newest session takes its marks out of the count.
        services.cancel_session(_staff(app, people["staff"]), db.session.get(ProgrammeSession, ids[1]))
        db.session.commit()
        absences = dict(db.session.execute(select(CandidateProfile.id, CandidateProfile.consecutive_absences)).all())
        assert (absences[a], absences[b], absences[c]) == (1, 1, 0)


def test_saving_a_register_changes_only_what_changed(app, people, prog):
    cohort_id, (a, b) = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today() - timedelta(days=1))
    prog.mark(sid, {a: "present"})
    with app.app_context():
        before = db.session.scalar(select(Attendance).where(Attendance.profile_id == a))
        marked_at = before.marked_at
        s = db.session.get(ProgrammeSession, sid)
        changed = services.save_register(
            _staff(app, people["admin"]), s, {a: "present", b: "late"}, seen_version=s.register_version
        )
        db.session.commit()
        assert changed == 1
        after = db.session.scalar(select(Attendance).where(Attendance.profile_id == a))
        assert after.marked_at == marked_at


def test_register_conflict_in_the_service_writes_nothing(app, people, prog):
    cohort_id, (a, b) = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today() - timedelta(days=1))
    prog.mark(sid, {a: "present", b: "present"})
    with app.app_context():
        s = db.session.get(ProgrammeSession, sid)
        with pytest.raises(Conflict):
            services.save_register(_staff(app, people["staff"]), s, {a: "absent", b: "absent"}, seen_version=0)
        db.session.rollback()
        marks = db.session.scalars(select(Attendance.status).where(Attendance.session_id == sid)).all()
        assert marks == ["present", "present"]


def test_register_refuses_bad_values_future_and_cancelled_sessions(app, people, prog):
    cohort_id, (a,) = prog.cohort(1)
    past, future = (
        prog.sessions(cohort_id, day=_today() - timedelta(days=1)),
        prog.sessions(cohort_id, day=_today() + timedelta(days=2)),
    )
    with app.app_context():
        staff = _staff(app, people["staff"])
        s = db.session.get(ProgrammeSession, past[0])
        with pytest.raises(DomainError) as caught:
            services.save_register(staff, s, {a: "asleep"}, seen_version=0)
        assert caught.value.field == f"status-{a}"
        with pytest.raises(DomainError, match="opens on the day"):
            services.save_register(staff, db.session.get(ProgrammeSession, future[0]), {a: "present"}, seen_version=0)
        with pytest.raises(Forbidden):
            services.save_register(_staff(app, people["mentor"]), s, {a: "present"}, seen_version=0)
        services.cancel_session(staff, s)
        with pytest.raises(DomainError, match="cancelled"):
            services.save_register(staff, s, {a: "present"}, seen_version=0)
        db.session.rollback()
    assert _count(app, Attendance) == 0


def test_profiles_not_on_the_roster_are_ignored(app, people, prog):
    cohort_id, (a,) = prog.cohort(1)
    _, (outsider,) = prog.cohort(1)
    (sid,) = prog.sessions(cohort_id, day=_today())
    prog.mark(sid, {a: "present", outsider: "absent", 999999: "absent"})
    with app.app_context():
        assert db.session.scalars(select(Attendance.profile_id)).all() == [a]


def test_rates_per_session_candidate_and_cohort(app, people, prog):
    cohort_id, (a, b) = prog.cohort(2)
    s1, s2, s3 = prog.sessions(cohort_id, weeks=3, day=_today() - timedelta(days=21))
    prog.mark(s1, {a: "present", b: "late"})
    prog.mark(s2, {a: "absent", b: "excused"})
    prog.mark(s3, {a: "present", b: "absent"})
    with app.app_context():
        services.cancel_session(_staff(app, people["staff"]), db.session.get(ProgrammeSession, s3))
        db.session.commit()
        summaries = services.session_summaries([s1, s2, s3])
        assert (summaries[s1].present, summaries[s1].late, summaries[s1].rate) == (1, 1, 1.0)
        assert (summaries[s2].marked, summaries[s2].attended, summaries[s2].percent) == (2, 0, "0%")
        rates = services.candidate_rates([a, b])
        assert (rates[a].attended, rates[a].marked) == (1, 2)  # the cancelled session does not count
        assert (rates[b].attended, rates[b].marked, rates[b].percent) == (1, 2, "50%")
        cohort = services.cohort_rate(cohort_id)
        assert (cohort.attended, cohort.marked) == (2, 4)
        assert services.cohort_rates([cohort_id, 999999])[999999].rate is None


def test_sessions_for_cohort_in_a_fixed_number_of_queries(app, people, prog):
    few_cohort, pids = prog.cohort(3)
    many_cohort, many_pids = prog.cohort(3)
    few = prog.sessions(few_cohort, weeks=3, day=_today() - timedelta(days=60))
    many = prog.sessions(many_cohort, weeks=30, day=_today() - timedelta(days=300))
    prog.mark(few[0], dict.fromkeys(pids, "present"))
    prog.mark(many[0], dict.fromkeys(many_pids, "absent"))
    with app.app_context():
        db.session.expunge_all()
        with count_queries(app) as q_few:
            rows = services.sessions_for_cohort(few_cohort)
            [(r.session.title, r.session.cohort.name, r.summary.percent) for r in rows]
        db.session.expunge_all()
        with count_queries(app) as q_many:
            rows = services.sessions_for_cohort(many_cohort)
            [(r.session.title, r.session.cohort.name, r.summary.percent) for r in rows]
        assert len(rows) == 30 and rows[0].summary.absent == 3
        assert len(q_few) == len(q_many) == 2


def test_this_week_sessions(app, people, prog):
    cohort_id, _ = prog.cohort(0)
    monday = date(2026, 10, 26)
    prog.sessions(cohort_id, day=monday - timedelta(days=1), title="Sunday before")
    prog.sessions(cohort_id, day=monday, starts=time(0, 30), ends=time(1, 30), title="Monday early")
    prog.sessions(cohort_id, day=monday + timedelta(days=6), starts=time(22, 0), ends=time(23, 30), title="Sunday late")
    prog.sessions(cohort_id, day=monday + timedelta(days=7), title="Next Monday")
    with app.app_context():
        titles = [r.session.title for r in services.this_week_sessions(monday + timedelta(days=3))]
    assert titles == ["Monday early", "Sunday late"]


def test_at_risk_only_while_holding_a_current_place(app, people, prog):
    cohort_id, (a, b) = prog.cohort(2)
    s1, s2 = prog.sessions(cohort_id, weeks=2, day=_today() - timedelta(days=14))
    prog.mark(s1, {a: "absent", b: "absent"})
    prog.mark(s2, {a: "absent", b: "absent"})
    with app.app_context():
        assert len(services.at_risk_candidates(10)) == 2
        assert len(services.at_risk_candidates(1)) == 1
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.profile_id == b))
        cohorts.withdraw(_staff(app, people["staff"]), enrolment)
        db.session.commit()
        assert [p.id for p in services.at_risk_candidates(10)] == [a]
        profile_b = db.session.get(CandidateProfile, b)
        assert services.is_at_risk(profile_b)  # the count itself stays
        stmt = select(func.count()).select_from(CandidateProfile).where(services.at_risk_condition())
        assert db.session.scalar(stmt) == 1


def test_edit_conflicts_and_notification_rules(app, people, prog):
    cohort_id, _ = prog.cohort(1)
    (past,) = prog.sessions(cohort_id, day=_today() - timedelta(days=3))
    (future,) = prog.sessions(cohort_id, day=_today() + timedelta(days=3))
    with app.app_context():
        staff = _staff(app, people["staff"])
        s = db.session.get(ProgrammeSession, future)
        with pytest.raises(Conflict):
            services.update_session(staff, s, _fields(title="New"), version=s.version - 1)
        change = services.update_session(
            staff, s, _fields(title="Renamed", day=_today() + timedelta(days=3)), version=s.version
        )
        assert not change.notify  # only the title changed
        change = services.update_session(
            staff, s, _fields(title="Renamed", day=_today() + timedelta(days=4)), version=s.version
        )
        assert change.notify
        old = db.session.get(ProgrammeSession, past)
        change = services.update_session(
            staff, old, _fields(place="Another room", day=_today() - timedelta(days=3)), version=old.version
        )
        assert not change.notify  # a fix to a session long over tells nobody
        assert not services.cancel_session(staff, old).notify
        with pytest.raises(DomainError, match="cancelled"):
            services.update_session(staff, old, _fields(), version=old.version)
        with pytest.raises(DomainError, match="already cancelled"):
            services.cancel_session(staff, old)


# ---------------------------------------------------------------------------------------------
# Staff pages


def test_schedule_one_session_through_the_form(app, client, people, prog):
    cohort_id, _ = prog.cohort(0)
    login(client, people["staff"].email)
    page = client.get(f"/sessions/new?cohort={cohort_id}").get_data(as_text=True)
    assert f'<option selected value="{cohort_id}">' in page
    assert 'type="time"' in page and 'type="date"' in page
    response = post(client, "/sessions/new", _schedule_data(cohort_id, online_url="https://meet.example.org/x"))
    assert response.status_code == 302
    with app.app_context():
        s = db.session.scalars(select(ProgrammeSession)).one()
        assert s.starts_at == datetime(2026, 10, 13, 17, 30, tzinfo=UTC)
        assert s.online_url == "https://meet.example.org/x"
        assert s.series_id is None
    assert response.headers["Location"] == f"/sessions/{s.id}"
    detail = _text(client.get(f"/sessions/{s.id}"))
    assert "Media and TV training" in detail and "Tue 13 Oct 2026, 18:30" in detail and "–20:00" in detail


def test_schedule_a_weekly_series_through_the_form(app, client, people, prog):
    cohort_id, _ = prog.cohort(0)
    login(client, people["staff"].email)
    response = post(client, "/sessions/new", _schedule_data(cohort_id, weeks="6"))
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "6 weekly sessions scheduled, from 13 October to 17 November 2026." in page
    assert page.count("18:30</time>") == 6


@pytest.mark.parametrize(
    "over,message",
    [
        ({"title": ""}, "Enter a title for the session."),
        ({"title": "   "}, "Enter a title for the session."),
        ({"title": "x" * 161}, "Field cannot be longer than 160 characters."),
        ({"skill_area": "juggling"}, "Not a valid choice."),
        ({"skill_area": ""}, "Choose a skill area."),
        ({"cohort": ""}, "Choose a cohort."),
        ({"cohort": "999999"}, "Not a valid choice."),
        ({"cohort": "abc"}, "Not a valid choice."),
        ({"day": ""}, "Enter the date of the session"),
        ({"day": "2026-13-45"}, "Enter the date of the session"),
        ({"day": "9999-12-31"}, "Enter a date between 2000 and 2100."),
        ({"starts": ""}, "Enter the start time"),
        ({"starts": "25:99"}, "Enter the start time"),
        ({"ends": "17:00"}, "The session must end after it starts"),
        ({"day": "2026-03-29", "starts": "01:30", "ends": "03:00"}, "does not exist in the UK"),
        ({"day": "2026-10-25", "starts": "01:30", "ends": "03:00"}, "happens twice in the UK"),
        ({"place": "", "online_url": ""}, "Enter a place, an online link, or both."),
        ({"online_url": "http://meet.example.org/x"}, "must start with https://"),
        ({"online_url": "javascript:alert(1)"}, "must start with https://"),
        ({"weeks": "0"}, "Enter a number from 1 to 52."),
        ({"weeks": "53"}, "Enter a number from 1 to 52."),
        ({"weeks": "abc"}, "Not a valid integer value."),
        ({"weeks": "99999999999999999999999"}, "Enter a number from 1 to 52."),
        ({"weeks": ""}, "Enter a number from 1 to 52."),
        ({"notes": "x" * 2001}, "Field cannot be longer than 2000 characters."),
        ({"day": "2100-12-20", "weeks": "3"}, "Enter a date between 2000 and 2100."),
    ],
)
def test_schedule_refuses_bad_input_and_changes_nothing(app, client, people, prog, over, message):
    cohort_id, _ = prog.cohort(0)
    login(client, people["staff"].email)
    response = post(client, "/sessions/new", _schedule_data(cohort_id, **over))
    assert response.status_code == 200
    assert message in _text(response)
    assert "There is a problem" in _text(response)
    assert _count(app, ProgrammeSession) == 0


def test_schedule_refuses_a_closed_cohort(app, client, people, prog):
    cohort_id, _ = prog.cohort(0)
    login(client, people["staff"].email)
    with app.app_context():
        cohorts.close_cohort(_staff(app, people["admin"]), db.session.get(Cohort, cohort_id))
        db.session.commit()
    page = client.get("/sessions/new").get_data(as_text=True)
    assert "no open cohort" in page
    response = post(client, "/sessions/new", _schedule_data(cohort_id))
    assert response.status_code == 200 and "no open cohort" in _text(response)
    assert _count(app, ProgrammeSession) == 0


def test_session_list_filters_sorts_and_summarises(app, client, people, prog):
    first, (a,) = prog.cohort(1, name="Alpha cohort")
    second, _ = prog.cohort(0, name="Beta cohort")
    (past,) = prog.sessions(first, day=_today() - timedelta(days=2), title="Past rebuttal", skill_area="rapid_rebuttal")
    prog.mark(past, {a: "late"})
    prog.sessions(first, day=_today() + timedelta(days=2), title="Upcoming hustings", skill_area="mock_hustings")
    prog.sessions(second, day=_today() + timedelta(days=9), title="Beta canvassing", skill_area="canvassing")
    login(client, people["staff"].email)
    page = _text(client.get("/sessions/"))
    assert "Upcoming hustings" in page and "Beta canvassing" in page and "Past rebuttal" not in page
    assert page.index("Upcoming hustings") < page.index("Beta canvassing")
    page = _text(client.get("/sessions/?when=past"))
    assert "Past rebuttal" in page and "100% (1 of 1 attended)" in _plain(page)
    page = _text(client.get(f"/sessions/?when=all&cohort={second}"))
    assert "Beta canvassing" in page and "Upcoming hustings" not in page
    page = _text(client.get("/sessions/?when=all&skill=mock_hustings"))
    assert "Upcoming hustings" in page and "Beta canvassing" not in page
    page = _text(client.get("/sessions/?when=all&sort=cohort&dir=desc"))
    assert page.index("Beta canvassing") < page.index("Upcoming hustings")
    for junk in ("?when=whenever", "?cohort=abc", "?sort=nope&dir=sideways&page=-4", "?skill=%E2%98%83"):
        assert client.get("/sessions/" + junk).status_code == 200


def test_session_list_query_count_does_not_grow(app, client, people, prog):
    cohort_id, _ = prog.cohort(0)
    login(client, people["staff"].email)
    prog.sessions(cohort_id, weeks=3, day=_today() + timedelta(days=1))
    with count_queries(app) as few:
        assert client.get("/sessions/?when=all").status_code == 200
    prog.sessions(cohort_id, weeks=30, day=_today() + timedelta(days=2))
    with count_queries(app) as many:
        assert client.get("/sessions/?when=all").status_code == 200
    assert len(few) == len(many)


def test_edit_a_session_tells_the_cohort_after_the_commit(app, client, people, prog, outbox):
    cohort_id, pids = prog.cohort(3)
    day = _today() + timedelta(days=10)
    (sid,) = prog.sessions(cohort_id, day=day)
    with app.app_context():  # a deactivated candidate is not e-mailed
        profile = db.session.get(CandidateProfile, pids[0])
        profile.user.active = False
        db.session.commit()
    login(client, people["staff"].email)
    page = client.get(f"/sessions/{sid}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    assert 'value="18:30"' in page and f'value="{day.isoformat()}"' in page
    data = _schedule_data(cohort_id, day=day.isoformat(), starts="19:00", ends="21:00", place="Brixton Library")
    data.update(version="1", notes="Bring the projector")
    response = post(client, f"/sessions/{sid}/edit", data)
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "2 candidates were told by e-mail." in page
    messages = outbox()
    assert len(messages) == 2
    assert {m["To"] for m in messages} == {"c1-1@example.org", "c1-2@example.org"}
    body = messages[0].get_content()
    assert messages[0]["Subject"] == "Changed: Media and TV training"
    assert "19:00 to 21:00 (UK time)" in body and "Where: Brixton Library" in body
    assert "It was:" in body and "18:30 to 20:00" in body
    assert "projector" not in body and "Jo Trainer" not in body and "Programme cohort" not in body
    with app.app_context():
        s = db.session.get(ProgrammeSession, sid)
        assert (s.version, s.place, s.notes) == (2, "Brixton Library", "Bring the projector")


def test_edit_only_the_title_sends_no_mail(app, client, people, prog, outbox):
    cohort_id, _ = prog.cohort(2)
    day = _today() + timedelta(days=10)
    (sid,) = prog.sessions(cohort_id, day=day)
    login(client, people["staff"].email)
    data = _schedule_data(cohort_id, day=day.isoformat(), place="Party HQ, 4 Matthew Parker Street, London")
    data.update(version="1", title="A better title")
    assert post(client, f"/sessions/{sid}/edit", data).status_code == 302
    assert outbox() == []


def test_two_people_editing_one_session_do_not_overwrite(app, people, prog, make):
    cohort_id, _ = prog.cohort(0)
    day = (_today() + timedelta(days=10)).isoformat()
    (sid,) = prog.sessions(cohort_id, day=_today() + timedelta(days=10))
    a, b = app.test_client(), app.test_client()
    login(a, people["staff"].email)
    login(b, people["admin"].email)
    ta, tb = csrf_token(a, f"/sessions/{sid}/edit"), csrf_token(b, f"/sessions/{sid}/edit")
    first = a.post(
        f"/sessions/{sid}/edit",
        data={**_schedule_data(cohort_id, day=day, title="From A"), "version": "1", "csrf_token": ta},
    )
    assert first.status_code == 302
    second = b.post(
        f"/sessions/{sid}/edit",
        data={**_schedule_data(cohort_id, day=day, title="From B"), "version": "1", "csrf_token": tb},
    )
    assert second.status_code == 409
    body = _text(second)
    assert "Somebody else changed this session" in body and 'value="From A"' in body
    with app.app_context():
        assert db.session.get(ProgrammeSession, sid).title == "From A"


@pytest.mark.parametrize(
    "over,message,status",
    [
        ({"title": ""}, "Enter a title for the session.", 200),
        ({"ends": "10:00"}, "The session must end after it starts", 200),
        ({"online_url": "ftp://x.example.org"}, "must start with https://", 200),
        ({"version": "abc"}, "Somebody else changed this session", 409),
        ({"version": ""}, "Somebody else changed this session", 409),
    ],
)
def test_edit_refuses_bad_input_and_changes_nothing(app, client, people, prog, outbox, over, message, status):
    cohort_id, _ = prog.cohort(1)
    day = _today() + timedelta(days=10)
    (sid,) = prog.sessions(cohort_id, day=day)
    login(client, people["staff"].email)
    data = {**_schedule_data(cohort_id, day=day.isoformat(), place="Elsewhere"), "version": "1", **over}
    response = post(client, f"/sessions/{sid}/edit", data)
    assert response.status_code == status
    assert message in _text(response)
    with app.app_context():
        s = db.session.get(ProgrammeSession, sid)
        assert (s.version, s.place) == (1, "Party HQ, 4 Matthew Parker Street, London")
    assert outbox() == []


def test_cancel_a_session_tells_the_cohort(app, client, people, prog, outbox):
    cohort_id, _ = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today() + timedelta(days=5), online_url="https://meet.example.org/x")
    login(client, people["staff"].email)
    page = client.get(f"/sessions/{sid}").get_data(as_text=True)
    assert 'data-confirm="Cancel Media and TV training?' in page
    response = post(client, f"/sessions/{sid}/cancel")
    assert response.status_code == 302
    page = _text(client.get(f"/sessions/{sid}"))
    assert "Session cancelled." in page and "2 candidates were told by e-mail." in page
    assert "This session was cancelled on" in page
    assert f"/sessions/{sid}/edit" not in page and "Cancel this session" not in page
    messages = outbox()
    assert len(messages) == 2 and messages[0]["Subject"] == "Cancelled: Media and TV training"
    assert "Online: https://meet.example.org/x" in messages[0].get_content()
    # Again: refused, nothing more sent.
    page = _text(client.get(post(client, f"/sessions/{sid}/cancel").headers["Location"]))
    assert "already cancelled" in page
    assert len(outbox()) == 2
    # A cancelled session cannot be edited.
    response = client.get(f"/sessions/{sid}/edit")
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session.cancelled")).one()
        assert event.object_id == str(sid)


def test_a_mail_failure_keeps_the_change_and_warns(app, client, people, prog, monkeypatch, caplog):
    from d2w.core import mail

    def broken(*args, **kwargs):
        raise mail.MailError("could not send e-mail: ConnectionRefusedError")

    cohort_id, _ = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today() + timedelta(days=5))
    login(client, people["staff"].email)
    monkeypatch.setattr(mail, "send", broken)
    response = post(client, f"/sessions/{sid}/cancel")
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "is saved, but 2 of 2 e-mails to the cohort could not be sent" in page
    with app.app_context():
        assert db.session.get(ProgrammeSession, sid).is_cancelled
    assert "could not send the session_cancelled.txt e-mail" in caplog.text
    assert "@example.org" not in caplog.text


def test_posts_without_csrf_are_refused(app, client, people, prog):
    cohort_id, _ = prog.cohort(1)
    (sid,) = prog.sessions(cohort_id, day=_today())
    login(client, people["staff"].email)
    assert client.post(f"/sessions/{sid}/cancel").status_code == 400
    assert client.post(f"/sessions/{sid}/register", data={"register_version": "0"}).status_code == 400
    with app.app_context():
        assert not db.session.get(ProgrammeSession, sid).is_cancelled


# ---------------------------------------------------------------------------------------------
# The register


def test_register_page_is_accessible_markup_and_saves(app, client, people, prog):
    cohort_id, (a, b, c) = prog.cohort(3)
    (sid,) = prog.sessions(cohort_id, day=_today() - timedelta(days=1))
    login(client, people["staff"].email)
    page = client.get(f"/sessions/{sid}/register").get_data(as_text=True)
    assert page.count("<fieldset") == 3 and page.count("<legend>") == 3
    assert f'<input type="radio" id="status-{a}-present" name="status-{a}" value="present">' in page
    assert f'<label for="status-{a}-present">Present</label>' in page
    assert 'name="register_version" type="hidden" value="0"' in page
    token = csrf_token(client, f"/sessions/{sid}/register")
    response = client.post(
        f"/sessions/{sid}/register",
        data={"csrf_token": token, "register_version": "0", f"status-{a}": "present", f"status-{b}": "absent"},
    )
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "Register saved (2 marks changed)." in page
    assert "50% attended (1 of 2 marked)" in page
    page = client.get(f"/sessions/{sid}/register").get_data(as_text=True)
    assert f'name="status-{a}" value="present" checked' in page
    assert 'name="register_version" type="hidden" value="1"' in page


def test_two_saves_of_one_register_the_second_gets_a_conflict(app, people, prog):
    cohort_id, (a, b) = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today())
    first, second = app.test_client(), app.test_client()
    login(first, people["staff"].email)
    login(second, people["admin"].email)
    t1 = csrf_token(first, f"/sessions/{sid}/register")
    t2 = csrf_token(second, f"/sessions/{sid}/register")
    r1 = first.post(
        f"/sessions/{sid}/register",
        data={"csrf_token": t1, "register_version": "0", f"status-{a}": "present", f"status-{b}": "late"},
    )
    assert r1.status_code == 302
    r2 = second.post(
        f"/sessions/{sid}/register",
        data={"csrf_token": t2, "register_version": "0", f"status-{a}": "absent", f"status-{b}": "late"},
    )
    assert r2.status_code == 409
    body = _text(r2)
    assert "Somebody else saved this register" in body
    assert f'name="status-{a}" value="present" checked' in body  # the current saved state
    assert 'name="register_version" type="hidden" value="1"' in body
    assert "Your marks that were not saved" in body
    assert "<td>Absent</td><td>Present</td>" in body
    with app.app_context():
        marks = dict(db.session.execute(select(Attendance.profile_id, Attendance.status)).all())
        assert marks == {a: "present", b: "late"}
        assert db.session.get(ProgrammeSession, sid).register_version == 1
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "attendance.saved")) == 1
    # Saving again from the fresh page works.
    r3 = second.post(
        f"/sessions/{sid}/register",
        data={"csrf_token": t2, "register_version": "1", f"status-{a}": "absent"},
    )
    assert r3.status_code == 302


def test_two_registers_saved_at_the_same_moment(app, people, prog):
    """Two transactions at once: the second waits for the first's lock, then finds the register
    changed and is refused. Runs on SQLite and PostgreSQL."""
    cohort_id, (a,) = prog.cohort(1)
    (sid,) = prog.sessions(cohort_id, day=_today())
    claimed = threading.Event()
    outcome: dict[str, str] = {}

    def first():
        with app.app_context():
            staff = _staff(app, people["staff"])
            s = db.session.get(ProgrammeSession, sid)
            services.save_register(staff, s, {a: "present"}, seen_version=0)
            claimed.set()
            time_module.sleep(0.4)  # hold the claim while the second tries
            db.session.commit()
            outcome["first"] = "saved"

    def second():
        claimed.wait(5)
        with app.app_context():
            admin = _staff(app, people["admin"])
            s = db.session.get(ProgrammeSession, sid)
            try:
                services.save_register(admin, s, {a: "absent"}, seen_version=0)
                db.session.commit()
                outcome["second"] = "saved"
            except Conflict:
                db.session.rollback()
                outcome["second"] = "conflict"

    run_at_once(first, second, timeout=15)
    assert outcome == {"first": "saved", "second": "conflict"}
    with app.app_context():
        assert db.session.scalars(select(Attendance.status)).all() == ["present"]


@pytest.mark.parametrize(
    "extra",
    [
        {"status-{a}": "asleep"},
        {"status-{a}": "present", "status-{b}": "x" * 5000},
    ],
)
def test_register_refuses_bad_marks_and_writes_nothing(app, client, people, prog, extra):
    cohort_id, (a, b) = prog.cohort(2)
    (sid,) = prog.sessions(cohort_id, day=_today())
    login(client, people["staff"].email)
    token = csrf_token(client, f"/sessions/{sid}/register")
    data = {k.format(a=a, b=b): v for k, v in extra.items()}
    response = client.post(f"/sessions/{sid}/register", data={"csrf_token": token, "register_version": "0", **data})
    assert response.status_code == 200
    body = _text(response)
    assert "Choose present, late, excused or absent." in body
    assert 'aria-describedby="status-' in body and "The register was not saved" in body
    assert 'name="register_version" type="hidden" value="0"' in body
    assert _count(app, Attendance) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"register_version": "abc", "status-{a}": "present"},
        {"register_version": "", "status-{a}": "present"},
        {"register_version": "99", "status-{a}": "present"},
        {"register_version": "0", "status-abc": "present", "status-": "late", "status-99999999999999999999": "late"},
        {"register_version": "0", "status-" + "9" * 5000: "present"},
    ],
)
def test_register_junk_never_fails_and_never_writes_wrongly(app, client, people, prog, data):
    cohort_id, (a,) = prog.cohort(1)
    (sid,) = prog.sessions(cohort_id, day=_today())
    login(client, people["staff"].email)
    token = csrf_token(client, f"/sessions/{sid}/register")
    payload = {k.format(a=a): v for k, v in data.items()}
    response = client.post(f"/sessions/{sid}/register", data={"csrf_token": token, **payload})
    assert response.status_code in (302, 409)
    with app.app_context():
        assert db.session.scalars(select(Attendance.status)).all() == []


def test_register_of_a_future_or_cancelled_session_is_closed(app, client, people, prog):
    cohort_id, (a,) = prog.cohort(1)
    (future,) = prog.sessions(cohort_id, day=_today() + timedelta(days=3))
    (cancelled,) = prog.sessions(cohort_id, day=_today() - timedelta(days=3))
    login(client, people["staff"].email)
    page = _text(client.get(f"/sessions/{future}/register"))
    assert "The register opens on the day of the session" in page and "<fieldset" not in page
    assert "Take the register" not in _text(client.get(f"/sessions/{future}"))
    token = csrf_token(client, "/account/")
    response = client.post(
        f"/sessions/{future}/register", data={"csrf_token": token, "register_version": "0", f"status-{a}": "present"}
    )
    assert response.status_code == 200 and "opens on the day" in _text(response)
    post(client, f"/sessions/{cancelled}/cancel")
    assert "its register is closed" in _text(client.get(f"/sessions/{cancelled}/register"))
    assert _count(app, Attendance) == 0


def _register_queries(app, client, sid) -> int:
    with count_queries(app) as statements:
        response = client.get(f"/sessions/{sid}/register")
        assert response.status_code == 200
    return len(statements)


def test_register_page_query_count_does_not_grow(app, client, people, prog):
    small, small_pids = prog.cohort(3)
    large, large_pids = prog.cohort(30)
    (s_small,) = prog.sessions(small, day=_today())
    (s_large,) = prog.sessions(large, day=_today())
    prog.mark(s_small, dict.fromkeys(small_pids, "absent"))
    prog.mark(s_large, dict.fromkeys(large_pids, "absent"))
    login(client, people["staff"].email)
    assert _register_queries(app, client, s_small) == _register_queries(app, client, s_large)
    with count_queries(app) as q_small:
        client.get(f"/sessions/{s_small}")
    with count_queries(app) as q_large:
        client.get(f"/sessions/{s_large}")
    assert len(q_small) == len(q_large)


def test_saving_a_register_runs_a_fixed_number_of_queries(app, client, people, prog):
    def save(pids, sid):
        token = csrf_token(client, f"/sessions/{sid}/register")
        data = {"csrf_token": token, "register_version": "0", **{f"status-{p}": "absent" for p in pids}}
        with count_queries(app) as statements:
            assert client.post(f"/sessions/{sid}/register", data=data).status_code == 302
        return statements

    small, small_pids = prog.cohort(3)
    large, large_pids = prog.cohort(30)
    (s_small,) = prog.sessions(small, day=_today())
    (s_large,) = prog.sessions(large, day=_today())
    login(client, people["staff"].email)
    few, many = save(small_pids, s_small), save(large_pids, s_large)

    # Inserting the marks is one statement per row (executemany on PostgreSQL); nothing else grows.
    def not_inserts(statements):
        return [s for s in statements if not s.lstrip().upper().startswith("INSERT INTO ATTENDANCES")]

    assert len(not_inserts(few)) == len(not_inserts(many))


# ---------------------------------------------------------------------------------------------
# The candidate


def test_candidate_sees_only_their_own_schedule_and_history(app, client, people, prog):
    mine, (other, me) = prog.cohort(1, extra=[people["candidate"]])
    theirs, _ = prog.cohort(1)
    old1, old2, old3 = prog.sessions(mine, weeks=3, day=_today() - timedelta(days=21), title="Past session")
    (soon,) = prog.sessions(mine, day=_today() + timedelta(days=3), title="Coming hustings")
    (gone,) = prog.sessions(mine, day=_today() + timedelta(days=4), title="Called-off canvass")
    (foreign,) = prog.sessions(theirs, day=_today() + timedelta(days=3), title="Another cohort's session")
    prog.mark(old1, {other: "present", me: "absent"})
    prog.mark(old2, {other: "absent", me: "late"})
    with app.app_context():
        services.cancel_session(_staff(app, people["staff"]), db.session.get(ProgrammeSession, gone))
        db.session.commit()
    login(client, people["candidate"].email)
    page = _text(client.get("/sessions/mine"))
    assert "Coming hustings" in page and "Called-off canvass" in page
    assert page.count("Cancelled") >= 1 and "Cancelled: please do not go." in page
    assert "Another cohort's session" not in page
    assert "You attended 1 of 2 sessions marked so far (50%)" in _plain(page)
    assert page.count("Past session") == 3 and "Not recorded" in page
    assert "Cand " not in page  # nobody else's name
    assert client.get(f"/sessions/{soon}").status_code == 200
    own = _plain(client.get(f"/sessions/{old2}").get_data(as_text=True))
    assert "Your attendance Late" in own and "Absent" not in own
    assert "Jo Trainer" in own and "Cand " not in own and "Take the register" not in own
    assert client.get(f"/sessions/{foreign}").status_code == 404
    assert client.get("/sessions/999999").status_code == 404
    for path in (f"/sessions/{soon}/edit", f"/sessions/{soon}/register", "/sessions/", "/sessions/new"):
        assert client.get(path).status_code == 403, path


def test_candidate_keeps_history_of_a_cohort_they_left(app, client, people, prog):
    cohort_id, (me,) = prog.cohort(0, extra=[people["candidate"]])
    (old,) = prog.sessions(cohort_id, day=_today() - timedelta(days=7), title="Before I left")
    (later,) = prog.sessions(cohort_id, day=_today() + timedelta(days=7), title="After I left")
    prog.mark(old, {me: "present"})
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.profile_id == me))
        cohorts.withdraw(_staff(app, people["staff"]), enrolment)
        db.session.commit()
    login(client, people["candidate"].email)
    page = _text(client.get("/sessions/mine"))
    assert "Before I left" in page and "After I left" not in page
    assert client.get(f"/sessions/{old}").status_code == 200
    assert client.get(f"/sessions/{later}").status_code == 404


def test_mentors_get_403_on_every_programme_page(app, client, people, prog):
    cohort_id, _ = prog.cohort(1)
    (sid,) = prog.sessions(cohort_id, day=_today())
    login(client, people["mentor"].email)
    for path in (
        "/sessions/",
        "/sessions/new",
        f"/sessions/{sid}",
        f"/sessions/{sid}/edit",
        f"/sessions/{sid}/register",
        "/sessions/mine",
    ):
        assert client.get(path).status_code == 403, path
    for path in (f"/sessions/{sid}/cancel", "/sessions/mine/calendar/reset"):
        assert post(client, path).status_code == 403, path


def test_staff_get_404_for_unknown_sessions(client, people):
    login(client, people["staff"].email)
    for sid in ("999999", "2147483648", "99999999999999999999", "0", "-1"):
        for path in (f"/sessions/{sid}", f"/sessions/{sid}/edit", f"/sessions/{sid}/register"):
            assert client.get(path).status_code == 404, path
        assert post(client, f"/sessions/{sid}/cancel").status_code == 404


def _mine_queries(app, client) -> int:
    with count_queries(app) as statements:
        assert client.get("/sessions/mine").status_code == 200
    return len(statements)


def test_candidate_page_query_count_does_not_grow(app, client, people, prog):
    cohort_id, (me,) = prog.cohort(0, extra=[people["candidate"]])
    login(client, people["candidate"].email)
    past = prog.sessions(cohort_id, weeks=3, day=_today() - timedelta(days=30))
    prog.sessions(cohort_id, weeks=3, day=_today() + timedelta(days=1))
    prog.mark(past[0], {me: "present"})
    client.get("/sessions/mine")  # makes the calendar token
    few = _mine_queries(app, client)
    past = prog.sessions(cohort_id, weeks=30, day=_today() - timedelta(days=300))
    prog.sessions(cohort_id, weeks=30, day=_today() + timedelta(days=2))
    for sid in past[:5]:
        prog.mark(sid, {me: "late"})
    assert _mine_queries(app, client) == few


def test_history_is_paginated(app, client, people, prog):
    cohort_id, _ = prog.cohort(0, extra=[people["candidate"]])
    prog.sessions(cohort_id, weeks=30, day=_today() - timedelta(days=400), title="Old session")
    login(client, people["candidate"].email)
    page = _text(client.get("/sessions/mine"))
    assert page.count("Old session</a>") == 25 and "Showing 1–25 of 30" in page
    page = _text(client.get("/sessions/mine?page=2"))
    assert page.count("Old session</a>") == 5


# ---------------------------------------------------------------------------------------------
# The calendar feed


def _feed_path(app, client) -> str:
    page = client.get("/sessions/mine").get_data(as_text=True)
    marker = 'href="/sessions/calendar/'
    start = page.index(marker) + len('href="')
    return page[start : page.index('"', start)]


def test_calendar_feed_parses_and_holds_only_what_a_calendar_needs(app, client, people, prog):
    mine, (other, me) = prog.cohort(1, extra=[people["candidate"]])
    theirs, _ = prog.cohort(0)
    sessions = prog.sessions(
        mine,
        weeks=2,
        day=date(2026, 10, 20),
        title="Rapid rebuttal",
        skill_area="rapid_rebuttal",
        online_url="https://meet.example.org/rr",
        notes="Staff-only note",
    )
    prog.sessions(theirs, day=date(2026, 10, 21), title="Not for me")
    with app.app_context():
        services.cancel_session(_staff(app, people["staff"]), db.session.get(ProgrammeSession, sessions[1]))
        db.session.commit()
    login(client, people["candidate"].email)
    path = _feed_path(app, client)
    anon = app.test_client()
    response = anon.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    for secret in (
        "Staff-only note",
        "Jo Trainer",
        "Programme cohort",
        "Cand ",
        people["candidate"].name,
        "Not for me",
    ):
        assert secret not in body, secret
    cal = Calendar.from_ical(response.get_data())
    events = sorted(cal.walk("VEVENT"), key=lambda e: e["dtstart"].dt)
    assert [str(e["summary"]) for e in events] == ["Rapid rebuttal", "Cancelled: Rapid rebuttal"]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert events[0]["dtstart"].dt == datetime(2026, 10, 20, 17, 30, tzinfo=UTC)  # 18:30 BST
    assert events[1]["dtstart"].dt == datetime(2026, 10, 27, 18, 30, tzinfo=UTC)  # 18:30 GMT
    assert str(events[0]["url"]) == "https://meet.example.org/rr"
    assert str(events[0]["location"]) == "Party HQ, 4 Matthew Parker Street, London"
    assert str(events[0]["uid"]) == f"programme-session-{sessions[0]}@localhost"
    assert events[1]["sequence"] == 2  # cancelled: a newer version of the event
    # The UID is stable: the same on the next fetch.
    again = Calendar.from_ical(anon.get(path).get_data())
    assert {str(e["uid"]) for e in again.walk("VEVENT")} == {str(e["uid"]) for e in events}


def test_calendar_token_reset_retires_the_old_address(app, client, people, prog):
    prog.cohort(0, extra=[people["candidate"]])
    login(client, people["candidate"].email)
    old = _feed_path(app, client)
    assert client.get(old).status_code == 200
    assert _feed_path(app, client) == old  # stable until reset
    response = post(client, "/sessions/mine/calendar/reset")
    assert response.status_code == 302
    page = _text(client.get("/sessions/mine"))
    assert "the old one no longer works" in page
    new = _feed_path(app, client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    with app.app_context():
        token = db.session.scalar(
            select(CandidateProfile.calendar_token).where(CandidateProfile.user_id == people["candidate"].id)
        )
        assert len(token) >= 43 and new.endswith(f"/{token}.ics")
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "calendar.token_reset")) == 1


@pytest.mark.parametrize(
    "token",
    ["x", "not-a-real-token-but-long-enough-to-look-like-one", "a" * 65, "%00" * 30, "..%2F..%2Fetc", "é" * 30],
)
def test_unknown_calendar_tokens_are_404(client, token):
    assert client.get(f"/sessions/calendar/{token}.ics").status_code == 404


def test_feed_of_a_deactivated_candidate_is_404(app, client, people, prog):
    prog.cohort(0, extra=[people["candidate"]])
    login(client, people["candidate"].email)
    path = _feed_path(app, client)
    with app.app_context():
        db.session.get(User, people["candidate"].id).active = False
        db.session.commit()
    assert app.test_client().get(path).status_code == 404


def test_calendar_token_reset_is_only_for_the_candidate(app, people):
    with app.app_context():
        profile = db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == people["candidate"].id))
        with pytest.raises(Forbidden):
            services.reset_calendar_token(_staff(app, people["staff"]), profile)
        with pytest.raises(Forbidden):
            services.reset_calendar_token(_staff(app, people["candidate2"]), profile)


# ---------------------------------------------------------------------------------------------
# The role matrix, checked the same way as test_access.test_role_matrix


# (test_access.test_role_matrix runs PROGRAMME_MATRIX with every other route.)


def test_every_programme_endpoint_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("programme.")}
    assert endpoints == set(PROGRAMME_MATRIX)


def test_matrix_placeholders_make_their_own_cohort_when_none_is_given(app, people):
    ids = programme_placeholders(app, people)
    client = app.test_client()
    login(client, people["candidate2"].email)
    assert client.get(f"/sessions/{ids['session']}").status_code == 200
    assert client.get(f"/sessions/calendar/{ids['calendar_token']}.ics").status_code == 200


def test_upcoming_sessions_can_be_limited(app, people, prog):
    cohort_id, (me,) = prog.cohort(1)
    prog.sessions(cohort_id, weeks=5, day=_today() + timedelta(days=1))
    with app.app_context():
        profile = db.session.get(CandidateProfile, me)
        soonest = services.upcoming_for(profile, limit=3)
        assert len(soonest) == 3 and soonest == services.upcoming_for(profile)[:3]
