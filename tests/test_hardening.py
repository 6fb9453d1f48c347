"""Regression tests for problems found in review: races, odd input and leaks into logs."""

from __future__ import annotations

import threading
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from d2w.auth.models import AuthToken, User
from d2w.candidates import services as candidates
from d2w.candidates.models import SensitiveAnswer
from d2w.cohorts import importer
from d2w.cohorts import services as cohorts
from d2w.cohorts.models import Cohort, Enrolment
from d2w.core.errors import Conflict, DomainError
from d2w.core.extensions import db
from tests.conftest import csrf_token, login, post, run_at_once


def test_database_errors_never_carry_the_values(app, people):
    with app.app_context():
        db.session.add(User(email="staff@example.org", name="Dup Licate", role="staff"))
        with pytest.raises(sa.exc.IntegrityError) as caught:
            db.session.flush()
        db.session.rollback()
    assert "Dup Licate" not in str(caught.value)  # bound parameters are hidden
    # PostgreSQL still quotes a clashing key in its own detail: the log formatters remove it.
    from d2w.core.logging import redact

    assert "staff@example.org" not in redact(str(caught.value))
    assert redact("DETAIL:  Key (profile_id, field)=(1, eu_ref_vote) already exists.") == (
        "DETAIL:  Key (profile_id, field)=(…) already exists."
    )


def test_two_first_saves_of_the_same_answer_at_once_both_succeed(app, people):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(value):
        with app.app_context():
            me = db.session.get(User, people["candidate"].id)
            profile = candidates.profile_of(me)
            barrier.wait()
            try:
                candidates.record_sensitive(me, profile, "eu_ref_vote", value, consent=True)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    run_at_once(*(partial(save, v) for v in ("leave", "remain")))
    # SQLite may make the second writer wait and then fail to get the lock; never a constraint error.
    assert not [e for e in errors if isinstance(e, sa.exc.IntegrityError)], errors
    with app.app_context():
        answers = db.session.scalars(select(SensitiveAnswer)).all()
        assert len(answers) == 1 and answers[0].value in ("leave", "remain")


def test_a_concurrent_cohort_edit_is_a_conflict_not_an_error(app, people, make):
    cohort_id = make.cohort("Raced")
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        seen = cohort.version
        with db.engine.begin() as conn:  # somebody else saves first
            conn.execute(
                sa.text("UPDATE cohorts SET version = version + 1, name = 'Theirs' WHERE id = :id"), {"id": cohort_id}
            )
        fields = cohorts.CohortFields(
            "Mine", cohort.focus, cohort.intake_start, cohort.intake_end, cohort.capacity, None
        )
        with pytest.raises(Conflict):
            cohorts.update_cohort(db.session.get(User, people["staff"].id), cohort, fields, version=seen)
        db.session.rollback()


def test_a_concurrent_profile_edit_is_a_conflict_not_an_error(app, people):
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        profile = candidates.profile_of(me)
        seen = profile.version
        with db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE candidate_profiles SET version = version + 1 WHERE id = :id"), {"id": profile.id}
            )
        with pytest.raises(Conflict):
            candidates.update_profile(me, profile, candidates.ProfileChanges(phone="1"), version=seen)
        db.session.rollback()


def test_postcode_length_is_checked_after_normalising(app, people):
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        profile = candidates.profile_of(me)
        with pytest.raises(DomainError, match="postcode"):
            candidates.update_profile(
                me, profile, candidates.ProfileChanges(postcode="ßßßßßßßßßß"), version=profile.version
            )


@pytest.mark.parametrize("path", ["/users/?q=%00", "/audit/?object_id=%00", "/candidates/?q=a%01b", "/cohorts/?q=%7F"])
def test_control_characters_in_query_strings_are_a_400(client, people, path):
    login(client, people["admin"].email)
    response = client.get(path)
    assert response.status_code == 400
    assert "Something was wrong with that request" in response.get_data(as_text=True)


def test_control_characters_in_forms_are_a_400_and_change_nothing(app, client, people):
    login(client, people["candidate"].email)
    with app.app_context():
        pid = candidates.profile_of(db.session.get(User, people["candidate"].id)).id
    token = csrf_token(client, f"/candidates/{pid}/edit")
    response = client.post(
        f"/candidates/{pid}/edit",
        data={"csrf_token": token, "version": "1", "community_links": "x\x00y", "home_region": ""},
    )
    assert response.status_code == 400
    with app.app_context():
        assert candidates.profile_of(db.session.get(User, people["candidate"].id)).community_links is None


