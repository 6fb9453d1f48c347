"""Seat, seat-fit and mentoring pages at scale (issue #8): the column queries give what the ORM
paths gave, each page runs a fixed (and small) number of queries, and what is kept per worker is
what a fresh request would show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core import generations
from d2w.core.db import utcnow
from d2w.core.extensions import db
from d2w.mentoring import policy
from d2w.mentoring import services as mentoring
from d2w.mentoring.models import ActionItem, MentorAssignment, MentoringLog, MentorProfile, PrivateNote, StaffNote
from d2w.seats import queries
from d2w.seats.models import Seat, SeatResult
from tests.conftest import login, page_queries
from tests.test_mentoring import _log_fields, _mentor_profile, _profile, _text
from tests.test_mentoring_speed import _mentee

CSRF_VALUE = re.compile(r'(?<=name="csrf_token" value=")[^"]*|(?<=csrf_token" type="hidden" value=")[^"]*')


def _client(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


# ---------------------------------------------------------------------------------------------
# A seat's page


def _orm_results(seat: Seat) -> list[tuple[SeatResult, dict[str, float]]]:
    """A seat's results through the ORM (the page's first way): oldest first, shares largest first."""
    results = list(db.session.scalars(select(SeatResult).where(SeatResult.seat_id == seat.id)))
    order = {e: i for i, e in enumerate(queries.ELECTIONS_BY_SET[seat.boundary_set])}
    results.sort(key=lambda r: order[r.election])
    out = []
    for r in results:
        shares = db.session.execute(
            select(queries.SeatPartyShare.party, queries.SeatPartyShare.share_pct)
            .where(queries.SeatPartyShare.result_id == r.id)
            .order_by(queries.SeatPartyShare.share_pct.desc(), queries.SeatPartyShare.party)
        ).all()
        out.append((r, dict(shares)))
    return out


SEAT_COLUMNS = [column.name for column in Seat.__table__.columns]


def test_seat_rows_equal_the_orm_seats_and_results(seat_data, app):
    with app.app_context():
        seats = list(db.session.scalars(select(Seat).order_by(Seat.id)))
        # every seat of both boundary sets: Northern Ireland (no census), notional results, ...
        for seat in seats:
            row = queries.seat_row(seat.id)
            assert {c: getattr(row, c) for c in SEAT_COLUMNS} == {c: getattr(seat, c) for c in SEAT_COLUMNS}
            fast = queries.seat_results(seat.id, seat.boundary_set)
            slow = _orm_results(seat)
            assert [(r.id, list(shares.items())) for r, shares in fast] == [
                (r.id, list(shares.items())) for r, shares in slow
            ]
            for (r, _), (o, _) in zip(fast, slow, strict=True):
                assert r._asdict() == {name: getattr(o, name) for name in queries.ResultRow._fields}
        assert queries.seat_row(10**9) is None and queries.seat_results(10**9, "2024") == []


def test_seat_page_queries_fresh_and_kept(seat_data, app, people, kept):
    staff = _client(app, people["staff"])
    path = f"/seats/{db_seat_id(app, 'E14001063', '2024')}"
    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 0
    fresh = page_queries(app, staff, path)
    # the seat, its results with their shares; the national medians and the sources
    assert len(fresh) == 4, fresh
    page = CSRF_VALUE.sub("", staff.get(path).get_data(as_text=True))
    app.config["SEATFIT_FACTS_CACHE_SECONDS"] = 300
    staff.get(path)
    assert page_queries(app, staff, path) == []  # kept: nothing of its own
    assert CSRF_VALUE.sub("", staff.get(path).get_data(as_text=True)) == page
    # what is kept is the same for every reader: the actions still follow who reads
    candidate = _client(app, people["candidate"])
    assert "Check my fit" in candidate.get(path).get_data(as_text=True)
    assert "Check my fit" not in page
    assert staff.get("/seats/99999999").status_code == 404


def db_seat_id(app, code: str, boundary_set: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Seat.id).where(Seat.ons_code == code, Seat.boundary_set == boundary_set))


# ---------------------------------------------------------------------------------------------
# The seat browser


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"boundaries": "2010", "sort": "majority", "dir": "desc"},
        {"region": "London", "sort": "bme", "dir": "desc"},
        {"boundaries": "2024", "country": "Northern Ireland", "sort": "winner"},
        {"winner": "lab", "leave_min": "55", "sort": "young"},
    ],
)
def test_browser_rows_equal_the_orm_rows(seat_data, app, args):
    from d2w.core.pagination import Sort, apply_sort
    from d2w.seats.views import _browser_statement

    with app.app_context():
        filters = queries.parse_filters(args)
        sort = Sort(args.get("sort", "name"), args.get("dir") == "desc")
        orm = db.session.execute(
            apply_sort(queries.sort_nulls_last(queries.filtered_seats(filters), sort.key), sort, queries.SORTS, Seat.id)
        ).all()
        rows = db.session.execute(_browser_statement(filters, sort)).all()
        assert len(rows) == len(orm) > 0
        for row, (seat, result) in zip(rows, orm, strict=True):
            assert (row.id, row.name, row.ons_code, row.region) == (seat.id, seat.name, seat.ons_code, seat.region)
            assert (row.leave_pct, row.bme_pct, row.young_adult_pct) == (
                seat.leave_pct,
                seat.bme_pct,
                seat.young_adult_pct,
            )
            if result is None:
                assert row.result_id is None
            else:
                assert (row.result_id, row.winner, row.majority_pct) == (result.id, result.winner, result.majority_pct)


def test_sort_keys_said_never_null_are_not_null_columns():
    for key in queries.NEVER_NULL_SORTS:
        (column,) = [c for c in Seat.__table__.columns if c.name == key]
        assert column.nullable is False, key


def test_browser_queries_fresh_and_kept(seat_data, app, people, kept):
    staff = _client(app, people["staff"])
    staff.get("/seats/")
    assert len(page_queries(app, staff, "/seats/")) == 1  # kept until the seat data changes: the tokens
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = False  # the page as drawn
    # the winners for the form, the count, the page of rows
    assert len(page_queries(app, staff, "/seats/")) == 3
    app.config["KEEP_FIGURES_UNTIL_CHANGED"] = True
    generations.clear()
    fresh = CSRF_VALUE.sub("", staff.get("/seats/?boundaries=2010&sort=leave").get_data(as_text=True))
    # another page of the same boundary set: its winners and count (the seats of the boundary
    # set) are kept with the seat data's token; the tokens and the page are read
    assert len(page_queries(app, staff, "/seats/?boundaries=2010&sort=leave&page=2")) == 2
    assert CSRF_VALUE.sub("", staff.get("/seats/?boundaries=2010&sort=leave").get_data(as_text=True)) == fresh
    # filtered: counted for each filter (the 2024 winners kept by the unfiltered page)
    staff.get("/seats/")
    assert len(page_queries(app, staff, "/seats/?region=London")) == 3
    response = staff.get("/seats/?boundaries=2010")
    assert "Showing 1–25 of 650" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Seat-fit: a check's page and the list of checks


def _checks(app, people):
    """Checks of people["candidate2"]: a good-ish one, a what-if one (another stance) and a poor
    one, on seats of both boundary sets. Returns their ids."""
    from d2w.candidates.services import ensure_profile, record_sensitive
    from d2w.seatfit import services

    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        user = db.session.get(User, people["candidate2"].id)
        profile = ensure_profile(user)
        profile.home_region, profile.home_borough = "London", "Lewisham"
        record_sensitive(user, profile, "eu_ref_vote", "remain", consent=True)
        ids = []
        for code, boundary_set, stance in (
            ("E14001063", "2024", None),
            ("E14000530", "2010", "leave"),
            ("N05000001", "2024", "remain"),
        ):
            seat = db.session.scalar(select(Seat).where(Seat.ons_code == code, Seat.boundary_set == boundary_set))
            ids.append(services.run_check(staff, profile, seat, stance).id)
        db.session.commit()
        return ids


def test_check_rows_equal_the_orm_check(seat_data, app, people):
    from flask import g

    from d2w.seatfit.models import SeatFitCheck
    from d2w.seatfit.views import FactorRow, _get_check

    ids = _checks(app, people)
    for who in ("staff", "candidate2"):
        with app.test_request_context():
            g._login_user = db.session.get(User, people[who].id)
            for check_id in ids:
                check, profile, declared = _get_check(check_id)
                orm = db.session.get(SeatFitCheck, check_id)
                for name in check._fields:
                    expected = {
                        "seat_name": orm.seat.name,
                        "seat_boundary_set": orm.seat.boundary_set,
                        "run_by_name": orm.run_by.name,
                    }.get(name, getattr(orm, name, None))
                    assert getattr(check, name) == expected, name
                assert check.warning_list == orm.warning_list
                assert (profile.id, profile.user_id, profile.name) == (
                    orm.profile_id,
                    people["candidate2"].id,
                    people["candidate2"].name,
                )
                assert declared == "remain"
                factors = [
                    FactorRow(f.name, f.score, f.reason, f.figures, f.warning)
                    for f in sorted(orm.factors, key=lambda f: f.position)
                ]
                assert [f.figure_lines for f in factors] == [f.figure_lines for f in orm.factors]


def test_check_page_queries_and_access(seat_data, app, people):
    from d2w.audit.models import AuditEvent

    ids = _checks(app, people)
    own = _client(app, people["candidate2"])
    # the check with its seat, author, candidate and declared vote; its factors
    assert len(page_queries(app, own, f"/seat-fit/{ids[1]}")) == 2
    page = _text(own.get(f"/seat-fit/{ids[1]}"))
    assert "It used a referendum vote other than the one on the profile" in page
    staff = _client(app, people["staff"])
    statements = page_queries(app, staff, f"/seat-fit/{ids[0]}")
    # the check, its factors, the audit event and, as it commits, the audit log's new token
    assert len(statements) == 4 and statements[-2].lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS")
    assert statements[-1].lstrip().upper().startswith("UPDATE DATA_GENERATIONS")
    with app.app_context():
        seen = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")).all()
        assert [(e.object_type, e.object_id, e.actor_id) for e in seen] == [
            ("candidate_profile", str(db.session.scalar(_profile_id(people))), people["staff"].id)
        ]
    # another candidate and a mentor: 404 and 403, as before
    assert _client(app, people["candidate"]).get(f"/seat-fit/{ids[0]}").status_code == 404
    assert _client(app, people["mentor"]).get(f"/seat-fit/{ids[0]}").status_code == 403


def _profile_id(people):
    return select(CandidateProfile.id).where(CandidateProfile.user_id == people["candidate2"].id)


def test_list_of_checks_queries_do_not_grow(seat_data, app, people):
    ids = _checks(app, people)
    own = _client(app, people["candidate2"])
    # the candidate's profile, the count, the page of rows
    assert len(page_queries(app, own, "/seat-fit/")) == 3
    page = _text(own.get("/seat-fit/"))
    for check_id in ids:
        assert f'href="/seat-fit/{check_id}"' in page
    assert 'Aldershot</a> <span class="muted small">2024' in page
    staff = _client(app, people["staff"])
    # every check: the count, the page, the candidates' names
    assert len(page_queries(app, staff, "/seat-fit/")) == 3
    assert people["candidate2"].name in _text(staff.get("/seat-fit/"))
    assert not re.findall(r'href="/seat-fit/\d', _text(_client(app, people["candidate"]).get("/seat-fit/")))


# ---------------------------------------------------------------------------------------------
# Mentoring: the candidate's page


def _pairs(app, people, make):
    """mentor and mentor2 both mentor people["candidate"] (one assignment ended), with logs,
    open, done and overdue items, private and staff notes."""
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        first = _mentor_profile(admin, people["mentor"].id, capacity=5)
        second = _mentor_profile(admin, people["mentor2"].id, capacity=5, languages="English, Urdu")
        profile = _profile(people["candidate"].id)
        a = mentoring.assign(admin, profile, first, is_primary=True)
        b = mentoring.assign(admin, profile, second, is_primary=False)
        mentor_user = db.session.get(User, people["mentor"].id)
        for days in (40, 3, 10):
            log = mentoring.add_log(
                mentor_user, a, _log_fields(met_on=utcnow().date() - timedelta(days=days), private_note=f"P{days}")
            )
            mentoring.add_staff_note(admin, log, f"Staff note {days}.")
        item = db.session.scalar(select(ActionItem).where(ActionItem.assignment_id == a.id).limit(1))
        item.done_at, item.done_by_id = utcnow(), people["candidate"].id
        mentoring.add_log(db.session.get(User, people["mentor2"].id), b, _log_fields())
        mentoring.end_assignment(admin, b, "Moved away")
        db.session.commit()
        return a.id, b.id


def test_candidate_mentoring_rows_equal_the_orm_rows(app, people, make):
    from flask import g

    _pairs(app, people, make)
    with app.test_request_context():
        actor = db.session.get(User, people["candidate"].id)
        g._login_user = actor
        lines, items = mentoring.candidate_mentoring(actor)
        orm = db.session.scalars(
            select(MentorAssignment)
            .join(CandidateProfile, CandidateProfile.id == MentorAssignment.profile_id)
            .where(CandidateProfile.user_id == actor.id)
            .order_by(MentorAssignment.status, MentorAssignment.is_primary.desc(), MentorAssignment.started_at.desc())
        ).all()
        rows = {r.assignment.id: r for r in mentoring.pair_rows(list(orm), utcnow().date(), 6)}
        assert [(x.id, x.mentor_name, x.is_primary, x.is_active, x.ended_at, x.last_contact) for x in lines] == [
            (a.id, a.mentor.name, a.is_primary, a.is_active, a.ended_at, rows[a.id].last_contact) for a in orm
        ]
        expected = db.session.scalars(
            select(ActionItem)
            .join(MentorAssignment, MentorAssignment.id == ActionItem.assignment_id)
            .where(
                MentorAssignment.id.in_([a.id for a in orm if a.is_active]),
                ActionItem.owner == "candidate",
                ActionItem.done_at.is_(None),
            )
            .order_by(ActionItem.due_on, ActionItem.id)
        ).all()
        today = utcnow().date()
        assert [(i.id, i.description, i.due_on, i.is_overdue(today)) for i in items] == [
            (i.id, i.description, i.due_on, i.is_overdue(today)) for i in expected
        ]
        assert len(lines) == 2 and items


def test_candidate_mentoring_page_runs_two_queries(app, people, make):
    _pairs(app, people, make)
    client = _client(app, people["candidate"])
    assert len(page_queries(app, client, "/mentoring/mine")) == 2
    page = _text(client.get("/mentoring/mine"))
    assert "Meera Mentor</a>\n      (primary mentor): last session" in page
    assert "Marcus Mentor</a>\n      (additional mentor, ended" in page


# ---------------------------------------------------------------------------------------------
# Mentoring: a pair's page


def test_log_views_equal_the_orm_logs(app, people, make):
    a_id, b_id = _pairs(app, people, make)
    for who in ("staff", "mentor", "candidate", "mentor2"):
        with app.app_context():
            actor = db.session.get(User, people[who].id)
            for assignment_id in (a_id, b_id):
                a = db.session.get(MentorAssignment, assignment_id)
                views = mentoring.log_views(actor, a)
                logs = db.session.scalars(
                    select(MentoringLog)
                    .where(MentoringLog.assignment_id == a.id)
                    .order_by(MentoringLog.met_on.desc(), MentoringLog.id.desc())
                ).all()
                assert [v.log.id for v in views] == [lg.id for lg in logs]
                for v, lg in zip(views, logs, strict=True):
                    assert (v.log.met_on, v.log.mode_label, v.log.duration_minutes, v.log.summary) == (
                        lg.met_on,
                        lg.mode_label,
                        lg.duration_minutes,
                        lg.summary,
                    )
                    items = db.session.scalars(
                        select(ActionItem).where(ActionItem.log_id == lg.id).order_by(ActionItem.due_on, ActionItem.id)
                    ).all()
                    today = utcnow().date()
                    assert [
                        (i.id, i.description, i.owner_label, i.due_on, i.is_done, i.is_overdue(today))
                        for i in v.actions
                    ] == [(i.id, i.description, i.owner_label, i.due_on, i.is_done, i.is_overdue(today)) for i in items]
                    notes = db.session.scalars(select(StaffNote).where(StaffNote.log_id == lg.id)).all()
                    expected = [(n.body, n.author.name, n.created_at) for n in notes] if who == "staff" else []
                    assert [(n.body, n.author_name, n.created_at) for n in v.staff_notes] == expected
                    note = db.session.scalar(select(PrivateNote).where(PrivateNote.log_id == lg.id))
                    mine = who == "mentor" and assignment_id == a_id and note is not None
                    assert v.private_note == (note.body if mine else None)


def test_pair_view_equals_the_assignment_and_keeps_its_access_rules(app, people, make):
    a_id, b_id = _pairs(app, people, make)
    with app.app_context():
        for who, visible in (
            ("staff", {a_id, b_id}),
            ("mentor", {a_id}),
            ("mentor2", {b_id}),
            ("candidate", {a_id, b_id}),
            ("candidate2", set()),
        ):
            actor = db.session.get(User, people[who].id)
            for assignment_id in (a_id, b_id):
                view = mentoring.pair_view(actor, assignment_id)
                if assignment_id not in visible:
                    assert view is None
                    continue
                a = db.session.get(MentorAssignment, assignment_id)
                for name in ("id", "mentor_id", "profile_id", "is_primary", "status", "started_at", "ended_at"):
                    assert getattr(view, name) == getattr(a, name), name
                assert view.end_reason == a.end_reason and view.is_active == a.is_active
                assert (view.mentor.user_id, view.mentor.name) == (a.mentor.user_id, a.mentor.name)
                assert (view.profile.user_id, view.profile.name) == (a.profile.user_id, a.profile.name)
                for rule in (policy.is_assigned_mentor, policy.is_mentee, policy.can_write_log):
                    assert rule(actor, view) == rule(actor, a), rule.__name__


def test_pair_page_queries_and_staff_note_forms(app, people, make):
    a_id, _ = _pairs(app, people, make)
    path = f"/mentoring/assignments/{a_id}"
    # the pair; its logs; their items; the notes the reader may see (none for the candidate)
    assert len(page_queries(app, _client(app, people["mentor"]), path)) == 4
    assert len(page_queries(app, _client(app, people["candidate"]), path)) == 3
    staff = _client(app, people["staff"])
    assert len(page_queries(app, staff, path)) == 4
    page = staff.get(path).get_data(as_text=True)
    with app.app_context():
        log_ids = db.session.scalars(select(MentoringLog.id).where(MentoringLog.assignment_id == a_id)).all()
    assert "2147483647" not in page
    for log_id in log_ids:  # one note form per log, each with its own names and address
        assert f'<form method="post" action="/mentoring/logs/{log_id}/staff-note" novalidate>' in page
        assert f'<label for="log{log_id}-body">Staff note</label>' in page
        assert page.count(f'name="log{log_id}-body"') == 1 and page.count(f'name="log{log_id}-csrf_token"') == 1
    # a note sent back empty is shown with its error under its own log only
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="log\d+-csrf_token" type="hidden" value="([^"]+)"', page
    )
    first = log_ids[0]
    response = staff.post(
        f"/mentoring/logs/{first}/staff-note", data={f"log{first}-csrf_token": token.group(1), f"log{first}-body": ""}
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert text.count("Write the note.") >= 1
    for log_id in log_ids:
        assert page.count(f'name="log{log_id}-body"') == 1
        assert text.count(f'name="log{log_id}-body"') == 1


# ---------------------------------------------------------------------------------------------
# Mentoring: the mentor's home and the list of mentors


def test_mentor_home_rows_equal_pair_rows(app, people, make):
    _mentee(app, make, people, "mentor", "Alma Able", met_weeks_ago=[1, 9])
    _mentee(app, make, people, "mentor", "bert Lower", started_weeks_ago=12)
    _mentee(app, make, people, "mentor", "Cleo Crane", started_weeks_ago=2)
    _mentee(app, make, people, "mentor2", "Other Otto", met_weeks_ago=[3])
    with app.app_context():
        actor = db.session.get(User, people["mentor"].id)
        lines = mentoring.mentor_home(actor)
        orm = db.session.scalars(
            select(MentorAssignment)
            .join(MentorProfile, MentorProfile.id == MentorAssignment.mentor_id)
            .where(MentorProfile.user_id == actor.id, MentorAssignment.status == "active")
        ).all()
        orm = sorted(orm, key=lambda a: (a.profile.name.lower(), a.id))
        rows = mentoring.pair_rows(list(orm), utcnow().date(), mentoring.lapse_weeks())
        assert [(x.id, x.profile_id, x.is_primary, x.candidate_name) for x in lines] == [
            (r.assignment.id, r.assignment.profile_id, r.assignment.is_primary, r.assignment.profile.name) for r in rows
        ]
        assert [(x.last_contact, x.overdue, x.lapsed) for x in lines] == [
            (r.last_contact, r.overdue, r.lapsed) for r in rows
        ]
        assert [x.next_step and x.next_step.id for x in lines] == [r.next_step and r.next_step.id for r in rows]
        assert [x.lapsed for x in lines] == [False, True, False]
        summary = mentoring.mentor_summary(actor)
        profile = mentoring.mentor_profile_of(actor)
        assert summary == (profile.active_mentees, profile.capacity, profile.skill_labels)
        assert mentoring.mentor_summary(db.session.get(User, people["staff"].id)) is None


def test_mentor_home_runs_three_queries(app, people, make):
    _mentee(app, make, people, "mentor", "Alma Able", met_weeks_ago=[1, 9])
    client = _client(app, people["mentor"])
    few = page_queries(app, client, "/mentoring/")
    for i in range(4):
        _mentee(app, make, people, "mentor", f"More M{i}", met_weeks_ago=[2, 7])
    # the mentees with their last contact; their open items; the mentor's load and skills
    assert len(few) == len(page_queries(app, client, "/mentoring/")) == 3


def test_mentors_list_rows_equal_the_profiles(app, people, make):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _mentor_profile(admin, people["mentor"].id, skills=["media_tv", "canvassing", "fundraising"])
        _mentor_profile(admin, people["mentor2"].id, skills=[], languages="")
        db.session.commit()
    make.user("mentor", name="Nadia No-profile")
    make.user("mentor", name="Dee Deactivated", active=False)
    staff = _client(app, people["staff"])
    # the count, the page of mentors with their profiles, their skills and languages
    assert len(page_queries(app, staff, "/mentoring/mentors")) == 4  # with the data's tokens: then kept
    page = _text(staff.get("/mentoring/mentors"))
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(User).where(User.role == "mentor"))
        for user in db.session.scalars(select(User).where(User.role == "mentor")):
            profile = mentoring.mentor_profile_of(user)
            row = page[page.index(f"/mentoring/mentors/{user.id}/edit") :].split("</tr>")[0]
            if profile is None:
                assert "No mentor profile yet" in row
                continue
            assert f"<td>{', '.join(profile.skill_labels) or '–'}</td>" in row
            assert f"<td>{', '.join(profile.language_list) or '–'}</td>" in row
            assert f"<td>{profile.region or '–'}</td>" in row
            assert f"{profile.active_mentees} of {profile.capacity}" in row
    assert total == 4 and "Deactivated</span>" in page


# ---------------------------------------------------------------------------------------------
# Mentoring: the match page and the health page


def test_current_mentors_equal_the_active_assignments(app, people, make):
    _pairs(app, people, make)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        profile = _profile(people["candidate"].id)
        mentoring.assign(
            admin, profile, mentoring.mentor_profile_of(db.session.get(User, people["mentor2"].id)), is_primary=False
        )
        db.session.commit()
        current = mentoring.current_mentors(profile)
        orm = mentoring.active_assignments_of(profile)
        assert [(c.id, c.mentor_name, c.is_primary, c.started_at) for c in current] == [
            (a.id, a.mentor.name, a.is_primary, a.started_at) for a in orm
        ]
        assert len(current) == 2


def test_health_limits_are_written_into_the_sql(app, people, make):
    """SQLite plans ``LIMIT ?`` as if every row were wanted: the health page's lists write theirs."""
    _mentee(app, make, people, "mentor", "Solo Sam", met_weeks_ago=[10])
    statements = page_queries(app, _client(app, people["staff"]), "/mentoring/health")
    limited = [s for s in statements if "LIMIT" in s]
    assert len(limited) == 4
    assert not [s for s in limited if re.search(r"LIMIT (\?|%\(|\$)", s)], limited
