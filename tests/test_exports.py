"""CSV exports: role-gated (see DASHBOARD_MATRIX in test_dashboard.py), audited, UTF-8 with a BOM
that Excel opens correctly, CRLF lines, formula cells neutralised, self-declared answers only when
asked for, streamed in batches with a fixed number of queries per batch."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates import services as candidates
from d2w.candidates.models import CandidateProfile
from d2w.core.errors import Forbidden
from d2w.core.extensions import db
from d2w.exports import services
from tests.conftest import count_queries, csrf_token
from tests.test_dashboard import World

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+44 20 7946 0000", "-2+3", "@SUM(A1:A2)", "\tTabbed", "\rReturn"]


@pytest.fixture
def world(app, people):
    return World(app, people)


def read(response) -> tuple[bytes, list[list[str]]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    return body, rows


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, r, strict=True)) for r in body]


def audit_rows(app, prefix: str = "export.") -> list[tuple[str, str, int | None]]:
    with app.app_context():
        return [
            tuple(r)
            for r in db.session.execute(
                select(AuditEvent.action, AuditEvent.summary, AuditEvent.actor_id)
                .where(AuditEvent.action.like(prefix + "%"))
                .order_by(AuditEvent.id)
            )
        ]


def _set(app, profile_id: int, **fields):
    with app.app_context():
        profile = db.session.get(CandidateProfile, profile_id)
        for name, value in fields.items():
            if name == "name":
                profile.user.name = value
            else:
                setattr(profile, name, value)
        db.session.commit()


# ---------------------------------------------------------------------------------------------
# Round trip


def test_candidates_csv_round_trips_awkward_text_and_neutralises_formulas(app, people, world, login_as):
    awkward = 'Zoë "Zee" Ó Dálaigh, Jr.'
    (a,) = world.candidates(1, name="placeholder")
    _set(
        app,
        a,
        name=awkward,
        community_links='Line one, with a comma\nLine two, "quoted"\r\nLine three: café, naïve, Łódź',
        home_borough="Tower Hamlets",
        friends_of_groups="Friends of Mile End Park",
    )
    formula_ids = world.candidates(len(FORMULAS), name="formula")
    for pid, formula in zip(formula_ids, FORMULAS, strict=True):
        _set(app, pid, name=formula, phone=formula, postcode=None)
    client = login_as(people["staff"])
    response = client.get("/exports/candidates.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="d2w-candidates-')
    body, rows = read(response)
    # CRLF between records; a newline inside a quoted cell stays as it was.
    assert body.count(b"\r\n") >= len(rows)
    assert rows[0] == list(services.CANDIDATE_HEADER)
    by_id = {r["Profile id"]: r for r in as_dicts(rows)}
    row = by_id[str(a)]
    assert row["Name"] == awkward
    assert row["Community links"] == 'Line one, with a comma\nLine two, "quoted"\r\nLine three: café, naïve, Łódź'
    assert row["Home borough"] == "Tower Hamlets"
    for pid, formula in zip(formula_ids, FORMULAS, strict=True):
        assert by_id[str(pid)]["Name"] == "'" + formula
        assert by_id[str(pid)]["Phone"] == "'" + formula
    # Nothing else in the file starts like a formula.
    for cells in rows:
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert len(rows) == 1 + 1 + len(FORMULAS) + 2  # header, a, the formulas, the two people fixtures


def test_stream_csv_matches_write_csv():
    from d2w.core.csvio import write_csv

    header = ["a", "=b"]
    rows = [[1, "x,y"], ["@z", None], ["é\n", 'q"']] * 300
    assert b"".join(services.stream_csv(header, rows, rows_per_chunk=7)) == write_csv(header, rows)
    assert len(list(services.stream_csv(header, rows, rows_per_chunk=100))) == 10


# ---------------------------------------------------------------------------------------------
# Self-declared answers


def test_self_declared_answers_only_when_ticked_and_audited(app, people, world, login_as):
    (a,) = world.candidates(1, ethnic_group="black_caribbean", born=date(1994, 3, 27))
    (b,) = world.candidates(1, ethnic_group="prefer_not_to_say")
    client = login_as(people["staff"])

    # GET never includes them, whatever the query string says.
    _, rows = read(client.get("/exports/candidates.csv?self_declared=y"))
    assert "Ethnic group" not in rows[0]
    assert not any("Caribbean" in cell for r in rows for cell in r)

    # Posted from the exports page without the box ticked: not included.
    token = csrf_token(client, "/exports/")
    _, rows = read(client.post("/exports/candidates.csv", data={"csrf_token": token, "cohort": ""}))
    assert "Ethnic group" not in rows[0]

    # Ticked: included, with "Not answered" and "Prefer not to say" kept apart.
    response = client.post("/exports/candidates.csv", data={"csrf_token": token, "cohort": "", "self_declared": "y"})
    assert "with-self-declared" in response.headers["Content-Disposition"]
    _, rows = read(response)
    assert rows[0][-3:] == ["Ethnic group", "Date of birth", "2016 EU referendum vote"]
    by_id = {r["Profile id"]: r for r in as_dicts(rows)}
    assert by_id[str(a)]["Ethnic group"] == "Black, Black British, Black Welsh, Caribbean or African: Caribbean"
    assert by_id[str(a)]["Date of birth"] == "1994-03-27"
    assert by_id[str(a)]["2016 EU referendum vote"] == "Not answered"
    assert by_id[str(b)]["Ethnic group"] == "Prefer not to say"

    # Without a CSRF token the post is refused and nothing is recorded.
    before = audit_rows(app)
    assert client.post("/exports/candidates.csv", data={"self_declared": "y"}).status_code == 400
    assert audit_rows(app) == before

    assert [action for action, _, _ in audit_rows(app)] == [
        "export.candidates",
        "export.candidates",
        "export.candidates_self_declared",
    ]
    action, summary, actor = audit_rows(app)[-1]
    assert summary == "4 rows, with ethnic group, date of birth and referendum vote"
    assert actor == people["staff"].id
    with app.app_context():  # an export is not a per-candidate read
        assert not db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "sensitive.viewed"))


def test_only_staff_may_export_self_declared_answers(app, people):
    with app.app_context():
        mentor = db.session.get(User, people["mentor"].id)
        staff = db.session.get(User, people["staff"].id)
        with pytest.raises(Forbidden):
            services.prepare(mentor, "candidates")
        with pytest.raises(Forbidden):
            services.prepare(staff, "attendance", self_declared=True)
        assert services.prepare(staff, "candidates", self_declared=True).self_declared


# ---------------------------------------------------------------------------------------------
# The four exports, filters and audit


def test_every_export_with_a_cohort_filter(seat_data, app, people, world, login_as):
    cohort = world.cohort("Export cohort")
    a, b = world.candidates(2, cohort_id=cohort, region="London", name="Inside")
    (c,) = world.candidates(1, name="Outside")
    world.session(cohort, datetime(2026, 6, 1, 17, 0, tzinfo=UTC), {a: "present", b: "late"})
    other = world.cohort("Other export cohort")
    world.session(other, datetime(2026, 6, 2, 17, 0, tzinfo=UTC), {c: "absent"}, cancelled=True)
    world.milestone(a, "Running a free English", people=12, volunteers=2)
    world.milestone(c, "A voter-registration", status="logged")
    world.application(a, "considering", 0)
    world.application(c, "withdrawn", 1)
    client = login_as(people["admin"])

    everyone = {kind: as_dicts(read(client.get(f"/exports/{kind}.csv"))[1]) for kind in services.KINDS}
    assert len(everyone["candidates"]) == 5  # three here and the two people fixtures
    assert len(everyone["attendance"]) == 3 and len(everyone["milestones"]) == 2 and len(everyone["applications"]) == 2

    only = {kind: as_dicts(read(client.get(f"/exports/{kind}.csv?cohort={cohort}"))[1]) for kind in services.KINDS}
    assert sorted(r["Name"] for r in only["candidates"]) == ["Inside 1", "Inside 2"]
    assert only["candidates"][0]["Cohorts (current places)"] == "Export cohort (active)"
    assert only["candidates"][0]["Stage"] == "In programme"
    assert [(r["Candidate"], r["Mark"], r["Session cancelled"]) for r in only["attendance"]] == [
        ("Inside 1", "Present", "no"),
        ("Inside 2", "Late", "no"),
    ]
    assert only["attendance"][0]["Session starts (UK time)"] == "2026-06-01 18:00"  # BST
    (m,) = only["milestones"]
    assert (m["Candidate"], m["Status"], m["People reached"]) == ("Inside 1", "Verified", "12")
    assert m["Category"] == "Classes and clubs"
    (app_row,) = only["applications"]
    assert (app_row["Candidate"], app_row["Status"]) == ("Inside 1", "Considering")
    assert app_row["Poor fit overridden"] == "no"

    actions = audit_rows(app)
    assert len(actions) == 8
    assert actions[4] == ("export.candidates", "2 rows, cohort Export cohort", people["admin"].id)
    assert ("export.attendance", "3 rows", people["admin"].id) in actions
    # The audit entry names counts and filters, never a value from the file.
    assert not any("Inside" in summary or "Outside" in summary for _, summary, _ in actions)


@pytest.mark.parametrize("query", ["?cohort=999999", "?cohort=abc", "?cohort=0", "?cohort=-1"])
def test_an_unknown_cohort_is_not_found_and_not_audited(app, people, login_as, query):
    client = login_as(people["staff"])
    for kind in services.KINDS:
        assert client.get(f"/exports/{kind}.csv{query}").status_code == 404
    assert audit_rows(app) == []


def test_exports_page_lists_the_four_with_counts(app, people, world, login_as):
    cohort = world.cohort("Page cohort")
    world.candidates(3, cohort_id=cohort)
    client = login_as(people["staff"])
    html = client.get(f"/exports/?cohort={cohort}").get_data(as_text=True)
    for kind in services.KINDS.values():
        assert kind.title in html
    assert f'href="/exports/attendance.csv?cohort={cohort}"' in html
    assert f'name="cohort" type="hidden" value="{cohort}"' in html
    assert "3 rows." in html
    assert "Include self-declared answers" in html
    assert client.get("/exports/?cohort=999999").status_code == 400
    assert audit_rows(app) == []  # looking at the page downloads nothing


# ---------------------------------------------------------------------------------------------
# Streaming and query counts


def _export_queries(app, client, path: str) -> tuple[int, int]:
    with count_queries(app) as statements:
        response = client.get(path)
        assert response.is_streamed
        _, rows = read(response)
    return len(statements), len(rows) - 1


def test_query_count_is_fixed_per_batch(app, people, world, login_as, monkeypatch):
    client = login_as(people["staff"])
    client.get("/exports/candidates.csv")
    world.candidates(10, region="London")
    few, n_few = _export_queries(app, client, "/exports/candidates.csv")
    world.candidates(15, region="London")
    many, n_many = _export_queries(app, client, "/exports/candidates.csv")
    assert (n_few, n_many) == (12, 27)
    assert few == many  # one batch either way
    monkeypatch.setattr(services, "BATCH_SIZE", 5)
    small_batches, n = _export_queries(app, client, "/exports/candidates.csv")
    assert n == 27
    # Six batches instead of one, three queries each (profiles, languages, places).
    assert small_batches - many == (6 - 1) * 3


def test_five_thousand_candidates_stream_in_batches(app, people, login_as, monkeypatch):
    """Made with two bulk inserts; exported in ten batches of 500."""
    with app.app_context():
        start = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) + 1
        db.session.execute(
            insert(User),
            [
                {
                    "id": start + i,
                    "email": f"bulk{i}@example.org",
                    "name": f"Bulk Candidate {i:04d}",
                    "role": "candidate",
                    "active": True,
                }
                for i in range(5000)
            ],
        )
        db.session.execute(insert(CandidateProfile), [{"user_id": start + i} for i in range(5000)])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("SELECT setval('users_id_seq', (SELECT max(id) FROM users))"))
            db.session.commit()
    client = login_as(people["staff"])
    with count_queries(app) as statements:
        response = client.get("/exports/candidates.csv")
        chunks = list(response.response)
    body = b"".join(chunks)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + 5002
    assert len(chunks) > 20  # written out as it is read, not in one piece
    batches = len([s for s in statements if "FROM candidate_profiles JOIN users" in s and "LIMIT" in s])
    assert batches == 11  # ten full batches and one of the last two
    assert len(statements) < 11 * 3 + 15
    assert audit_rows(app)[-1][:2] == ("export.candidates", "5,002 rows")


def test_candidate_sensitive_export_costs_one_more_query_per_batch(app, people, world, login_as):
    world.candidates(3, ethnic_group="asian_chinese")
    client = login_as(people["staff"])
    token = csrf_token(client, "/exports/")
    with count_queries(app) as without:
        read(client.post("/exports/candidates.csv", data={"csrf_token": token}))
    with count_queries(app) as with_answers:
        read(client.post("/exports/candidates.csv", data={"csrf_token": token, "self_declared": "y"}))
    assert len(with_answers) == len(without) + 1


def test_a_profile_without_answers_reads_as_not_answered(app, people, world):
    (a,) = world.candidates(1)
    with app.app_context():
        rows = list(services.candidate_rows(None, self_declared=True))
        mine = next(r for r in rows if r[0] == a)
        assert mine[-3:] == ["Not answered", "Not answered", "Not answered"]
        profile = db.session.get(CandidateProfile, a)
        staff = db.session.get(User, people["staff"].id)
        candidates.record_sensitive(staff, profile, "eu_ref_vote", "leave", consent=True)
        db.session.commit()
        mine = next(r for r in services.candidate_rows(None, self_declared=True) if r[0] == a)
        assert mine[-1] == "Leave"
