"""Cohorts, capacity-safe enrolment, invitations and the CSV import."""

from __future__ import annotations

import csv
import html
import io
import threading
from datetime import date
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.candidates.services import profile_of
from d2w.cohorts import importer, services
from d2w.cohorts.models import Cohort, Enrolment
from d2w.core.csvio import safe_cell, write_csv
from d2w.core.errors import DomainError
from d2w.core.extensions import db
from tests.conftest import count_queries, csrf_token, login, post, run_at_once


def _count(model) -> int:
    return db.session.scalar(select(sa.func.count()).select_from(model))


def test_create_cohort_through_the_form(app, client, people):
    login(client, people["staff"].email)
    token = csrf_token(client, "/cohorts/new")
    data = {
        "csrf_token": token,
        "name": "London BME 2026-27",
        "focus": "bme",
        "region": "London",
        "intake_start": "2026-09-01",
        "intake_end": "2027-07-31",
        "capacity": "24",
    }
    response = client.post("/cohorts/new", data=data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "London BME 2026-27" in page
    assert "0 taken of 24" in page


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"name": ""}, "Enter a name."),
        ({"focus": ""}, "Choose the cohort's focus."),
        ({"intake_end": "2026-01-01"}, "The intake must end on or after its start."),
        ({"intake_start": "not a date"}, "Not a valid date value."),
        ({"capacity": "0"}, "Enter a number from 1 to 1,000."),
        ({"capacity": "lots"}, "Not a valid integer value."),
        ({"region": "Narnia"}, "Not a valid choice."),
        ({"name": "existing cohort"}, "There is already a cohort with this name."),
    ],
)
def test_cohort_form_refuses_bad_input(app, client, people, make, changes, message):
    make.cohort("Existing Cohort")
    login(client, people["staff"].email)
    token = csrf_token(client, "/cohorts/new")
    data = {
        "csrf_token": token,
        "name": "New one",
        "focus": "young",
        "region": "",
        "intake_start": "2026-09-01",
        "intake_end": "2027-07-31",
        "capacity": "10",
        **changes,
    }
    response = client.post("/cohorts/new", data=data)
    assert response.status_code == 200
    assert message in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert _count(Cohort) == 1


def test_enrol_and_withdraw_through_the_page(app, client, people, make):
    cohort_id = make.cohort("Small", capacity=1)
    login(client, people["staff"].email)
    response = post(client, f"/cohorts/{cohort_id}/enrol", {"email": "CANDIDATE@example.org"})
    assert response.status_code == 302
    page = client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Chidi Candidate enrolled." in page
    assert "1 taken of 1" in page
    post(client, f"/cohorts/{cohort_id}/enrol", {"email": "candidate2@example.org"})
    assert "Small is full (1 places)." in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    post(client, f"/cohorts/{cohort_id}/enrol", {"email": "mentor@example.org"})
    assert "There is no candidate with that e-mail address." in client.get(f"/cohorts/{cohort_id}").get_data(
        as_text=True
    )
    with app.app_context():
        enrolment = db.session.scalars(select(Enrolment)).one()
        profile = db.session.get(CandidateProfile, enrolment.profile_id)
        assert profile.stage == "in_programme"
    post(client, f"/cohorts/{cohort_id}/enrolments/{enrolment.id}/withdraw")
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).places_taken == 0
    post(client, f"/cohorts/{cohort_id}/enrol", {"email": "candidate2@example.org"})
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).places_taken == 1


def test_withdraw_of_another_cohorts_enrolment_is_404(app, client, people, make):
    a = make.cohort("A")
    b = make.cohort("B")
    make.enrol(a, people["candidate"])
    with app.app_context():
        enrolment = db.session.scalars(select(Enrolment)).one()
    login(client, people["staff"].email)
    assert post(client, f"/cohorts/{b}/enrolments/{enrolment.id}/withdraw").status_code == 404


def test_capacity_is_a_database_constraint(app, people, make):
    cohort_id = make.cohort("Tight", capacity=2)
    with app.app_context(), pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cohorts SET places_taken = 3 WHERE id = :id"), {"id": cohort_id})


def test_two_enrolments_into_the_last_place_one_succeeds(app, people, make):
    """Two staff enrol different candidates into the last place at the same moment."""
    cohort_id = make.cohort("Last place", capacity=1)
    staff = make.user("staff")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(candidate_ref):
        with app.app_context():
            actor = db.session.get(User, staff.id)
            cohort = db.session.get(Cohort, cohort_id)
            profile = profile_of(db.session.get(User, candidate_ref.id))
            barrier.wait()
            try:
                services.enrol(actor, cohort, profile)
                db.session.commit()
                results.append("ok")
            except (DomainError, sa.exc.OperationalError, sa.exc.IntegrityError):
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    run_at_once(*(partial(attempt, people[k]) for k in ("candidate", "candidate2")))
    assert sorted(results) == ["ok", "refused"]
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).places_taken == 1
        assert _count(Enrolment) == 1