def test_tabs_and_newlines_are_still_welcome(app, client, people):
    login(client, people["candidate"].email)
    with app.app_context():
        pid = candidates.profile_of(db.session.get(User, people["candidate"].id)).id
    token = csrf_token(client, f"/candidates/{pid}/edit")
    response = client.post(
        f"/candidates/{pid}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "community_links": "Line one\r\n\tLine two",
            "home_region": "",
            "languages": "",
        },
    )
    assert response.status_code == 302


@pytest.mark.parametrize("cohort", ["%C2%B2", "99999999999999999999999", "-1", "0", "abc"])
def test_odd_cohort_filters_are_ignored(client, people, cohort):
    login(client, people["staff"].email)
    assert client.get(f"/candidates/?cohort={cohort}").status_code == 200


@pytest.mark.parametrize("qs", ["date_to=9999-12-31", "date_from=0001-01-01", "date_from=2026-13-45"])
def test_odd_audit_dates_are_refused_politely(client, people, qs):
    login(client, people["admin"].email)
    response = client.get(f"/audit/?{qs}")
    assert response.status_code == 200


@pytest.mark.parametrize("qs", ["endpoint=x", "_method=x", "_external=1", "_scheme=https&_external=1", "values=1"])
def test_sort_and_page_links_ignore_url_building_options(client, people, make, qs):
    for i in range(30):
        make.user("mentor", name=f"Paged {i:02d}")
    login(client, people["staff"].email)
    response = client.get(f"/users/?{qs}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'href="http' not in body.split("<main")[1]


def test_register_with_a_huge_version_is_a_conflict_not_an_error(app, client, people, make):
    from datetime import UTC, datetime, time, timedelta

    from d2w.programme import rules
    from d2w.programme import services as programme

    cohort_id = make.cohort("Huge")
    make.enrol(cohort_id, people["candidate"])
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        day = rules.to_london(datetime.now(UTC)).date() - timedelta(days=1)
        (s,) = programme.schedule_sessions(
            staff,
            db.session.get(Cohort, cohort_id),
            programme.SessionFields("Huge test", "communication", day, time(18, 0), time(19, 0), place="Here"),
        )
        db.session.commit()
        sid = s.id
    login(client, people["staff"].email)
    token = csrf_token(client, f"/sessions/{sid}/register")
    response = client.post(f"/sessions/{sid}/register", data={"csrf_token": token, "register_version": "9" * 25})
    assert response.status_code == 409


def test_import_keeps_the_files_own_line_numbers():
    data = b"name,email\n\n,\nAmina Yusuf,amina@example.org\nBad Address,not-an-email\n"
    preview = importer.check_file(data, existing_emails=set(), places_left=10, max_rows=10)
    assert [(r.number, bool(r.errors)) for r in preview.rows] == [(4, False), (5, True)]


def test_import_uses_the_profile_language_rule():
    many = "; ".join(f"Language {i}" for i in range(25))
    data = (
        f"name,email,languages\nPolyglot,poly@example.org,{many}\nAmina,amina@example.org,english;  bengali\n".encode()
    )
    preview = importer.check_file(data, existing_emails=set(), places_left=10, max_rows=10)
    assert "at most 20 languages" in preview.rows[0].errors[0]
    assert preview.rows[1].languages == ["English", "Bengali"]


def test_a_link_used_at_the_same_moment_sets_one_password(app, people):
    from d2w.auth import services as auth
    from d2w.users import services as users

    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        _, raw = users.invite_user(admin, email="twice@example.org", name="Twice Clicked", role="mentor")
        db.session.commit()
        assert auth.find_valid_token(raw) is not None  # loaded in this session
        with db.engine.begin() as conn:  # the other request wins
            conn.execute(sa.text("UPDATE auth_tokens SET used_at = CURRENT_TIMESTAMP"))
        with pytest.raises(DomainError, match="already been used"):
            auth.use_token(raw, "a perfectly good passphrase")
        db.session.rollback()
        assert db.session.scalar(select(User).where(User.email == "twice@example.org")).password_hash is None
        assert db.session.scalar(select(sa.func.count()).select_from(AuthToken)) == 1


def test_closing_a_cohort_lapses_its_invitations(app, client, people, make):
    cohort_id = make.cohort("Lapsing", capacity=5)
    make.enrol(cohort_id, people["candidate"], status="invited")
    make.enrol(cohort_id, people["candidate2"])
    login(client, people["staff"].email)
    post(client, f"/cohorts/{cohort_id}/close")
    with app.app_context():
        statuses = sorted(db.session.scalars(select(Enrolment.status)))
        assert statuses == ["completed", "withdrawn"]
        assert db.session.get(Cohort, cohort_id).places_taken == 1


# =============================================================================================
# Hardening of seats, seat-fit, applications, reports, dashboard and exports (hostile review).
# Each test names the problem it pins down.

from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from markupsafe import Markup  # noqa: E402

from d2w.applications import services as applications  # noqa: E402
from d2w.applications.models import Application, ApplicationEvent  # noqa: E402
from d2w.audit.models import AuditEvent  # noqa: E402
from d2w.candidates.models import CandidateProfile  # noqa: E402
from d2w.core import charts  # noqa: E402
from d2w.reports.models import ReportJob  # noqa: E402
from d2w.seatfit.models import SeatFitCheck  # noqa: E402
from d2w.seats.models import Seat  # noqa: E402

BRISTOL_CENTRAL = "E14001131"  # 17.7% Leave (2024 boundaries): a Leave voter is strongly warned
ALDERSHOT = "E14001063"


def _profile_of(ref) -> CandidateProfile:
    return candidates.ensure_profile(db.session.get(User, ref.id))


def _seat_by_code(code: str, boundary_set: str = "2024") -> Seat:
    return db.session.scalar(select(Seat).where(Seat.ons_code == code, Seat.boundary_set == boundary_set))


def _declare(app, ref, vote: str) -> None:
    with app.app_context():
        me = db.session.get(User, ref.id)
        candidates.record_sensitive(me, candidates.ensure_profile(me), "eu_ref_vote", vote, consent=True)
        db.session.commit()


def _move_form(client, application_id: int, to_status: str):
    token = csrf_token(client, f"/applications/{application_id}")
    with client.application.app_context():
        version = db.session.get(Application, application_id).version
    return client.post(
        f"/applications/{application_id}/move",
        data={
            "csrf_token": token,
            "to_status": to_status,
            "on": applications.today().isoformat(),
            "note": "",
            "version": str(version),
        },
    )


# --- Seat-fit: a what-if stance must not back an application -----------------------------------


def test_a_check_run_against_another_vote_cannot_back_an_application(seat_data, app, client, people):
    """A Leave voter checked a Remain-heavy seat "against Remain" (the form allows a what-if), got a
    good fit and could submit with no staff override: the product's own cautionary tale."""
    _declare(app, people["candidate"], "leave")
    login(client, people["candidate"].email)
    what_if = post(client, "/seat-fit/new", {"seat": BRISTOL_CENTRAL, "boundary_set": "2024", "stance": "remain"})
    assert what_if.status_code == 302
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        seat = _seat_by_code(BRISTOL_CENTRAL)
        check = db.session.scalar(select(SeatFitCheck))
        assert check.stance == "remain" and check.band != "poor"
        application = applications.create_application(me, _profile_of(people["candidate"]), seat, "")
        db.session.commit()
        application_id, profile_id, seat_id = application.id, application.profile_id, seat.id
        assert applications.usable_check(profile_id, seat_id) is None
        (row,) = applications.rows_of(
            db.session.execute(applications.list_statement().where(Application.id == application_id)).all()
        )
        assert row.band is None  # the lists agree with the rule
    refused = _move_form(client, application_id, "fit_checked")
    assert refused.status_code == 400
    assert "different 2016 referendum vote" in refused.get_data(as_text=True)

    # Checked with the recorded vote: usable, poor, and submission needs a staff override.
    assert (
        post(client, "/seat-fit/new", {"seat": BRISTOL_CENTRAL, "boundary_set": "2024", "stance": ""}).status_code
        == 302
    )
    assert _move_form(client, application_id, "fit_checked").status_code == 302
    blocked = _move_form(client, application_id, "submitted")
    assert blocked.status_code == 400 and "must review it" in blocked.get_data(as_text=True)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "fit_checked"
        assert db.session.get(SeatFitCheck, application.fit_check_id).stance == "leave"


def test_without_a_declared_vote_any_checked_stance_still_counts(seat_data, app, people):
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        profile, seat = _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT)
        from d2w.seatfit import services as seatfit

        check = seatfit.run_check(me, profile, seat, "remain")
        db.session.commit()
        assert applications.usable_check(profile.id, seat.id).id == check.id
        candidates.record_sensitive(me, profile, "eu_ref_vote", "prefer_not_to_say", consent=True)
        db.session.commit()
        assert applications.usable_check(profile.id, seat.id).id == check.id  # binds nothing
        candidates.record_sensitive(me, profile, "eu_ref_vote", "did_not_vote", consent=True)
        db.session.commit()
        assert applications.usable_check(profile.id, seat.id) is None


