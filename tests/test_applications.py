"""Applications to seats: statuses, submission rules, overrides, the board."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from d2w.applications import policy, rules, services
from d2w.applications.models import Application, ApplicationEvent
from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.db import utcnow
from d2w.core.errors import Conflict, DomainError, Forbidden
from d2w.core.extensions import db
from d2w.seatfit.models import SeatFitCheck
from d2w.seats.models import Seat
from tests.conftest import count_queries, csrf_token, login

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


# The role matrix of this domain's routes, in the shape of MATRIX in test_access.py: endpoint ->
# (method, path template, expected status per role). Paths may name the placeholders below.
# {application}: people["candidate2"]'s application (considering); people["candidate"] is not its
# owner, so it is "not found" for them. Mentors see nothing of applications (403). Bare POSTs
# carry only a CSRF token: an incomplete form (400) for those who may use them.
APPLICATIONS_MATRIX: dict = {
    "applications.mine": ("GET", "/applications/mine", row(L, 200, 403, 403, 403)),
    "applications.board": ("GET", "/applications/", row(L, 403, 403, 200, 200)),
    "applications.new": ("GET", "/applications/new", row(L, 200, 403, 200, 200)),
    "applications.detail": ("GET", "/applications/{application}", row(L, 404, 403, 200, 200)),
    "applications.move": ("POST", "/applications/{application}/move", row(L, 404, 403, 400, 400)),
    "applications.override": ("POST", "/applications/{application}/override", row(L, 403, 403, 400, 400)),
}

ALDERSHOT = "E14001063"
BRISTOL_CENTRAL = "E14001131"  # 17.7% Leave on the 2024 boundaries
HORNSEY = "E14001293"  # Hornsey and Friern Barnet, 17.4% Leave
REASON = "Twelve years of verified community work in the seat outweigh the referendum mismatch."


def applications_placeholders(app, people, cohort_id: int) -> dict:
    """Real objects for the placeholders APPLICATIONS_MATRIX's paths name (people["candidate2"] owns them)."""
    with app.app_context():
        owner = db.session.get(User, people["candidate2"].id)
        profile = _profile(people["candidate2"])
        application = services.create_application(owner, profile, _seat(ALDERSHOT), "Matrix application")
        db.session.commit()
        return {"application": application.id}


# ---------------------------------------------------------------------------------------------
# Helpers


def _user(ref) -> User:
    return db.session.get(User, ref.id)


def _profile(ref) -> CandidateProfile:
    from d2w.candidates.services import ensure_profile

    return ensure_profile(db.session.get(User, ref.id))


def _seat(code: str, boundary_set: str = "2024") -> Seat:
    return db.session.scalar(select(Seat).where(Seat.ons_code == code, Seat.boundary_set == boundary_set))


def _add_check(profile_id: int, seat_id: int, band: str, run_by_id: int, *, run_at=None, stance="leave") -> int:
    """A saved fit check made directly (the engine is tested in test_seatfit.py)."""
    check = SeatFitCheck(
        profile_id=profile_id,
        seat_id=seat_id,
        run_by_id=run_by_id,
        run_at=run_at or utcnow(),
        stance=stance,
        party="lab",
        thresholds="test",
        band=band,
        score={"good": 80.0, "caution": 55.0, "poor": 20.0}[band],
        warnings="A strong warning." if band == "poor" else "",
    )
    db.session.add(check)
    db.session.flush()
    return check.id


def check_for(app, people, owner="candidate", code=BRISTOL_CENTRAL, band="good", **kw) -> int:
    with app.app_context():
        profile = _profile(people[owner])
        check_id = _add_check(profile.id, _seat(code).id, band, people["staff"].id, **kw)
        db.session.commit()
        return check_id


def start(app, people, owner="candidate", code=BRISTOL_CENTRAL, by=None, on=None) -> int:
    with app.app_context():
        actor = _user(people[by or owner])
        application = services.create_application(actor, _profile(people[owner]), _seat(code), "Notes", on=on)
        db.session.commit()
        return application.id