def test_close_cohort_completes_active_and_stops_enrolment(app, client, people, make):
    cohort_id = make.cohort("Closing")
    make.enrol(cohort_id, people["candidate"])
    login(client, people["staff"].email)
    post(client, f"/cohorts/{cohort_id}/close")
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status == "closed"
        assert db.session.scalars(select(Enrolment.status)).all() == ["completed"]
    post(client, f"/cohorts/{cohort_id}/enrol", {"email": "candidate2@example.org"})
    assert "This cohort is closed." in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    post(client, f"/cohorts/{cohort_id}/reopen")
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status == "open"


def test_capacity_cannot_drop_below_places_taken(app, people, make):
    cohort_id = make.cohort("Shrink", capacity=3)
    make.enrol(cohort_id, people["candidate"])
    make.enrol(cohort_id, people["candidate2"])
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        fields = services.CohortFields(
            cohort.name, cohort.focus, cohort.intake_start, cohort.intake_end, 1, cohort.region
        )
        with pytest.raises(DomainError, match="2 places are already taken"):
            services.update_cohort(db.session.get(User, people["staff"].id), cohort, fields, version=cohort.version)


def test_invite_enrolled_candidates(app, client, people, make, outbox):
    cohort_id = make.cohort("Invites")
    with app.app_context():
        actor = db.session.get(User, people["admin"].id)
        from d2w.users.services import create_user

        newcomer = create_user(actor, email="newcomer@example.org", name="New Comer", role="candidate")
        services.enrol(actor, db.session.get(Cohort, cohort_id), profile_of(newcomer))
        db.session.commit()
    make.enrol(cohort_id, people["candidate"])  # already has a password: not invited
    login(client, people["staff"].email)
    page = client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Invite 1 without an account" in page
    post(client, f"/cohorts/{cohort_id}/invite")
    messages = outbox()
    assert [m["To"] for m in messages] == ["newcomer@example.org"]
    assert "/auth/set-password/" in messages[0].get_content()


# ---------------------------------------------------------------------------------------------
# CSV import