def test_a_double_submitted_check_is_saved_and_audited_once(seat_data, app, client, people):
    login(client, people["candidate"].email)
    form = {"seat": ALDERSHOT, "boundary_set": "2024", "stance": "leave"}
    first, second = post(client, "/seat-fit/new", form), post(client, "/seat-fit/new", form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    post(client, "/seat-fit/new", {**form, "stance": "remain"})  # different inputs: a new check
    with app.app_context():
        assert db.session.scalar(select(sa.func.count()).select_from(SeatFitCheck)) == 2
        assert (
            db.session.scalar(
                select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "seatfit.checked")
            )
            == 2
        )


# --- Applications -------------------------------------------------------------------------------


@pytest.mark.parametrize("on", ["0001-01-01", "1899-12-31", "1999-12-31"])
def test_application_dates_before_2000_are_refused(seat_data, app, client, people, on):
    login(client, people["candidate"].email)
    with app.app_context():
        seat_id = _seat_by_code(ALDERSHOT).id
    path = f"/applications/new?seat={seat_id}"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "on": on, "notes": ""})
    assert response.status_code == 400
    assert "from 2000 onwards" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(sa.func.count()).select_from(Application)) == 0
        with pytest.raises(DomainError, match="2000"):
            applications.create_application(
                db.session.get(User, people["candidate"].id),
                _profile_of(people["candidate"]),
                _seat_by_code(ALDERSHOT),
                "",
                on=date(1999, 12, 31),
            )
        db.session.rollback()
        assert applications.create_application(
            db.session.get(User, people["candidate"].id),
            _profile_of(people["candidate"]),
            _seat_by_code(ALDERSHOT),
            "",
            on=date(2000, 1, 1),
        )