def do_move(app, people, application_id, to_status, by="candidate", on=None, note="", now=None):
    with app.app_context():
        application = db.session.get(Application, application_id)
        services.move(
            _user(people[by]),
            application,
            to_status,
            on=on or services.today(),
            note=note,
            version=application.version,
            now=now,
        )
        db.session.commit()
        return application.status


def do_override(app, people, application_id, by="staff", reason=REASON):
    with app.app_context():
        application = db.session.get(Application, application_id)
        services.override(_user(people[by]), application, reason, version=application.version)
        db.session.commit()


def audit_rows(app, action_prefix="application."):
    with app.app_context():
        return list(
            db.session.execute(
                select(AuditEvent.action, AuditEvent.summary, AuditEvent.object_id).where(
                    AuditEvent.action.startswith(action_prefix)
                )
            ).all()
        )


def post_form(client, path, data, token_from):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_from)})


# ---------------------------------------------------------------------------------------------
# The rules (pure)


def test_moves_follow_the_pipeline_and_closed_statuses_never_move():
    chain = ["considering", "fit_checked", "submitted", "longlisted", "shortlisted", "final", "selected"]
    for here, there in zip(chain, chain[1:], strict=False):
        assert rules.can_move(here, there)
    assert not rules.can_move("considering", "submitted")
    assert not rules.can_move("fit_checked", "longlisted")
    assert not rules.can_move("submitted", "fit_checked")
    for status in ("considering", "fit_checked", "submitted", "longlisted", "shortlisted", "final"):
        assert "withdrawn" in rules.allowed_moves(status)
    for status in ("submitted", "longlisted", "shortlisted", "final"):
        assert "not_selected" in rules.allowed_moves(status)
    assert "not_selected" not in rules.allowed_moves("considering")
    for status in ("selected", "not_selected", "withdrawn"):
        assert rules.allowed_moves(status) == ()
        assert rules.is_closed(status)
    assert rules.allowed_moves("nonsense") == ()
    assert set(rules.MOVES) == set(services.STATUS_VALUES)


def test_a_check_is_usable_for_under_ninety_days():
    run = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert rules.is_usable(run, run, 90)
    assert rules.is_usable(run, run + timedelta(days=89, hours=23, minutes=59), 90)
    assert not rules.is_usable(run, run + timedelta(days=90), 90)
    assert not rules.is_usable(run, run + timedelta(days=120), 90)
    assert rules.is_usable(run, run + timedelta(days=100), 101)


def test_submission_needs_a_check_and_an_override_for_a_poor_band():
    assert rules.submission_block(None, False) == "no_check"
    assert rules.submission_block(None, True) == "no_check"
    assert rules.submission_block("poor", False) == "poor_without_override"
    assert rules.submission_block("poor", True) is None
    assert rules.submission_block("caution", False) is None
    assert rules.submission_block("good", False) is None


def test_dates_are_not_in_the_future_nor_before_the_previous_step():
    today = date(2026, 5, 1)
    assert rules.date_problem(today, today, None) is None
    assert rules.date_problem(date(2026, 4, 30), today, date(2026, 4, 30)) is None
    assert "future" in rules.date_problem(date(2026, 5, 2), today, None)
    assert "before the previous step" in rules.date_problem(date(2026, 4, 1), today, date(2026, 4, 2))
    assert rules.date_problem(None, today, None)


def test_next_step_says_what_the_candidate_does_next():
    assert "Run a fit check" in rules.next_step("considering", None, False)
    assert "fit has been checked" in rules.next_step("considering", "poor", False)
    assert "candidates department must review" in rules.next_step("fit_checked", "poor", False)
    assert "Submit" in rules.next_step("fit_checked", "poor", True)
    assert "Submit" in rules.next_step("fit_checked", "good", False)
    assert "out of date" in rules.next_step("fit_checked", None, False)
    assert "longlist" in rules.next_step("submitted", "good", False)


