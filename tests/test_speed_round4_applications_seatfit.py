"""Application and seat-fit pages, round 4 of issue #8: statements built once per scope of the
policies give the rows the policies' own statements give, pages show the same and answer 404 to
the same people, with fewer queries."""

from __future__ import annotations

from datetime import timedelta

from flask import g
from sqlalchemy import func

from d2w.applications import policy as applications_policy
from d2w.applications import services as applications
from d2w.applications import views as application_views
from d2w.applications.models import Application
from d2w.auth.models import User
from d2w.candidates.services import ensure_profile
from d2w.core.db import read, utcnow
from d2w.core.extensions import db
from d2w.core.pagination import paginate, parse_sort
from d2w.seatfit import policy as seatfit_policy
from d2w.seatfit import views as seatfit_views
from d2w.seatfit.models import SeatFitCheck
from d2w.seats.models import Seat
from tests.conftest import page_queries
from tests.test_applications import ALDERSHOT, BRISTOL_CENTRAL, HORNSEY, check_for, do_move, do_override, start
from tests.test_speed_seats_mentoring import _client

WHO = ("staff", "admin", "mentor", "candidate", "candidate2")


def _applications(app, people):
    """people["candidate"]: three applications (one poor and overridden, one submitted, one
    without a check); people["candidate2"]: one."""
    check_for(app, people, code=BRISTOL_CENTRAL, band="poor")
    poor = start(app, people, code=BRISTOL_CENTRAL)
    do_override(app, people, poor)
    check_for(app, people, code=HORNSEY, band="good", run_at=utcnow() - timedelta(days=3))
    good = start(app, people, code=HORNSEY, on=applications.today() - timedelta(days=5))
    do_move(app, people, good, "fit_checked")
    do_move(app, people, good, "submitted")
    bare = start(app, people, code=ALDERSHOT)
    other = start(app, people, owner="candidate2", code=ALDERSHOT)
    return [poor, good, bare], other


def test_application_scopes_are_the_policys_rule(seat_data, app, people):
    mine, other = _applications(app, people)
    for who in WHO:
        with app.app_context():
            actor = db.session.get(User, people[who].id)
            visible = set(
                db.session.scalars(applications_policy.visible_applications(actor).with_only_columns(Application.id))
            )
            found = {i for i in [*mine, other] if applications.shown(actor, i) is not None}
            assert found == visible & {*mine, other}, who
        client = _client(app, people[who])
        for i in [*mine, other]:
            status = client.get(f"/applications/{i}").status_code
            if who == "mentor":
                assert status == 403
            else:
                assert status == (200 if i in visible else 404), (who, i)


def test_own_applications_rows_equal_the_list_statement_in_every_order(seat_data, app, people):
    mine, _ = _applications(app, people)
    with app.test_request_context():
        actor = db.session.get(User, people["candidate"].id)
        g._login_user = actor
        profile = ensure_profile(actor)
        visible = applications_policy.visible_applications(actor).where(Application.profile_id == profile.id)
        for key in application_views.MINE_SORTS:
            for direction in ("asc", "desc"):
                sort = parse_sort(key, direction, application_views.MINE_SORTS, "since")
                old = application_views._sorted(
                    applications.list_statement(visible), sort, application_views.MINE_SORTS, Application.id.desc()
                )
                count, rows = application_views._mine_statements(applications_policy.scope_of(actor), sort)
                params = {"actor_id": actor.id, "profile_id": profile.id}
                assert read(count, params).scalar() == 3
                for number in (1, 2):
                    expected = paginate(old, number, 2, scalars=False, total=3).items
                    got = read(
                        rows,
                        {**params, "cutoff": applications.check_cutoff(), "limit": 2, "offset": (number - 1) * 2},
                    ).all()
                    assert [tuple(r) for r in got] == [tuple(r) for r in expected], (key, direction, number)
                everything = read(
                    rows, {**params, "cutoff": applications.check_cutoff(), "limit": 10, "offset": 0}
                ).all()
                assert sorted(r.id for r in everything) == sorted(mine)
        rows = applications.rows_of(
            read(rows, {**params, "cutoff": applications.check_cutoff(), "limit": 10, "offset": 0})
        )
        assert {r.shown_band for r in rows} == {"poor", "good", None}
        assert [r.overridden for r in rows if r.band == "poor"] == [True]