def test_two_moves_of_one_application_at_once_record_one_step(seat_data, app, people):
    from d2w.seatfit import services as seatfit

    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        profile, seat = _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT)
        seatfit.run_check(me, profile, seat, None)
        application_id = applications.create_application(me, profile, seat, "").id
        db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def move(to_status):
        with app.app_context():
            try:
                application = db.session.get(Application, application_id)
                actor = db.session.get(User, people["candidate"].id)
                barrier.wait()
                applications.move(actor, application, to_status, on=applications.today(), version=1)
                db.session.commit()
                outcomes.append("moved")
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    run_at_once(*(partial(move, s) for s in ("fit_checked", "withdrawn")))
    assert outcomes.count("moved") == 1, outcomes
    # The loser is told about the conflict (SQLite may refuse its write lock instead): never an
    # integrity error or a silently lost update.
    assert all(isinstance(o, Conflict | sa.exc.OperationalError) for o in outcomes if o != "moved"), outcomes
    with app.app_context():
        events = db.session.scalars(
            select(ApplicationEvent).where(ApplicationEvent.application_id == application_id)
        ).all()
        assert len(events) == 2  # started, and the one move that won
        assert db.session.get(Application, application_id).version == 2


def test_two_applications_for_one_seat_started_at_once_leave_one_open(seat_data, app, people):
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def start():
        with app.app_context():
            try:
                actor = db.session.get(User, people["candidate"].id)
                profile, seat = _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT)
                barrier.wait()
                applications.create_application(actor, profile, seat, "")
                db.session.commit()
                outcomes.append("started")
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    run_at_once(start, start)
    assert outcomes.count("started") == 1, outcomes
    assert all(isinstance(o, DomainError | sa.exc.OperationalError) for o in outcomes if o != "started"), outcomes
    with app.app_context():
        assert db.session.scalar(select(sa.func.count()).select_from(Application)) == 1