# ---------------------------------------------------------------------------------------------
# Services: starting an application


def test_a_candidate_starts_their_own_application_with_history_and_audit(seat_data, app, people):
    application_id = start(app, people)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "considering"
        assert application.seat.ons_code == BRISTOL_CENTRAL and application.seat.boundary_set == "2024"
        assert application.created_by_id == people["candidate"].id
        events = services.history(application)
        assert [(e.from_status, e.to_status, e.on) for e in events] == [(None, "considering", services.today())]
    assert ("application.created", "Bristol Central (2024)", str(application_id)) in audit_rows(app)


def test_who_may_start_an_application_for_whom(seat_data, app, people):
    with app.app_context():
        seat = _seat(BRISTOL_CENTRAL)
        mine = _profile(people["candidate"])
        with pytest.raises(Forbidden):
            services.create_application(_user(people["candidate2"]), mine, seat, "")
        with pytest.raises(Forbidden):
            services.create_application(_user(people["mentor"]), mine, seat, "")
        assert policy.can_create_for(_user(people["staff"]), mine)
        application = services.create_application(_user(people["staff"]), mine, seat, "Started by staff")
        assert application.created_by_id == people["staff"].id


def test_a_second_open_application_for_the_same_seat_is_refused(seat_data, app, people):
    first = start(app, people)
    with app.app_context(), pytest.raises(DomainError) as refused:
        services.create_application(_user(people["candidate"]), _profile(people["candidate"]), _seat(BRISTOL_CENTRAL))
    assert refused.value.field == "seat" and "already an open application" in refused.value.message
    # Another candidate, or another seat, is fine.
    start(app, people, owner="candidate2")
    start(app, people, code=HORNSEY)
    # Once withdrawn, the seat can be applied for again.
    do_move(app, people, first, "withdrawn")
    start(app, people)