def _csv(rows, header=importer.COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _rows(n, start=0):
    return [
        (f"Person {i:02d}", f"person{i}@example.org", "", "London", "Hackney", "English; Turkish")
        for i in range(start, start + n)
    ]


def test_check_file_reports_every_bad_row():
    data = _csv(
        [
            ("", "a@example.org", "", "", "", ""),
            ("Bob", "not-an-email", "", "", "", ""),
            ("Cat", "dup@example.org", "", "Mars", "", ""),
            ("Dee", "DUP@example.org", "", "", "", ""),
            ("Eve", "taken@example.org", "", "", "", ""),
            ("Fay", "fay@example.org", "", "london", "", "English"),
        ]
    )
    preview = importer.check_file(data, existing_emails={"taken@example.org"}, places_left=10, max_rows=100)
    assert not preview.ok
    errors = {r.number: r.errors for r in preview.rows}
    assert errors[2] == ["name is missing"]
    assert "is not a valid address" in errors[3][0]
    assert "is not one of" in errors[4][0]
    assert errors[5] == ["email dup@example.org is also on line 4"]
    assert errors[6] == ["email taken@example.org already has an account"]
    assert errors[7] == []
    assert preview.rows[5].home_region == "London"


def test_check_file_over_capacity_and_file_errors():
    preview = importer.check_file(_csv(_rows(5)), existing_emails=set(), places_left=3, max_rows=100)
    assert [bool(r.errors) for r in preview.rows] == [False, False, False, True, True]
    assert "over capacity" in preview.rows[3].errors[0]
    for data, message in [
        (b"", "empty"),
        (b"\x00\x01binary", "does not look like a CSV"),
        (b"nom,courriel\nx,y\n", "missing: name, email"),
        (_csv([], importer.COLUMNS), "no candidates"),
        (_csv(_rows(3)), "at most 2"),
    ]:
        p = importer.check_file(data, existing_emails=set(), places_left=10, max_rows=2)
        assert not p.ok
        assert any(message in e for e in p.file_errors), (message, p.file_errors)


def test_windows_1252_and_bom_files_are_read():
    text = "name,email\nJosé Núñez,jose@example.org\n"
    for data in (text.encode("cp1252"), ("\ufeff" + text).encode("utf-8")):
        preview = importer.check_file(data, existing_emails=set(), places_left=5, max_rows=10)
        assert preview.ok and preview.rows[0].name == "José Núñez"


def test_import_journey_bad_file_refused_fixed_file_imported(app, client, people, make):
    cohort_id = make.cohort("Import me", capacity=25)
    login(client, people["staff"].email)
    rows = _rows(20)
    rows[7] = ("Broken Row", "broken-at-example.org", "", "", "", "")
    token = csrf_token(client, f"/cohorts/{cohort_id}/import")
    response = client.post(
        f"/cohorts/{cohort_id}/import",
        data={"csrf_token": token, "file": (io.BytesIO(_csv(rows)), "candidates.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    body = html.unescape(response.get_data(as_text=True))
    assert "Line 9: email “broken-at-example.org” is not a valid address" in body
    assert "Import 20 candidates" not in body
    with app.app_context():
        assert _count(Enrolment) == 0 and db.session.get(Cohort, cohort_id).places_taken == 0

    rows[7] = ("Fixed Row", "fixed@example.org", "", "", "", "")
    response = client.post(
        f"/cohorts/{cohort_id}/import",
        data={"csrf_token": token, "file": (io.BytesIO(_csv(rows)), "candidates.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Import 20 candidates" in body
    with app.app_context():
        assert _count(Enrolment) == 0  # the preview writes nothing
    encoded = body.split('name="data" type="hidden" value="')[1].split('"')[0]
    response = client.post(f"/cohorts/{cohort_id}/import/confirm", data={"csrf_token": token, "data": encoded})
    assert response.status_code == 302
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        assert cohort.places_taken == 20
        assert _count(Enrolment) == 20
        fixed = db.session.scalar(select(User).where(User.email == "fixed@example.org"))
        profile = profile_of(fixed)
        assert fixed.role == "candidate" and not fixed.has_password
        assert profile.stage == "in_programme"
        assert profile_of(db.session.scalar(select(User).where(User.email == "person0@example.org"))).language_list == [
            "English",
            "Turkish",
        ]


def test_confirm_rechecks_and_writes_nothing_if_the_world_changed(app, client, people, make):
    cohort_id = make.cohort("Race", capacity=3)
    data = _csv(_rows(2) + [("Chidi Again", "candidate@example.org", "", "", "", "")])
    login(client, people["staff"].email)
    import base64

    token = csrf_token(client, f"/cohorts/{cohort_id}/import")
    response = client.post(
        f"/cohorts/{cohort_id}/import/confirm", data={"csrf_token": token, "data": base64.b64encode(data).decode()}
    )
    assert response.status_code == 409
    assert "already has an account" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Enrolment) == 0
        assert db.session.scalar(select(User).where(User.email == "person0@example.org")) is None


def test_confirm_with_garbage_is_a_400(app, client, people, make):
    cohort_id = make.cohort("Garbage")
    login(client, people["staff"].email)
    token = csrf_token(client, f"/cohorts/{cohort_id}/import")
    assert (
        client.post(f"/cohorts/{cohort_id}/import/confirm", data={"csrf_token": token, "data": "%%%"}).status_code
        == 400
    )


def test_import_without_a_file_says_so(app, client, people, make):
    cohort_id = make.cohort("Nofile")
    login(client, people["staff"].email)
    token = csrf_token(client, f"/cohorts/{cohort_id}/import")
    response = client.post(
        f"/cohorts/{cohort_id}/import", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert "Choose a CSV file." in response.get_data(as_text=True)


def test_template_csv_downloads_and_matches_the_importer(app, client, people):
    login(client, people["staff"].email)
    response = client.get("/cohorts/import-template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    preview = importer.check_file(response.data, existing_emails=set(), places_left=10, max_rows=10)
    assert preview.ok, preview


def test_formula_cells_are_neutralised_on_export():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    for start in ("+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "x").startswith("'")
    assert safe_cell("Ordinary, name") == "Ordinary, name"
    data = write_csv(["name"], [["=cmd|' /C calc'!A0"], ['Zoë "Z" O\'Brien,\nJr']])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["name"], ["'=cmd|' /C calc'!A0"], ['Zoë "Z" O\'Brien,\nJr']]


def test_imported_formula_text_is_stored_as_typed(app, people, make):
    cohort_id = make.cohort("Formulas")
    data = _csv([("=SUM(1+1)", "formula@example.org", "", "", "", "")])
    with app.app_context():
        actor = db.session.get(User, people["staff"].id)
        services.import_candidates(actor, db.session.get(Cohort, cohort_id), data, max_rows=10)
        db.session.commit()
        assert db.session.scalar(select(User.name).where(User.email == "formula@example.org")) == "=SUM(1+1)"


# ---------------------------------------------------------------------------------------------
# Query counts


def test_cohort_page_query_count_is_fixed(app, client, people, make):
    from tests.test_candidates import _bulk_candidates

    cohort_id = make.cohort("Counted", capacity=1000)
    _bulk_candidates(app, cohort_id, 10)
    login(client, people["staff"].email)
    with count_queries(app) as few:
        assert client.get(f"/cohorts/{cohort_id}").status_code == 200
    _bulk_candidates(app, cohort_id, 490, start=10)
    with count_queries(app) as many:
        response = client.get(f"/cohorts/{cohort_id}")
    assert response.status_code == 200
    assert "Candidates (500)" in response.get_data(as_text=True)
    assert len(few) == len(many), (len(few), len(many))


def test_cohort_list(app, client, people, make):
    make.cohort("Alpha", start=date(2025, 1, 1), end=date(2025, 6, 1))
    make.cohort("Beta", start=date(2026, 1, 1), end=date(2026, 6, 1))
    login(client, people["staff"].email)
    page = client.get("/cohorts/").get_data(as_text=True)
    assert page.index("Beta") < page.index("Alpha")  # newest intake first
    page = client.get("/cohorts/?q=alp").get_data(as_text=True)
    assert "Alpha" in page and "Beta" not in page


def test_the_cohort_list_columns_match_the_cohorts(app, client, people, make):
    """The list's column query: the same cohorts, order and facts as the models, for each sort,
    filter and page; and two queries for the page."""
    from d2w.core.pagination import Sort
    from tests.conftest import page_queries

    for i, (name, region, focus) in enumerate(
        [("Alpha", "London", "bme"), ("beta", None, "young"), ("Gamma", "Wales", "both"), ("Delta", "London", "both")]
    ):
        make.cohort(
            name, region=region, focus=focus, start=date(2025, 1 + i, 1), end=date(2025, 7 + i, 1), capacity=5 + i
        )
    with app.app_context():
        closed = db.session.scalar(select(Cohort).where(Cohort.name == "Gamma"))
        closed.status, closed.places_taken = "closed", 3
        db.session.commit()
        for key in services.LIST_SORTS:
            for descending in (False, True):
                for status, q, page in (
                    (None, None, 1),
                    ("open", None, 1),
                    (None, "A", 1),
                    (None, None, 2),
                    # the kept statements again, with other values
                    ("closed", None, 1),
                    (None, "ga", 1),
                    ("open", "e", 1),
                    ("closed", "zz", 1),
                ):
                    sort = Sort(key=key, descending=descending)
                    rows = services.cohort_list(status=status, q=q, sort=sort, page=page, per_page=3)
                    stmt = select(Cohort)
                    if status:
                        stmt = stmt.where(Cohort.status == status)
                    if q:
                        stmt = stmt.where(func.lower(Cohort.name).like(f"%{q.lower()}%"))
                    column = services.LIST_SORTS[key]
                    stmt = stmt.order_by(column.desc() if descending else column.asc(), Cohort.id)
                    models = db.session.scalars(stmt.limit(3).offset((page - 1) * 3)).all()
                    shown = [
                        (
                            r.id,
                            r.name,
                            r.focus_label,
                            r.region,
                            r.intake_start,
                            r.intake_end,
                            r.places_taken,
                            r.capacity,
                            r.is_open,
                        )
                        for r in rows.items
                    ]
                    assert shown == [
                        (
                            c.id,
                            c.name,
                            c.focus_label,
                            c.region,
                            c.intake_start,
                            c.intake_end,
                            c.places_taken,
                            c.capacity,
                            c.is_open,
                        )
                        for c in models
                    ], (key, descending, status, q, page)
                    assert rows.total == len(db.session.scalars(stmt).all())
    login(client, people["staff"].email)
    assert len(page_queries(app, client, "/cohorts/?sort=name")) == 2  # the count and the page
    page = client.get("/cohorts/?status=closed").get_data(as_text=True)
    assert "Gamma" in page and "Alpha" not in page and "Closed" in page


def test_the_cohort_pages_roster_columns_match_the_roster(app, make):
    """The page's column query lists the same people, in the same order, with the same account
    states, as the roster that services use."""
    from tests.test_candidates import _bulk_candidates

    cohort_id = make.cohort("Columns", capacity=100)
    _bulk_candidates(app, cohort_id, 12)
    with app.app_context():
        users = db.session.scalars(select(User).where(User.email.like("bulk%")).order_by(User.id)).all()
        users[0].active = False
        users[1].password_hash = "set"  # signed up
        users[2].name = "aaron lower-case"  # case-blind order
        db.session.commit()
        full = services.roster(cohort_id)
        rows = services.roster_rows(cohort_id)
        assert [(r.enrolment_id, r.profile_id, r.name, r.active, r.has_password, r.status_label) for r in rows] == [
            (e.id, p.id, p.user.name, p.user.active, p.user.has_password, e.status_label) for e, p in full
        ]
        assert rows[0].name == "aaron lower-case"
        assert sum(1 for r in rows if not r.active) == 1 and sum(1 for r in rows if r.has_password) == 1