def _saved_check(app, ref, code, band, stance, run_at) -> int:
    """A saved check made directly, with the band wanted (the engine is tested elsewhere)."""
    with app.app_context():
        check = SeatFitCheck(
            profile_id=_profile_of(ref).id,
            seat_id=_seat_by_code(code).id,
            run_by_id=ref.id,
            run_at=run_at,
            stance=stance,
            party="lab",
            thresholds="test",
            band=band,
            score=20.0 if band == "poor" else 80.0,
            warnings="",
        )
        db.session.add(check)
        db.session.commit()
        return check.id


def test_an_override_covers_only_the_checks_staff_could_see(seat_data, app, people):
    """Staff overrode a poor fit (weak winnability, no vote recorded). The candidate then recorded
    a Leave vote and checked the Remain-heavy seat again: poor, with a referendum warning nobody
    reviewed. The old override still let them submit."""
    from d2w.core.db import utcnow

    staff, me = people["staff"], people["candidate"]
    _saved_check(app, me, BRISTOL_CENTRAL, "poor", "unknown", utcnow() - timedelta(hours=2))
    with app.app_context():
        application = applications.create_application(
            db.session.get(User, me.id), _profile_of(me), _seat_by_code(BRISTOL_CENTRAL), ""
        )
        applications.move(db.session.get(User, me.id), application, "fit_checked", on=applications.today(), version=1)
        applications.override(
            db.session.get(User, staff.id), application, "A long shot the region wants contested.", version=2
        )
        db.session.commit()
        application_id = application.id
    _declare(app, me, "leave")
    newer = _saved_check(app, me, BRISTOL_CENTRAL, "poor", "leave", utcnow() + timedelta(seconds=1))

    def rows():
        stmt = applications.list_statement(now=utcnow() + timedelta(seconds=2)).where(Application.id == application_id)
        return applications.rows_of(db.session.execute(stmt).all())

    with app.app_context():
        application = db.session.get(Application, application_id)
        later = utcnow() + timedelta(seconds=2)
        check = applications.usable_check(application.profile_id, application.seat_id, later)
        assert check.id == newer and not applications.override_covers(application, check)
        assert applications.override_needed(application, check)
        (row,) = rows()
        assert row.band == "poor" and not row.overridden and "must review" in row.next_step
        with pytest.raises(DomainError, match="run again after the staff override"):
            applications.move(
                db.session.get(User, me.id),
                application,
                "submitted",
                on=applications.today(),
                version=application.version,
                now=later,
            )
        db.session.rollback()
        application = db.session.get(Application, application_id)
        applications.override(
            db.session.get(User, staff.id),
            application,
            "Reviewed the Leave vote with her: her local record outweighs it.",
            version=application.version,
            now=later,
        )
        db.session.commit()
        application = db.session.get(Application, application_id)
        assert application.override_reason.startswith("Reviewed the Leave vote")
        assert "A long shot the region wants contested." in application.override_reason  # nothing lost
        with pytest.raises(DomainError, match="already has an override"):
            applications.override(
                db.session.get(User, staff.id), application, "x" * 30, version=application.version, now=later
            )
        applications.move(
            db.session.get(User, me.id),
            application,
            "submitted",
            on=applications.today(),
            version=application.version,
            now=later,
        )
        db.session.commit()
        assert db.session.get(Application, application_id).fit_check_id == newer


# --- Reports ------------------------------------------------------------------------------------


def _done_job(app, requested_by, subject_id, *, created_at=None, stored_name=None, kind="portfolio") -> int:
    from d2w.reports import jobs

    with app.app_context():
        job = ReportJob(
            kind=kind,
            subject_id=subject_id,
            requested_by_id=requested_by.id,
            status="done",
            stored_name=stored_name or jobs.store(app, b"%PDF-1.4 hardening"),
            download_name="report.pdf",
            created_at=created_at or datetime.now(UTC),
            finished_at=datetime.now(UTC),
        )
        db.session.add(job)
        db.session.commit()
        return job.id


def test_a_report_older_than_a_day_is_not_served_before_the_cleanup_runs(app, client, people):
    with app.app_context():
        profile_id = _profile_of(people["candidate"]).id
    fresh = _done_job(app, people["candidate"], profile_id)
    old = _done_job(app, people["candidate"], profile_id, created_at=datetime.now(UTC) - timedelta(hours=25))
    login(client, people["candidate"].email)
    assert client.get(f"/reports/jobs/{fresh}/download").status_code == 200
    assert client.get(f"/reports/jobs/{old}/download").status_code == 404
    assert "no longer kept" in client.get(f"/reports/jobs/{old}").get_data(as_text=True)