def test_the_database_holds_one_open_application_per_candidate_and_seat(seat_data, app, people):
    start(app, people)
    with app.app_context():
        profile = _profile(people["candidate"])
        seat = _seat(BRISTOL_CENTRAL)
        db.session.add(Application(profile_id=profile.id, seat_id=seat.id, created_by_id=people["candidate"].id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_race_to_the_same_seat_is_a_conflict(seat_data, app, people, monkeypatch):
    start(app, people)
    monkeypatch.setattr(services, "open_application_for", lambda profile_id, seat_id: None)
    with app.app_context():
        with pytest.raises(Conflict):
            services.create_application(
                _user(people["candidate"]), _profile(people["candidate"]), _seat(BRISTOL_CENTRAL)
            )
        db.session.rollback()


def test_a_start_date_in_the_future_is_refused(seat_data, app, people):
    with app.app_context(), pytest.raises(DomainError) as refused:
        services.create_application(
            _user(people["candidate"]),
            _profile(people["candidate"]),
            _seat(BRISTOL_CENTRAL),
            on=services.today() + timedelta(days=1),
        )
    assert refused.value.field == "on"


def test_find_seats_by_code_or_name_on_the_2024_boundaries_by_default(seat_data, app):
    with app.app_context():
        assert [s.ons_code for s in services.find_seats(BRISTOL_CENTRAL)] == [BRISTOL_CENTRAL]
        found = services.find_seats("bristol")
        assert found and all(s.boundary_set == "2024" and "Bristol" in s.name for s in found)
        assert services.find_seats("Bristol East")[0].name == "Bristol East"
        assert {s.boundary_set for s in services.find_seats("Bristol West", "2010")} == {"2010"}
        assert services.find_seats("Bristol West") == []  # not a 2024 seat
        assert services.find_seats("") == []
        assert services.find_seats("Bristol", "1997") == []
        assert services.find_seats("100%_") == []


# ---------------------------------------------------------------------------------------------
# Services: moving on


def test_fit_checked_needs_a_usable_check_and_records_it(seat_data, app, people):
    application_id = start(app, people)
    with app.app_context(), pytest.raises(DomainError) as refused:
        application = db.session.get(Application, application_id)
        services.move(_user(people["candidate"]), application, "fit_checked", on=services.today(), version=1)
    assert refused.value.field == "to_status" and "Run a fit check" in refused.value.message
    check_id = check_for(app, people)
    assert do_move(app, people, application_id, "fit_checked", note="Checked with my mentor") == "fit_checked"
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.fit_check_id == check_id and application.version == 2
        assert services.history(application)[-1].note == "Checked with my mentor"


def test_the_ninety_day_boundary(seat_data, app, people):
    application_id = start(app, people)
    run_at = utcnow() - timedelta(days=10)
    check_for(app, people, run_at=run_at)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(DomainError):
            services.move(
                _user(people["candidate"]),
                application,
                "fit_checked",
                on=services.today(),
                version=1,
                now=run_at + timedelta(days=90),
            )
        assert services.usable_check(application.profile_id, application.seat_id, run_at + timedelta(days=90)) is None
        services.move(
            _user(people["candidate"]),
            application,
            "fit_checked",
            on=services.today(),
            version=1,
            now=run_at + timedelta(days=90) - timedelta(seconds=1),
        )
        assert application.status == "fit_checked"


def test_submission_needs_a_check_under_ninety_days_old(seat_data, app, people):
    application_id = start(app, people, on=services.today() - timedelta(days=120))
    check_for(app, people, run_at=utcnow() - timedelta(days=100))
    with app.app_context():
        assert services.usable_check(_profile(people["candidate"]).id, _seat(BRISTOL_CENTRAL).id) is None
    old = check_for(app, people, run_at=utcnow() - timedelta(days=89))
    do_move(app, people, application_id, "fit_checked", on=services.today() - timedelta(days=5))
    with app.app_context():
        # The check expires: submission is refused until a fresh one is run.
        application = db.session.get(Application, application_id)
        with pytest.raises(DomainError) as refused:
            services.move(
                _user(people["candidate"]),
                application,
                "submitted",
                on=services.today(),
                version=application.version,
                now=utcnow() + timedelta(days=2),
            )
        assert "under 90 days old" in refused.value.message
    fresh = check_for(app, people, band="caution")
    do_move(app, people, application_id, "submitted")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "submitted" and application.submitted_on == services.today()
        assert application.fit_check_id == fresh != old


def test_a_poor_fit_needs_a_staff_override_with_a_reason(seat_data, app, people):
    application_id = start(app, people)
    check_id = check_for(app, people, band="poor")
    do_move(app, people, application_id, "fit_checked")
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(DomainError) as refused:
            services.move(
                _user(people["candidate"]), application, "submitted", on=services.today(), version=application.version
            )
        assert "candidates department must review" in refused.value.message
        with pytest.raises(DomainError) as refused_staff:
            services.move(
                _user(people["staff"]), application, "submitted", on=services.today(), version=application.version
            )
        assert "Record an override" in refused_staff.value.message
        with pytest.raises(Forbidden):
            services.override(_user(people["candidate"]), application, REASON, version=application.version)
        with pytest.raises(DomainError) as short:
            services.override(_user(people["staff"]), application, "Looks fine to me", version=application.version)
        assert short.value.field == "reason"
        with pytest.raises(Conflict):
            services.override(_user(people["staff"]), application, REASON, version=application.version - 1)
    do_override(app, people, application_id)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.override_reason == REASON and application.override_by_id == people["staff"].id
        assert application.override_at is not None
        with pytest.raises(DomainError):  # once is enough
            services.override(_user(people["staff"]), application, REASON, version=application.version)
    assert do_move(app, people, application_id, "submitted") == "submitted"
    with app.app_context():
        assert db.session.get(Application, application_id).fit_check_id == check_id
    overrides = [r for r in audit_rows(app) if r.action == "application.override"]
    assert overrides == [("application.override", f"Poor fit overridden (fit check {check_id})", str(application_id))]


def test_no_override_without_a_poor_usable_check_or_after_submission(seat_data, app, people):
    application_id = start(app, people)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(DomainError, match="no fit check"):
            services.override(_user(people["staff"]), application, REASON, version=application.version)
    check_for(app, people, band="caution")
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(DomainError, match="not poor"):
            services.override(_user(people["staff"]), application, REASON, version=application.version)
    do_move(app, people, application_id, "fit_checked")
    do_move(app, people, application_id, "submitted")
    check_for(app, people, band="poor")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert not services.override_needed(
            application, services.usable_check(application.profile_id, application.seat_id)
        )
        with pytest.raises(DomainError, match="not yet submitted"):
            services.override(_user(people["staff"]), application, REASON, version=application.version)


def test_the_audit_log_never_holds_the_stance_or_free_text(seat_data, app, people):
    application_id = start(app, people)
    check_for(app, people, band="poor", stance="leave")
    do_move(app, people, application_id, "fit_checked", note="I voted Leave; my family lives here")
    do_override(app, people, application_id, reason="The Leave vote matters less than her decade of local work.")
    do_move(app, people, application_id, "submitted", note="Sent to the Remain-heavy local party")
    rows = audit_rows(app, "")
    assert {r.action for r in rows} >= {"application.created", "application.moved", "application.override"}
    for r in rows:
        text = (r.summary or "").lower()
        assert "leave" not in text and "remain" not in text and "decade" not in text, r


def test_illegal_moves_dates_and_stale_versions_are_refused(seat_data, app, people):
    application_id = start(app, people, on=services.today() - timedelta(days=3))
    check_for(app, people)
    with app.app_context():
        application = db.session.get(Application, application_id)
        actor = _user(people["candidate"])
        today = services.today()
        with pytest.raises(DomainError, match="cannot become submitted"):
            services.move(actor, application, "submitted", on=today, version=1)
        with pytest.raises(DomainError, match="Choose"):
            services.move(actor, application, "nonsense", on=today, version=1)
        with pytest.raises(DomainError, match="future") as future:
            services.move(actor, application, "fit_checked", on=today + timedelta(days=1), version=1)
        assert future.value.field == "on"
        with pytest.raises(DomainError, match="before the previous step"):
            services.move(actor, application, "fit_checked", on=today - timedelta(days=4), version=1)
        with pytest.raises(Conflict):
            services.move(actor, application, "fit_checked", on=today, version=0)
        with pytest.raises(Forbidden):
            services.move(_user(people["candidate2"]), application, "fit_checked", on=today, version=1)
        with pytest.raises(Forbidden):
            services.move(_user(people["mentor"]), application, "fit_checked", on=today, version=1)
        # Submitting cannot be dated before the check it is submitted with.
        services.move(actor, application, "fit_checked", on=today - timedelta(days=2), version=1)
        with pytest.raises(DomainError, match="before the fit check"):
            services.move(actor, application, "submitted", on=today - timedelta(days=1), version=2)
        db.session.commit()


def test_the_whole_pipeline_to_selection_and_closed_applications_stay_closed(seat_data, app, people):
    application_id = start(app, people)
    check_for(app, people)
    for status in ("fit_checked", "submitted", "longlisted", "shortlisted", "final"):
        do_move(app, people, application_id, status, by="staff" if status == "longlisted" else "candidate")
    do_move(app, people, application_id, "selected", by="staff", note="Selected at the hustings")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.decided_on == services.today() and not application.is_open
        events = services.history(application)
        assert [e.to_status for e in events] == [
            "considering",
            "fit_checked",
            "submitted",
            "longlisted",
            "shortlisted",
            "final",
            "selected",
        ]
        assert events[3].by_id == people["staff"].id
        with pytest.raises(DomainError, match="closed"):
            services.move(
                _user(people["staff"]), application, "withdrawn", on=services.today(), version=application.version
            )
    moved = [r for r in audit_rows(app) if r.action == "application.moved"]
    assert len(moved) == 6 and moved[-1].summary == "Final → Selected"


def test_withdrawing_closes_the_application(seat_data, app, people):
    application_id = start(app, people)
    with app.app_context():
        application = db.session.get(Application, application_id)
        services.withdraw(_user(people["candidate"]), application, on=services.today(), note="Moving away", version=1)
        db.session.commit()
        assert application.status == "withdrawn" and application.decided_on == services.today()
        assert db.session.scalar(select(ApplicationEvent.note).where(ApplicationEvent.to_status == "withdrawn")) == (
            "Moving away"
        )


def test_visible_applications_policy(seat_data, app, people):
    mine = start(app, people)
    theirs = start(app, people, owner="candidate2")
    with app.app_context():

        def visible(key):
            return set(
                db.session.scalars(policy.visible_applications(_user(people[key])).with_only_columns(Application.id))
            )

        assert visible("candidate") == {mine}
        assert visible("candidate2") == {theirs}
        assert visible("staff") == visible("admin") == {mine, theirs}
        assert visible("mentor") == set()
        application = db.session.get(Application, theirs)
        assert policy.can_view_application(_user(people["candidate2"]), application)
        assert not policy.can_view_application(_user(people["candidate"]), application)
        assert not policy.can_edit_application(_user(people["mentor"]), application)
        assert policy.can_edit_application(_user(people["staff"]), application)
        assert policy.can_override(_user(people["staff"])) and not policy.can_override(_user(people["candidate2"]))


# ---------------------------------------------------------------------------------------------
# Pages


def test_a_candidate_finds_a_seat_and_starts_an_application(seat_data, app, client, people):
    login(client, people["candidate"].email)
    page = client.get("/applications/new?q=hornsey")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hornsey and Friern Barnet" in html
    with app.app_context():
        seat_id = _seat(HORNSEY).id
    path = f"/applications/new?seat={seat_id}"
    html = client.get(path).get_data(as_text=True)
    assert "Run a fit check" in html and "/seat-fit/new?profile=" in html
    response = post_form(client, path, {"on": services.today().isoformat(), "notes": "Near my family"}, token_from=path)
    assert response.status_code == 302
    application_id = int(response.headers["Location"].rsplit("/", 1)[1])
    detail = client.get(f"/applications/{application_id}").get_data(as_text=True)
    assert "Hornsey and Friern Barnet" in detail and "Near my family" in detail and "Considering" in detail
    # A second one for the same seat is refused on the form.
    again = post_form(client, path, {"on": services.today().isoformat()}, token_from="/applications/mine")
    assert again.status_code == 400 and "already an open application" in again.get_data(as_text=True)
    # A date to come is refused at the field.
    with app.app_context():
        other = _seat(ALDERSHOT).id
    future = post_form(
        client,
        f"/applications/new?seat={other}",
        {"on": (services.today() + timedelta(days=3)).isoformat()},
        token_from="/applications/mine",
    )
    assert future.status_code == 400 and "cannot be in the future" in future.get_data(as_text=True)


def test_the_new_page_refuses_other_candidates_and_unknown_objects(seat_data, app, client, people):
    with app.app_context():
        other_profile = _profile(people["candidate2"]).id
        db.session.commit()
    login(client, people["candidate"].email)
    assert client.get(f"/applications/new?profile={other_profile}").status_code == 404
    assert client.get("/applications/new?seat=99999999").status_code == 404
    assert client.get("/applications/new?seat=abc").status_code == 404
    staff = client.application.test_client()
    login(staff, people["staff"].email)
    assert staff.get("/applications/new?profile=99999999").status_code == 404
    found = staff.get("/applications/new?who=cara").get_data(as_text=True)
    assert "Cara Candidate" in found and "Chidi Candidate" not in found
    assert staff.get(f"/applications/new?profile={other_profile}&q=E14001131").status_code == 200


def test_staff_start_an_application_for_a_candidate(seat_data, app, client, people):
    with app.app_context():
        profile_id = _profile(people["candidate2"]).id
        seat_id = _seat(BRISTOL_CENTRAL).id
        db.session.commit()
    login(client, people["staff"].email)
    path = f"/applications/new?profile={profile_id}&seat={seat_id}"
    assert "Cara Candidate" in client.get(path).get_data(as_text=True)
    response = post_form(client, path, {"on": services.today().isoformat()}, token_from=path)
    assert response.status_code == 302
    with app.app_context():
        application = db.session.scalar(select(Application))
        assert application.profile_id == profile_id and application.created_by_id == people["staff"].id
    # A POST without a chosen candidate is a bad request.
    assert post_form(client, f"/applications/new?seat={seat_id}", {}, token_from=path).status_code == 400


def test_a_candidate_is_stopped_from_submitting_a_poor_fit_until_staff_override(seat_data, app, people):
    application_id = start(app, people)
    check_for(app, people, band="poor")
    candidate = app.test_client()
    login(candidate, people["candidate"].email)
    path = f"/applications/{application_id}"
    today = services.today().isoformat()
    assert (
        post_form(
            candidate, f"{path}/move", {"to_status": "fit_checked", "on": today, "version": "1"}, path
        ).status_code
        == 302
    )
    html = candidate.get(path).get_data(as_text=True)
    assert "cannot be submitted yet" in html and "must review it" in html
    assert "Override the poor fit" not in html
    refused = post_form(candidate, f"{path}/move", {"to_status": "submitted", "on": today, "version": "2"}, path)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "candidates department must review" in text
    # The candidate cannot override.
    assert post_form(candidate, f"{path}/override", {"reason": REASON, "version": "2"}, path).status_code == 403
    staff = app.test_client()
    login(staff, people["staff"].email)
    html = staff.get(path).get_data(as_text=True)
    assert "Override the poor fit" in html
    short = post_form(staff, f"{path}/override", {"reason": "Fine by me", "version": "2"}, path)
    assert short.status_code == 400 and "at least 20" in short.get_data(as_text=True)
    stale = post_form(staff, f"{path}/override", {"reason": REASON, "version": "1"}, path)
    assert stale.status_code == 302
    assert "changed while you had it open" in staff.get(path).get_data(as_text=True)
    assert post_form(staff, f"{path}/override", {"reason": REASON, "version": "2"}, path).status_code == 302
    html = candidate.get(path).get_data(as_text=True)
    assert "Staff override" in html and REASON in html and "cannot be submitted yet" not in html
    assert (
        post_form(candidate, f"{path}/move", {"to_status": "submitted", "on": today, "version": "3"}, path).status_code
        == 302
    )
    assert "Submitted" in candidate.get(path).get_data(as_text=True)


def test_move_form_errors_are_shown_at_their_fields(seat_data, app, client, people):
    application_id = start(app, people)
    login(client, people["candidate"].email)
    path = f"/applications/{application_id}"
    missing = post_form(client, f"{path}/move", {"version": "1"}, path)
    assert missing.status_code == 400 and "Choose what happened next." in missing.get_data(as_text=True)
    bad_date = post_form(client, f"{path}/move", {"to_status": "withdrawn", "on": "31/02/2026", "version": "1"}, path)
    assert bad_date.status_code == 400
    wrong = post_form(
        client, f"{path}/move", {"to_status": "selected", "on": services.today().isoformat(), "version": "1"}, path
    )
    assert wrong.status_code == 400
    no_check = post_form(
        client, f"{path}/move", {"to_status": "fit_checked", "on": services.today().isoformat(), "version": "1"}, path
    )
    assert no_check.status_code == 400 and "Run a fit check" in no_check.get_data(as_text=True)
    no_csrf = client.post(f"{path}/move", data={"to_status": "withdrawn", "on": services.today().isoformat()})
    assert no_csrf.status_code == 400
    with app.app_context():
        assert db.session.get(Application, application_id).status == "considering"


def test_candidates_see_only_their_own_and_mentors_see_nothing(seat_data, app, people):
    mine = start(app, people)
    theirs = start(app, people, owner="candidate2", code=HORNSEY)
    candidate = app.test_client()
    login(candidate, people["candidate"].email)
    assert candidate.get(f"/applications/{mine}").status_code == 200
    assert candidate.get(f"/applications/{theirs}").status_code == 404
    assert candidate.get("/applications/999999").status_code == 404
    listing = candidate.get("/applications/mine").get_data(as_text=True)
    assert "Bristol Central" in listing and "Hornsey" not in listing and "Run a fit check" in listing
    assert candidate.get("/applications/").status_code == 403
    mentor = app.test_client()
    login(mentor, people["mentor"].email)
    for path in ("/applications/mine", "/applications/", f"/applications/{mine}", "/applications/new"):
        assert mentor.get(path).status_code == 403
    home = mentor.get("/home").get_data(as_text=True)
    assert "/applications/" not in home


def test_the_board_groups_by_status_with_counts_and_filters(seat_data, app, client, people, make):
    cohort_id = make.cohort("Board cohort")
    make.enrol(cohort_id, people["candidate"])
    a = start(app, people)
    start(app, people, code=HORNSEY)
    start(app, people, owner="candidate2", code=ALDERSHOT)
    check_for(app, people, band="poor")
    do_move(app, people, a, "fit_checked")
    login(client, people["staff"].email)
    html = client.get("/applications/").get_data(as_text=True)
    assert 'id="col-considering"' in html and 'id="col-fit_checked"' in html
    assert 'Considering <span class="app-column-count">(2)</span>' in html
    assert 'Fit checked <span class="app-column-count">(1)</span>' in html
    assert "Poor fit" in html and "Chidi Candidate" in html and "Cara Candidate" in html
    by_cohort = client.get(f"/applications/?cohort={cohort_id}").get_data(as_text=True)
    assert "Cara Candidate" not in by_cohort and "Chidi Candidate" in by_cohort
    by_region = client.get("/applications/?region=London").get_data(as_text=True)
    assert "Hornsey and Friern Barnet" in by_region and "Bristol Central" not in by_region
    listed = client.get("/applications/?status=considering").get_data(as_text=True)
    assert "Hornsey and Friern Barnet" in listed and "Aldershot" in listed and "Bristol Central" not in listed
    assert client.get("/applications/?status=considering&sort=candidate&dir=asc").status_code == 200
    assert client.get("/applications/?status=bogus&cohort=x").status_code == 200


def _queries_for(app, client, path) -> int:
    with count_queries(app) as statements:
        response = client.get(path)
        assert response.status_code == 200, path
    return len(statements)


def test_lists_run_the_same_queries_for_few_and_many_applications(seat_data, app, people, make):
    cohort_id = make.cohort("Query cohort")
    make.enrol(cohort_id, people["candidate"])
    start(app, people)
    check_for(app, people)
    clients = {key: app.test_client() for key in ("candidate", "staff")}
    for key, c in clients.items():
        login(c, people[key].email)
    pages = [
        ("candidate", "/applications/mine"),
        ("staff", "/applications/"),
        ("staff", f"/applications/?cohort={cohort_id}&region=South+West"),
        ("staff", "/applications/?status=considering"),
    ]
    few = {key + path: _queries_for(app, clients[key], path) for key, path in pages}
    with app.app_context():
        seats = list(db.session.scalars(select(Seat).where(Seat.boundary_set == "2024").order_by(Seat.id).limit(30)))
        for i, seat in enumerate(seats):
            owner = "candidate" if i % 2 else "candidate2"
            services.create_application(_user(people[owner]), _profile(people[owner]), seat, f"Seat {i}")
            _add_check(_profile(people[owner]).id, seat.id, ("good", "caution", "poor")[i % 3], people["staff"].id)
        db.session.commit()
    many = {key + path: _queries_for(app, clients[key], path) for key, path in pages}
    assert few == many
    assert max(many.values()) <= 12, many
