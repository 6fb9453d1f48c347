"""Programme and application pages at scale (issue #8): the column queries and folded queries
behind the sessions list, a session, its register, the candidate's schedule, an application and
the application lists give what the ORM paths they replaced gave, in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import and_, func, or_, select

from d2w.applications import services as applications
from d2w.applications.models import Application, ApplicationEvent
from d2w.auth.models import User
from d2w.candidates import services as candidates
from d2w.candidates.models import CandidateProfile
from d2w.cohorts.models import Enrolment
from d2w.cohorts.services import roster
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.core.pagination import Sort
from d2w.programme import policy, services
from d2w.programme.models import Attendance, ProgrammeSession
from d2w.programme.skills import ATTENDANCE_LABELS
from d2w.seatfit.models import SeatFitCheck
from d2w.seats.models import Seat
from tests.conftest import csrf_token, login, page_queries
from tests.test_applications import BRISTOL_CENTRAL, HORNSEY, _add_check, _profile, _seat, do_move, start
from tests.test_programme import _text, _today, prog  # noqa: F401 - prog is a fixture

STATUSES = ("present", "late", "excused", "absent")


def _leave_cohort(app, profile_id: int, cohort_id: int) -> None:
    with app.app_context():
        enrolment = db.session.scalar(
            select(Enrolment).where(Enrolment.profile_id == profile_id, Enrolment.cohort_id == cohort_id)
        )
        enrolment.status = "withdrawn"
        db.session.commit()


def _varied_session(app, prog, *, n=9):  # noqa: F811
    """A session of today with every kind of mark, one unmarked candidate, and two candidates who
    left the cohort after being marked (one of them marked absent, one late)."""
    cohort_id, pids = prog.cohort(n)
    (sid,) = prog.sessions(cohort_id, day=_today())
    marks = {pid: STATUSES[i % 4] for i, pid in enumerate(pids[:-1])}  # the last one stays unmarked
    prog.mark(sid, marks)
    _leave_cohort(app, pids[0], cohort_id)  # present, then left
    _leave_cohort(app, pids[3], cohort_id)  # absent, then left
    return cohort_id, sid, pids


# ---------------------------------------------------------------------------------------------
# A session's page and its register


def _old_session_view(s):
    """What the session's page showed before: the roster through the ORM, each mark, the marks of
    those who left (by name) and every mark counted."""
    marks = dict(
        db.session.execute(select(Attendance.profile_id, Attendance.status).where(Attendance.session_id == s.id)).all()
    )
    rows = [(p.id, p.user.name, marks.get(p.id), p.consecutive_absences) for _, p in roster(s.cohort_id)]
    on_roster = {r[0] for r in rows}
    departed = sorted(
        (
            (db.session.get(CandidateProfile, pid).user.name, ATTENDANCE_LABELS[status])
            for pid, status in marks.items()
            if pid not in on_roster
        ),
        key=lambda t: t[0].lower(),
    )
    counts = {status: sum(1 for v in marks.values() if v == status) for status in STATUSES}
    return rows, departed, counts


def test_session_roster_equals_the_roster_marks_departed_and_summary(app, people, prog):  # noqa: F811
    _, sid, _ = _varied_session(app, prog)
    with app.app_context():
        s = db.session.get(ProgrammeSession, sid)
        rows, departed, counts = _old_session_view(s)
        got = services.session_roster(s)
        assert [(r.profile_id, r.name, r.saved, r.consecutive_absences) for r in got.rows] == rows
        assert [(r.profile_id, r.name, r.saved, r.consecutive_absences) for r in services.register_rows(s)] == rows
        assert got.departed == departed and len(departed) == 2
        assert {status: getattr(got.summary, status) for status in STATUSES} == counts
        assert got.summary.marked == sum(counts.values()) == 8
        assert got.departed == services.departed_marks(s)
        old = services.session_summaries([s.id])[s.id]
        assert (old.present, old.late, old.excused, old.absent) == tuple(counts[st] for st in STATUSES)


def test_session_page_is_two_queries_whatever_the_roster(app, client, people, prog):  # noqa: F811
    _, small, _ = _varied_session(app, prog, n=5)
    _, large, _ = _varied_session(app, prog, n=40)
    login(client, people["staff"].email)
    few = page_queries(app, client, f"/sessions/{small}")
    many = page_queries(app, client, f"/sessions/{large}")
    # the session (through the policy), then the roster with its marks and (as somebody marked has
    # left) the departed, in one query
    assert len(few) == len(many) == 2, many
    page = _text(client.get(f"/sessions/{small}"))
    assert "Marked, but no longer in the cohort" in page
    assert page.count("<li>Cand ") == 2 and "Present: <strong>" in page


def test_register_radios_show_each_saved_or_chosen_mark(app, client, people, prog):  # noqa: F811
    _, sid, pids = _varied_session(app, prog, n=6)
    login(client, people["staff"].email)
    assert len(page_queries(app, client, f"/sessions/{sid}/register")) == 2
    page = client.get(f"/sessions/{sid}/register").get_data(as_text=True)
    with app.app_context():
        s = db.session.get(ProgrammeSession, sid)
        rows = services.register_rows(s)
    assert page.count('type="radio"') == 4 * len(rows)
    for row in rows:
        name = f"status-{row.profile_id}"
        radios = re.findall(rf'<input type="radio" id="{name}-(\w+)" name="{name}" value="(\w+)"( checked)?>', page)
        assert [(i, v) for i, v, _ in radios] == [(v, v) for v in STATUSES]
        assert [v for _, v, checked in radios if checked] == ([row.saved] if row.saved else [])
        for value in STATUSES:
            assert f'<label for="{name}-{value}">{ATTENDANCE_LABELS[value]}</label>' in page
    # A refused save shows what was chosen, and the error at its candidate.
    token = csrf_token(client, f"/sessions/{sid}/register")
    unmarked = next(r.profile_id for r in rows if r.saved is None)
    marked = next(r for r in rows if r.saved == "late")
    refused = client.post(
        f"/sessions/{sid}/register",
        data={
            "csrf_token": token,
            "register_version": str(1),
            f"status-{unmarked}": "excused",
            f"status-{marked.profile_id}": "bogus",
        },
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and f'aria-describedby="status-{marked.profile_id}-error"' in body
    assert f'id="status-{unmarked}-excused" name="status-{unmarked}" value="excused" checked>' in body
    assert f'id="status-{marked.profile_id}-late" name="status-{marked.profile_id}" value="late" checked>' in body
    assert body.count(" checked>") == sum(1 for r in rows if r.saved) + 1


# ---------------------------------------------------------------------------------------------
# The sessions list


def _old_sessions_page(actor, sort: Sort, when="all"):
    stmt = policy.visible_sessions(actor)
    if when == "upcoming":
        stmt = stmt.where(ProgrammeSession.ends_at > utcnow())
    from d2w.cohorts.models import Cohort

    stmt = stmt.join(Cohort, Cohort.id == ProgrammeSession.cohort_id)
    column = services.SESSION_SORTS[sort.key]
    sessions = list(
        db.session.scalars(
            stmt.order_by(column.desc() if sort.descending else column.asc(), ProgrammeSession.id).limit(25)
        )
    )
    summaries = services.session_summaries(s.id for s in sessions)
    return [
        (
            s.id,
            s.title,
            s.skill_label,
            s.starts_at,
            s.ends_at,
            s.place,
            s.online_url,
            s.is_cancelled,
            s.cohort.name,
            (summaries[s.id].present, summaries[s.id].late, summaries[s.id].excused, summaries[s.id].absent),
        )
        for s in sessions
    ]


def test_sessions_list_rows_equal_the_orm_sessions_and_their_marks(app, client, people, prog):  # noqa: F811
    first, pids = prog.cohort(4, name="Alpha cohort")
    second, _ = prog.cohort(0, name="Beta cohort")
    past = prog.sessions(first, weeks=3, day=_today() - timedelta(days=21), title="Alpha past")
    prog.sessions(
        second, weeks=2, day=_today() + timedelta(days=2), title="Beta next", online_url="https://meet.example.org/x"
    )
    prog.mark(past[0], {pids[0]: "present", pids[1]: "late", pids[2]: "absent"})
    prog.mark(past[1], {pids[3]: "excused"})
    login(client, people["staff"].email)
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        services.cancel_session(staff, db.session.get(ProgrammeSession, past[2]))
        db.session.commit()
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        for key in ("starts", "title", "cohort"):
            for descending in (False, True):
                sort = Sort(key, descending)
                page = services.session_page(
                    staff, when="all", cohort_id=None, skill=None, sort=sort, page=1, per_page=25
                )
                got = [
                    (
                        r.session.id,
                        r.session.title,
                        r.session.skill_label,
                        r.session.starts_at,
                        r.session.ends_at,
                        r.session.place,
                        r.session.online_url,
                        r.session.is_cancelled,
                        r.session.cohort_name,
                        (r.summary.present, r.summary.late, r.summary.excused, r.summary.absent),
                    )
                    for r in page.items
                ]
                assert got == _old_sessions_page(staff, sort), sort
                assert page.total == 5
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False  # the page as drawn
    few = page_queries(app, client, "/sessions/?when=all")
    prog.sessions(second, weeks=30, day=_today() - timedelta(days=300))
    many = page_queries(app, client, "/sessions/?when=all")
    # the cohorts for the filter, the count, the page of columns and the page's marks
    assert len(few) == len(many) == 4, many
    assert not [q for q in many if "FROM candidate_profiles" in q]


# ---------------------------------------------------------------------------------------------
# The candidate's schedule


def _old_history(profile_id: int, page: int, per_page: int):
    now = utcnow()
    mine = and_(
        ProgrammeSession.starts_at <= now,
        or_(
            ProgrammeSession.cohort_id.in_(policy.held_cohort_ids(profile_id)),
            ProgrammeSession.id.in_(select(Attendance.session_id).where(Attendance.profile_id == profile_id)),
        ),
    )
    total = db.session.scalar(select(func.count()).select_from(ProgrammeSession).where(mine))
    page = min(page, max(1, -(-total // per_page)))
    rows = db.session.execute(
        select(ProgrammeSession, Attendance.status)
        .outerjoin(Attendance, and_(Attendance.session_id == ProgrammeSession.id, Attendance.profile_id == profile_id))
        .where(mine)
        .order_by(ProgrammeSession.starts_at.desc(), ProgrammeSession.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return total, page, [(s.id, s.title, s.starts_at, s.ends_at, s.is_cancelled, status) for s, status in rows]


def test_schedule_rows_equal_the_orm_sessions(app, client, people, prog):  # noqa: F811
    held, (me,) = prog.cohort(0, extra=[people["candidate"]])
    left, (_, me_too) = prog.cohort(1, extra=[people["candidate"]])
    other, _ = prog.cohort(1)
    past = prog.sessions(held, weeks=4, day=_today() - timedelta(days=35), title="Held past")
    prog.sessions(
        held,
        weeks=3,
        day=_today() + timedelta(days=1),
        title="Held next",
        place=None,
        online_url="https://meet.example.org/a",
    )
    gone = prog.sessions(left, weeks=2, day=_today() - timedelta(days=20), title="Left past")
    prog.sessions(other, weeks=2, day=_today() - timedelta(days=20), title="Not mine")
    prog.mark(past[0], {me: "late"})
    prog.mark(past[1], {me: "absent"})
    prog.mark(gone[0], {me_too: "present"})
    _leave_cohort(app, me_too, left)
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        services.cancel_session(staff, db.session.get(ProgrammeSession, past[2]))
        db.session.commit()
    with app.app_context():
        profile = db.session.get(CandidateProfile, me)
        for page, per_page in ((1, 3), (2, 3), (3, 3), (9, 3), (1, 25)):
            got = services.history_for(profile, page, per_page)
            total, clamped, rows = _old_history(me, page, per_page)
            assert (got.total, got.page) == (total, clamped) == (5, clamped)
            assert [
                (
                    r.session.id,
                    r.session.title,
                    r.session.starts_at,
                    r.session.ends_at,
                    r.session.is_cancelled,
                    r.status,
                )
                for r in got.items
            ] == rows
        orm = db.session.scalars(
            select(ProgrammeSession)
            .where(ProgrammeSession.cohort_id.in_(policy.held_cohort_ids(me)), ProgrammeSession.ends_at > utcnow())
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        ).all()
        upcoming = services.upcoming_for(profile)
        assert [
            (s.id, s.title, s.starts_at, s.place, s.online_url, s.skill_label, s.is_cancelled) for s in upcoming
        ] == [(s.id, s.title, s.starts_at, s.place, s.online_url, s.skill_label, s.is_cancelled) for s in orm]
        assert len(upcoming) == 3 and services.upcoming_for(profile, limit=2) == upcoming[:2]
        # The schedule page's two queries give what the three lists above give.
        candidate = db.session.get(User, people["candidate"].id)
        for page, per_page in ((1, 3), (2, 3), (9, 3), (1, 25)):
            mine = services.own_schedule(candidate, page, per_page)
            history = services.history_for(profile, page, per_page)
            assert mine.profile_id == me and mine.calendar_token == profile.calendar_token
            assert mine.upcoming == upcoming
            assert (mine.history.page, mine.history.total) == (history.page, history.total)
            assert [(r.session, r.status) for r in mine.history.items] == [(r.session, r.status) for r in history.items]
            assert mine.rate == services.candidate_rate(me) == services.Rate(2, 3)
        assert services.own_schedule(db.session.get(User, people["staff"].id), 1, 25) is None  # no profile
    login(client, people["candidate"].email)
    client.get("/sessions/mine")  # makes the calendar token on first use
    few = page_queries(app, client, "/sessions/mine")
    prog.sessions(held, weeks=30, day=_today() - timedelta(days=250))
    many = page_queries(app, client, "/sessions/mine")
    # the profile's figures (its token, the history's count, the rate), and the sessions
    assert len(few) == len(many) == 2, many


# ---------------------------------------------------------------------------------------------
# Applications


def _declare(app, ref, vote: str) -> None:
    with app.app_context():
        me = db.session.get(User, ref.id)
        candidates.record_sensitive(me, candidates.ensure_profile(me), "eu_ref_vote", vote, consent=True)
        db.session.commit()


def _varied_applications(app, people):
    """Applications of two candidates with no check, an expired check, a what-if check against
    another vote, good and poor checks, an override, and a check recorded on submission."""
    _declare(app, people["candidate"], "leave")
    with app.app_context():
        staff_id = people["staff"].id
        me_id, other_id = _profile(people["candidate"]).id, _profile(people["candidate2"]).id
        seats = list(db.session.scalars(select(Seat).where(Seat.boundary_set == "2024").order_by(Seat.id).limit(6)))
        old = utcnow() - timedelta(days=applications.valid_days() + 1)
        _add_check(me_id, seats[1].id, "good", staff_id, run_at=old)  # expired
        _add_check(me_id, seats[2].id, "good", staff_id, stance="remain")  # a what-if
        _add_check(me_id, seats[3].id, "caution", staff_id, run_at=utcnow() - timedelta(days=2))
        _add_check(me_id, seats[3].id, "poor", staff_id)  # newer: the one that counts
        _add_check(other_id, seats[4].id, "good", staff_id, stance="remain")  # no vote declared: usable
        db.session.commit()
        for seat in seats[:4]:
            applications.create_application(
                db.session.get(User, people["candidate"].id), db.session.get(CandidateProfile, me_id), seat, ""
            )
        applications.create_application(
            db.session.get(User, people["candidate2"].id), db.session.get(CandidateProfile, other_id), seats[4], ""
        )
        db.session.commit()
    ids = {code: start(app, people, code=code) for code in (BRISTOL_CENTRAL, HORNSEY)}
    with app.app_context():
        _add_check(me_id, _seat(BRISTOL_CENTRAL).id, "good", people["staff"].id, run_at=utcnow() - timedelta(days=3))
        _add_check(me_id, _seat(HORNSEY).id, "poor", people["staff"].id)
        db.session.commit()
    do_move(app, people, ids[BRISTOL_CENTRAL], "fit_checked")
    do_move(app, people, ids[BRISTOL_CENTRAL], "submitted")
    with app.app_context():  # a newer check after submission: the list shows the recorded one
        _add_check(me_id, _seat(BRISTOL_CENTRAL).id, "caution", people["staff"].id)
        db.session.commit()
    with app.app_context():
        application = db.session.get(Application, ids[HORNSEY])
        applications.move(
            db.session.get(User, people["candidate"].id), application, "fit_checked", on=applications.today(), version=1
        )
        applications.override(
            db.session.get(User, people["staff"].id), application, "A long shot the region wants contested.", version=2
        )
        db.session.commit()
    return ids


def _old_row(application: Application):
    """The list row as the ORM path worked it out, one application at a time."""
    check = applications.usable_check(application.profile_id, application.seat_id)
    recorded = db.session.get(SeatFitCheck, application.fit_check_id) if application.fit_check_id else None
    since = db.session.scalar(
        select(func.max(ApplicationEvent.on)).where(ApplicationEvent.application_id == application.id)
    )
    profile = db.session.get(CandidateProfile, application.profile_id)
    seat = db.session.get(Seat, application.seat_id)
    return (
        application.id,
        application.status,
        application.override_at,
        seat.name,
        seat.ons_code,
        seat.boundary_set,
        seat.region,
        profile.user.name,
        check.band if check else None,
        recorded.band if recorded else None,
        since,
        check.run_at if check else None,
    )


def test_list_rows_and_the_detail_check_equal_the_orm_path(seat_data, app, people):
    _varied_applications(app, people)
    with app.app_context():
        every = db.session.scalars(select(Application).order_by(Application.id)).all()
        assert len(every) == 7
        rows = applications.rows_of(db.session.execute(applications.list_statement().order_by(Application.id)).all())
        expected = [_old_row(a) for a in every]
        assert [tuple(r) for r in rows] == expected
        bands = {r.band for r in rows}
        assert {None, "good", "poor"} <= bands and any(r.recorded_band for r in rows)
        assert any(r.overridden for r in rows) and any(r.shown_band != r.band for r in rows)
        staff = db.session.get(User, people["staff"].id)
        for a in every:
            shown = applications.shown(staff, a.id)
            assert shown.application is a
            profile = db.session.get(CandidateProfile, a.profile_id)
            owner = db.session.get(User, profile.user_id)
            assert shown.applicant == (profile.id, owner.id, owner.name)
            check = applications.usable_check(a.profile_id, a.seat_id)
            if check is None:
                assert shown.check is None
            else:
                assert shown.check == (check.id, check.band, check.score, check.run_at, check.warnings)
                assert shown.check.warning_list == check.warning_list
            if a.fit_check_id:
                recorded = db.session.get(SeatFitCheck, a.fit_check_id)
                assert shown.recorded == (
                    recorded.id,
                    recorded.band,
                    recorded.score,
                    recorded.run_at,
                    recorded.warnings,
                )
            else:
                assert shown.recorded is None
            overrider = db.session.get(User, a.override_by_id) if a.override_by_id else None
            assert shown.override_by == (overrider.name if overrider else None)
            steps = applications.history(a)
            events = db.session.scalars(
                select(ApplicationEvent)
                .where(ApplicationEvent.application_id == a.id)
                .order_by(ApplicationEvent.on, ApplicationEvent.id)
            ).all()
            assert steps == [(e.from_status, e.to_status, e.on, e.note, e.by_id, e.by.name) for e in events]


def test_application_pages_show_the_same_in_few_queries(seat_data, app, client, people):
    ids = _varied_applications(app, people)
    login(client, people["staff"].email)
    for application_id in ids.values():
        queries = page_queries(app, client, f"/applications/{application_id}")
        # the application with its seat, the candidate's name, the newest usable check, the
        # recorded check and who overrode it; then the history
        assert len(queries) == 2, queries
        assert not [q for q in queries if "FROM profile_languages" in q or "FROM seat_fit_factors" in q]
    submitted = _text(client.get(f"/applications/{ids[BRISTOL_CENTRAL]}"))
    assert "Submitted with the check of" in submitted and "Caution" in submitted
    overridden = _text(client.get(f"/applications/{ids[HORNSEY]}"))
    assert "Staff override" in overridden and "A long shot the region wants contested." in overridden
    assert "Poor fit" in overridden and "recorded by" in overridden
    board = page_queries(app, client, "/applications/")
    listed = page_queries(app, client, "/applications/?status=considering")
    # the data's tokens, the cohorts, the counts by status, then the board's cards or a page of
    # one status (whose count is the page's total); once drawn, kept until the data changes
    assert len(board) == 4 and len(listed) == 4, (board, listed)
    assert len(page_queries(app, client, "/applications/")) == 1
    with app.app_context():
        considering = db.session.scalar(select(func.count()).where(Application.status == "considering"))
    assert considering == 5 and "Showing 1–5 of 5" in _text(client.get("/applications/?status=considering"))
    page = _text(client.get("/applications/"))
    assert "Bristol Central" in page and "Hornsey and Friern Barnet" in page
    candidate = app.test_client()
    login(candidate, people["candidate"].email)
    mine = page_queries(app, candidate, "/applications/mine")
    assert len(mine) == 3, mine  # the profile, the count, the page
    own = page_queries(app, candidate, f"/applications/{ids[HORNSEY]}")
    assert len(own) == 2, own
    # who overrode comes with the application's row
    assert "A poor fit was accepted by Sam Staff on" in _text(candidate.get(f"/applications/{ids[HORNSEY]}"))
    own_page = _text(candidate.get("/applications/mine"))
    assert "Poor fit, overridden" in own_page and "Showing 1–6 of 6" in own_page


def test_session_view_is_the_policy_s_session_as_columns(app, people, prog):  # noqa: F811
    mine, _ = prog.cohort(1, extra=[people["candidate"]])
    other, _ = prog.cohort(1, name="Another cohort")
    (own,) = prog.sessions(mine, day=_today() + timedelta(days=3), facilitator="Jo Trainer", notes="Bring notes")
    (theirs,) = prog.sessions(other, day=_today() + timedelta(days=3))
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        candidate = db.session.get(User, people["candidate"].id)
        for sid in (own, theirs):
            s = db.session.get(ProgrammeSession, sid)
            expected = (
                s.id,
                s.cohort_id,
                s.title,
                s.skill_area,
                s.starts_at,
                s.ends_at,
                s.place,
                s.online_url,
                s.facilitator,
                s.notes,
                s.series_id,
                s.cancelled_at,
                s.register_version,
                s.cohort.name,
            )
            assert services.session_view(staff, sid) == expected
            seen = services.session_view(candidate, sid)
            assert seen == (expected if sid == own else None)
        view = services.session_view(staff, own)
        assert view.skill_label == db.session.get(ProgrammeSession, own).skill_label and not view.is_cancelled
        assert policy.can_edit_session(staff, view) and not policy.can_take_register(staff, view)
        assert services.session_view(db.session.get(User, people["mentor"].id), own) is None