def test_a_stored_name_outside_the_reports_folder_is_never_read(app, client, people, tmp_path):
    secret = tmp_path / "secret.pdf"  # beside REPORTS_DIR (tmp_path / "reports")
    secret.write_bytes(b"%PDF-1.4 not a report")
    with app.app_context():
        profile_id = _profile_of(people["candidate"]).id
    job_id = _done_job(app, people["candidate"], profile_id, stored_name="../secret.pdf")
    login(client, people["candidate"].email)
    assert client.get(f"/reports/jobs/{job_id}/download").status_code == 404


def test_report_requests_are_capped_per_hour_and_for_everyone(app, client, people, make):
    cohort_id = make.cohort("Capped")
    now = datetime.now(UTC)
    with app.app_context():
        for i in range(30):  # finished ones: no longer pending, still on disk for a day
            db.session.add(
                ReportJob(
                    kind="cohort",
                    subject_id=cohort_id,
                    requested_by_id=people["staff"].id,
                    status="failed",
                    created_at=now - timedelta(minutes=i),
                )
            )
        db.session.commit()
    login(client, people["staff"].email)
    response = post(client, f"/reports/cohort/{cohort_id}", token_from=f"/reports/cohort/{cohort_id}")
    assert response.status_code == 429 and "in the last hour" in response.get_data(as_text=True)

    others = [make.user("staff") for _ in range(7)]
    with app.app_context():
        for ref in others:
            for _ in range(3):
                db.session.add(ReportJob(kind="cohort", subject_id=cohort_id, requested_by_id=ref.id))
        db.session.commit()
        before = db.session.scalar(select(sa.func.count()).select_from(ReportJob))
    admin = app.test_client()
    login(admin, people["admin"].email)
    response = post(admin, f"/reports/cohort/{cohort_id}", token_from=f"/reports/cohort/{cohort_id}")
    assert response.status_code == 429 and "Many reports" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(sa.func.count()).select_from(ReportJob)) == before


def test_the_seat_fit_pdf_made_in_the_request_is_rate_limited(seat_data, app, client, people, monkeypatch):
    from d2w.reports import services as reports
    from d2w.reports import views as report_views
    from d2w.seatfit import services as seatfit

    monkeypatch.setattr(reports, "render", lambda *a, **k: b"%PDF-1.4 quick")
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        check_id = seatfit.run_check(me, _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT), None).id
        db.session.commit()
    login(client, people["candidate"].email)
    allowed = int(report_views.SEATFIT_PDF_LIMIT.split()[0])
    codes = [client.get(f"/reports/seat-fit/{check_id}").status_code for _ in range(allowed + 1)]
    assert codes == [200] * allowed + [429]


def test_a_job_asked_for_as_staff_is_closed_to_its_author_once_they_are_a_candidate(app, client, people):
    from d2w.users import services as users

    with app.app_context():
        other_profile = _profile_of(people["candidate2"]).id
    job_id = _done_job(app, people["staff"], other_profile)
    with app.app_context():
        user = db.session.get(User, people["staff"].id)
        users.update_user(
            db.session.get(User, people["admin"].id),
            user,
            name=user.name,
            role="candidate",
            is_admin=False,
            version=user.version,
        )
        db.session.commit()
    login(client, people["staff"].email)
    for path in (f"/reports/jobs/{job_id}", f"/reports/jobs/{job_id}/status", f"/reports/jobs/{job_id}/download"):
        assert client.get(path).status_code == 404, path