def test_own_applications_page_and_detail_queries(seat_data, app, people):
    mine, other = _applications(app, people)
    candidate = _client(app, people["candidate"])
    # the profile, the count, one page
    assert len(page_queries(app, candidate, "/applications/mine")) == 3
    html = candidate.get("/applications/mine").get_data(as_text=True)
    for i in mine:
        assert f'href="/applications/{i}"' in html
    assert f'href="/applications/{other}"' not in html
    # the application with its seat, its candidate, the usable and recorded checks and who
    # overrode it in one query; then the history (the owner is not asked again: the
    # candidate's user id comes with the candidate)
    poor, bare = mine[0], mine[2]
    assert len(page_queries(app, candidate, f"/applications/{bare}")) == 2
    assert len(page_queries(app, candidate, f"/applications/{poor}")) == 2
    staff = _client(app, people["staff"])
    assert len(page_queries(app, staff, f"/applications/{poor}")) == 2
    # forms only where they are shown: the candidate moves their own open application; staff
    # override only a poor fit not yet covered
    page = candidate.get(f"/applications/{poor}").get_data(as_text=True)
    assert f'action="/applications/{poor}/move"' in page and "/override" not in page
    submitted = staff.get(f"/applications/{mine[1]}").get_data(as_text=True)
    assert f'action="/applications/{mine[1]}/move"' in submitted and "/override" not in submitted
    with app.app_context():
        application = db.session.get(Application, mine[0])
        application.status, application.decided_on = "withdrawn", applications.today()
        db.session.commit()
    closed = candidate.get(f"/applications/{poor}").get_data(as_text=True)
    assert f'action="/applications/{poor}/move"' not in closed
    assert "Record the next step" not in closed


def test_an_override_form_is_offered_for_a_poor_check_without_one(seat_data, app, people):
    check_for(app, people, code=BRISTOL_CENTRAL, band="poor")
    poor = start(app, people, code=BRISTOL_CENTRAL)
    staff = _client(app, people["staff"])
    page = staff.get(f"/applications/{poor}").get_data(as_text=True)
    assert f'action="/applications/{poor}/override"' in page and 'name="version"' in page
    candidate = _client(app, people["candidate"]).get(f"/applications/{poor}").get_data(as_text=True)
    assert "/override" not in candidate


# ---------------------------------------------------------------------------------------------
# Seat fit


def _checks(app, people):
    ids = [
        check_for(app, people, code=code, band=band, run_at=utcnow() - timedelta(days=days))
        for code, band, days in ((BRISTOL_CENTRAL, "poor", 1), (HORNSEY, "good", 100), (ALDERSHOT, "caution", 5))
    ]
    other = check_for(app, people, owner="candidate2", code=ALDERSHOT, band="good")
    return ids, other


def test_seatfit_scopes_and_lists_are_the_policys(seat_data, app, people):
    ids, other = _checks(app, people)
    for who in WHO:
        with app.test_request_context():
            actor = db.session.get(User, people[who].id)
            g._login_user = actor
            scope = seatfit_policy.scope_of(actor)
            visible = set(db.session.scalars(seatfit_policy.visible_checks(actor).with_only_columns(SeatFitCheck.id)))
            found = {
                i
                for i in [*ids, other]
                if read(seatfit_views._CHECK[scope], {"check_id": i, "actor_id": actor.id}).first() is not None
            }
            assert found == visible & {*ids, other}, who
            profiles = [None]
            if who in ("staff", "candidate"):
                profiles.append(ensure_profile(db.session.get(User, people["candidate"].id)).id)
            for profile_id in profiles:
                old = seatfit_policy.visible_checks(actor)
                if profile_id is not None:
                    old = old.where(SeatFitCheck.profile_id == profile_id)
                total = db.session.scalar(old.with_only_columns(func.count(SeatFitCheck.id)))
                old = (
                    old.with_only_columns(*seatfit_views._LIST_COLUMNS)
                    .join(Seat, Seat.id == SeatFitCheck.seat_id)
                    .order_by(SeatFitCheck.run_at.desc(), SeatFitCheck.id.desc())
                )
                count, rows = seatfit_views._LISTS[scope, profile_id is not None]
                params = {"actor_id": actor.id, "profile_id": profile_id}
                assert read(count, params).scalar() == total, who
                for number in (1, 2, 3):
                    expected = paginate(old, number, 2, scalars=False, total=total)
                    got = read(rows, {**params, "limit": 2, "offset": (expected.page - 1) * 2}).all()
                    assert [tuple(r) for r in got] == [tuple(r) for r in expected.items], (who, profile_id, number)
        client = _client(app, people[who])
        for i in [*ids, other]:
            status = client.get(f"/seat-fit/{i}").status_code
            if who == "mentor":
                assert status == 403
            else:
                assert status == (200 if i in visible else 404), (who, i)


def test_seatfit_pages_queries_and_rows(seat_data, app, people):
    ids, other = _checks(app, people)
    candidate = _client(app, people["candidate"])
    # the profile, the count, one page
    assert len(page_queries(app, candidate, "/seat-fit/")) == 3
    html = candidate.get("/seat-fit/").get_data(as_text=True)
    assert all(f'href="/seat-fit/{i}"' in html for i in ids) and f'href="/seat-fit/{other}"' not in html
    assert html.count('<span class="muted">No, older than') == 1
    # the check with its seat, candidate and declared vote; its factors
    assert len(page_queries(app, candidate, f"/seat-fit/{ids[0]}")) == 2
    staff = _client(app, people["staff"])
    # the candidate, their name, the count, one page
    assert len(page_queries(app, staff, f"/seat-fit/?profile={_profile_id(app, people)}")) == 4
    page = staff.get("/seat-fit/?page=99").get_data(as_text=True)  # past the end: the last page
    assert f'href="/seat-fit/{other}"' in page


def _profile_id(app, people) -> int:
    with app.app_context():
        return ensure_profile(db.session.get(User, people["candidate"].id)).id