def test_the_clean_up_command_deletes_old_reports(app, people):
    from d2w.reports import jobs

    with app.app_context():
        profile_id = _profile_of(people["candidate"]).id
    old = _done_job(app, people["candidate"], profile_id, created_at=datetime.now(UTC) - timedelta(days=2))
    with app.app_context():
        name = db.session.get(ReportJob, old).stored_name
    stored = Path(app.config["REPORTS_DIR"]) / name
    assert stored.is_file()
    jobs.reset_cleanup_clock()
    result = app.test_cli_runner().invoke(args=["d2w", "report", "clean-up"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 old report file" in result.output
    assert not stored.exists()


# --- Charts and CSV -----------------------------------------------------------------------------


def test_chart_text_given_as_markup_is_still_escaped():
    hostile = Markup('<script>alert(1)</script><a href="javascript:x">')
    outputs = [
        charts.bar_chart(hostile, [("A", 1.0)], desc=hostile),
        charts.line_chart(hostile, ["2024"], [("A", [1.0])], desc=hostile),
        charts.scatter_chart(hostile, [(1.0, 2.0, "a", "b")], x_label=hostile, y_label=hostile, desc=hostile),
        charts.bar_chart(hostile, [], desc=hostile),  # the empty chart
    ]
    for svg in outputs:
        assert "<script" not in svg and "<a " not in svg
        assert "&lt;script&gt;" in svg


@pytest.mark.parametrize(
    "value",
    [' =HYPERLINK("http://evil.example")', "\n=1+1", "\u3000@SUM(A1)", "\uff1dcmd|' /C calc'!A0", "  -2+3"],
)
def test_exports_neutralise_formulas_hidden_behind_blanks_or_full_width_signs(value):
    from d2w.exports import services as exports

    assert exports.export_cell(value).startswith("'")
    body = b"".join(exports.stream_csv(["Name"], [[value]])).decode("utf-8-sig")
    assert body.splitlines()[1].lstrip('"').startswith("'")


def test_exported_names_with_full_width_formulas_are_neutralised(app, client, people, make):
    make.user("candidate", name='\uff1dHYPERLINK("http://evil.example","Click")')
    login(client, people["staff"].email)
    body = client.get("/exports/candidates.csv").get_data().decode("utf-8-sig")
    assert "'\uff1dHYPERLINK" in body


# --- CSRF and odd input on every new route ------------------------------------------------------

NEW_POST_ROUTES = (
    "/seat-fit/new?profile={profile}",
    "/applications/new?profile={profile}&seat={seat}",
    "/applications/{application}/move",
    "/applications/{application}/override",
    "/reports/portfolio/{profile}",
    "/reports/cohort/{cohort}",
    "/exports/candidates.csv",
)


def _objects(app, people, make) -> dict:
    from d2w.seatfit import services as seatfit

    cohort = make.cohort("Walked")
    make.enrol(cohort, people["candidate"])
    with app.app_context():
        me = db.session.get(User, people["candidate"].id)
        profile, seat = _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT)
        check = seatfit.run_check(me, profile, seat, "leave")
        application = applications.create_application(me, profile, seat, "")
        job = ReportJob(kind="portfolio", subject_id=profile.id, requested_by_id=me.id, status="failed")
        db.session.add(job)
        db.session.commit()
        return {
            "profile": profile.id,
            "seat": _seat_by_code(BRISTOL_CENTRAL).id,
            "own_seat": seat.id,
            "check": check.id,
            "application": application.id,
            "job": job.id,
            "cohort": cohort,
        }


def test_every_new_post_refuses_a_missing_csrf_token_and_changes_nothing(seat_data, app, client, people, make):
    ids = _objects(app, people, make)
    login(client, people["admin"].email)
    with app.app_context():
        counts = [
            db.session.scalar(select(sa.func.count()).select_from(m)) for m in (SeatFitCheck, Application, ReportJob)
        ]
    for path in NEW_POST_ROUTES:
        response = client.post(
            path.format(**ids), data={"seat": ALDERSHOT, "reason": "x" * 40, "to_status": "withdrawn"}
        )
        assert response.status_code == 400, path
    with app.app_context():
        after = [
            db.session.scalar(select(sa.func.count()).select_from(m)) for m in (SeatFitCheck, Application, ReportJob)
        ]
        assert after == counts
        assert db.session.get(Application, ids["application"]).status == "considering"


NEW_GET_ROUTES = (
    "/seats/",
    "/seats/{own_seat}",
    "/seats/analysis",
    "/seat-fit/",
    "/seat-fit/new",
    "/seat-fit/{check}",
    "/seat-fit/rank/{profile}",
    "/seat-fit/compare",
    "/applications/mine",
    "/applications/",
    "/applications/new",
    "/applications/{application}",
    "/reports/portfolio/{profile}",
    "/reports/cohort/{cohort}",
    "/reports/jobs/{job}",
    "/reports/jobs/{job}/status",
    "/reports/jobs/{job}/download",
    "/dashboard/",
    "/exports/",
    "/exports/attendance.csv",
)
QUERY_NAMES = (
    "boundaries", "country", "region", "winner", "leave_min", "leave_max", "bme_min", "bme_max", "majority_min",
    "majority_max", "q", "sort", "dir", "page", "election", "bme_threshold", "profile", "seat", "stance", "band",
    "cohort", "status", "who",
)  # fmt: skip
ODD_VALUES = ("nan", "-1e309", "99999999999999999999999", "%C2%B2", "9999-12-31", "x" * 300)
ODD_IDS = ("0", "2147483648", "99999999999999999999999")


def test_no_new_route_answers_500_to_any_role_or_odd_input(seat_data, app, people, make):
    """Every GET of the new features, as each role, with odd ids and every query argument set to
    odd values (NaN, overflowing numbers, non-ASCII digits, far dates, very long text)."""
    ids = _objects(app, people, make)
    errors = []
    for role in ("admin", "mentor", "candidate", "candidate2"):
        client = app.test_client()
        login(client, people[role].email)
        for template in NEW_GET_ROUTES:
            paths = [template.format(**ids)]
            for key in ("own_seat", "check", "profile", "application", "cohort", "job"):
                if "{" + key + "}" in template:
                    paths += [template.replace("{" + key + "}", odd).format(**ids) for odd in ODD_IDS]
            base = template.format(**ids)
            paths += [base + "?" + "&".join(f"{n}={v}" for n in QUERY_NAMES) for v in ODD_VALUES]
            for path in paths:
                response = client.get(path)
                response.close()
                if response.status_code >= 500:
                    errors.append((role, path[:100], response.status_code))
    assert errors == []


def test_a_negative_zero_filter_reads_as_zero(seat_data, client, people):
    from d2w.seats.queries import parse_filters

    assert parse_filters({"bme_min": "-0", "leave_max": "-0%"}).as_args() == {
        "boundaries": "2024",
        "leave_max": "0",
        "bme_min": "0",
    }
    login(client, people["staff"].email)
    body = client.get("/seats/analysis?bme_threshold=-0").get_data(as_text=True)
    assert "-0%" not in body and "of 0% or more" in body


def test_staff_seeing_a_referendum_vote_on_seat_fit_pages_is_audited(seat_data, app, people):
    """The seat-fit pages showed staff a candidate's declared vote ("Referendum vote on the
    profile: Leave", the ranking's "As on the profile (Leave)", a check's stance) with no audit
    entry, unlike every other staff read of a self-declared answer."""
    from d2w.seatfit import services as seatfit

    _declare(app, people["candidate"], "leave")
    with app.app_context():
        profile_id = _profile_of(people["candidate"]).id
        other_id = _profile_of(people["candidate2"]).id  # no vote recorded
        seat_id = _seat_by_code(ALDERSHOT).id
        me = db.session.get(User, people["candidate"].id)
        check_id = seatfit.run_check(me, _profile_of(people["candidate"]), _seat_by_code(ALDERSHOT), None).id
        db.session.commit()

    def viewed():
        with app.app_context():
            return [
                (e.actor_id, e.object_id, e.summary)
                for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed"))
            ]

    own = app.test_client()
    login(own, people["candidate"].email)
    for path in ("/seat-fit/new", f"/seat-fit/{check_id}", f"/seat-fit/compare?seat={seat_id}"):
        assert own.get(path).status_code == 200
    assert viewed() == []  # the candidate's own answer

    staff = app.test_client()
    login(staff, people["staff"].email)
    assert staff.get(f"/seat-fit/new?profile={other_id}").status_code == 200
    assert viewed() == []  # nothing recorded, nothing read
    for path in (
        f"/seat-fit/new?profile={profile_id}",
        f"/seat-fit/{check_id}",
        f"/seat-fit/rank/{profile_id}?region=London",
        f"/seat-fit/compare?profile={profile_id}&seat={seat_id}",
    ):
        assert staff.get(path).status_code == 200, path
    events = viewed()
    assert len(events) == 4
    assert {(actor, obj) for actor, obj, _ in events} == {(people["staff"].id, str(profile_id))}
    assert all("leave" not in (summary or "").lower() for _, _, summary in events)
    # A what-if stance chosen on the page is the staff member's own input: no read.
    assert staff.get(f"/seat-fit/compare?profile={profile_id}&seat={seat_id}&stance=remain").status_code == 200
    assert len(viewed()) == 4
