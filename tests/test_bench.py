"""The benchmark (issue #8): the seeded generator at a small scale, the bench server's baseline
routes, and the pure parts of the driver (scripts/bench.py). The load generator is never run here."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from d2w.core.extensions import db
from tests.conftest import ON_POSTGRES, count_queries, login

TODAY = date(2026, 11, 18)
ROOT = Path(__file__).resolve().parent.parent


def _driver():
    spec = importlib.util.spec_from_file_location("d2w_bench_driver", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _driver()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------------------------------------
# The generator


@pytest.fixture
def generated(seat_data, app):
    from d2w.bench.generate import generate

    with app.app_context():
        counts = generate(seed=1, scale=0.01, today=TODAY)
        db.session.commit()
    return counts


def test_small_scale_has_the_planned_proportions(app, generated):
    from d2w.applications.models import Application
    from d2w.auth.models import User
    from d2w.bench.generate import planned_counts
    from d2w.candidates.models import CandidateProfile
    from d2w.cohorts.models import Cohort, Enrolment
    from d2w.engagement.models import Milestone
    from d2w.mentoring.models import MentoringLog, MentorProfile
    from d2w.programme.models import Attendance

    plan = planned_counts(0.01)
    assert plan == {
        "cohorts": 1,
        "candidates": 50,
        "mentors": 4,
        "mentoring_logs": 600,
        "milestones": 1000,
        "attendances": 1200,
        "applications": 100,
    }
    with app.app_context():
        assert _count(CandidateProfile) == 50
        assert _count(User, User.role == "candidate") == 50
        assert _count(User, User.role == "mentor") == _count(MentorProfile) == 4
        assert _count(User, User.role == "staff", User.is_admin) >= 1
        assert _count(Cohort) == 1
        assert _count(Enrolment) == 50
        assert _count(MentoringLog) == 600
        assert _count(Milestone) == 1000
        assert _count(Application) == 100
        # Candidates who are only invited have no marks yet: a little under 24 each.
        assert 0.9 * 1200 <= _count(Attendance) <= 1200
        # A realistic mix, not one value everywhere.
        statuses = dict(db.session.execute(select(Milestone.status, func.count()).group_by(Milestone.status)).all())
        assert set(statuses) == {"logged", "verified", "returned"}
        assert statuses["verified"] > statuses["logged"] > 0
        regions = db.session.scalars(select(CandidateProfile.home_region).distinct()).all()
        assert len(regions) >= 2
        # Places taken match the enrolments that hold one.
        cohort = db.session.scalar(select(Cohort))
        holders = _count(Enrolment, Enrolment.status.in_(("invited", "active", "completed")))
        assert cohort.places_taken == holders <= cohort.capacity
    # The counts returned name every table written.
    assert generated["milestones"] == 1000 and generated["candidate_profiles"] == 50
    assert generated["seat_fit_factors"] > 0 and generated["audit_events"] > 0


def test_generated_rows_follow_the_rules(app, generated):
    """Application statuses that need a fit check have one; mentors stay within capacity;
    sensitive answers carry their consent."""
    from d2w.applications.models import SUBMITTED_OR_LATER, Application
    from d2w.candidates.models import ConsentRecord, SensitiveAnswer
    from d2w.mentoring.models import MentorAssignment, MentorProfile
    from d2w.seatfit.models import SeatFitCheck, SeatFitFactor

    with app.app_context():
        submitted = db.session.scalars(select(Application).where(Application.status.in_(SUBMITTED_OR_LATER))).all()
        assert submitted and all(a.fit_check_id is not None and a.submitted_on for a in submitted)
        assert _count(SeatFitFactor) == 4 * _count(SeatFitCheck)
        for mentor in db.session.scalars(select(MentorProfile)):
            active = _count(
                MentorAssignment, MentorAssignment.mentor_id == mentor.id, MentorAssignment.status == "active"
            )
            assert mentor.active_mentees == active <= mentor.capacity
        assert _count(SensitiveAnswer) == _count(ConsentRecord) > 0


def test_every_account_signs_in_with_the_bench_password(app, generated):
    from d2w.bench.generate import ADMIN_EMAIL, BENCH_PASSWORD, bench_subjects

    with app.app_context():
        subjects = bench_subjects()
    assert subjects["emails"]["admin"] == ADMIN_EMAIL
    for email in subjects["emails"].values():
        response = login(app.test_client(), email, BENCH_PASSWORD)
        assert response.status_code == 302, email
    # The subjects belong together: the candidate is the mentor's mentee.
    args = subjects["args"]
    assert args["mentor"]["profile_id"] == args["candidate"]["profile_id"] == subjects["candidate_profile"]
    assert all(args["staff"][k] is not None for k in ("cohort_id", "session_id", "milestone_id", "seat_id"))


def test_generate_refuses_a_database_with_people(app, generated):
    from d2w.bench.generate import GenerateError, generate

    with app.app_context(), pytest.raises(GenerateError, match="fresh database"):
        generate(seed=1, scale=0.01, today=TODAY)


def test_generate_needs_the_seats(app):
    from d2w.bench.generate import GenerateError, generate

    with app.app_context(), pytest.raises(GenerateError, match="seats import"):
        generate(seed=1, scale=0.01, today=TODAY)


def test_cli_refuses_production_and_reports_counts(seat_data, app):
    runner = app.test_cli_runner()
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["d2w", "bench", "generate", "--scale", "0.01"])
    assert result.exit_code != 0
    assert "never generated in production" in result.output
    app.config["ENV_NAME"] = "testing"
    result = runner.invoke(args=["d2w", "bench", "generate", "--scale", "0.01", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "milestones" in result.output and "1,000" in result.output
    again = runner.invoke(args=["d2w", "bench", "generate", "--scale", "0.01"])
    assert again.exit_code != 0 and "fresh database" in again.output


@pytest.mark.skipif(ON_POSTGRES, reason="compares two SQLite files")
def test_the_same_seed_gives_the_same_programme(seat_template, tmp_path):
    from d2w import create_app
    from d2w.auth.models import User
    from d2w.engagement.models import Milestone

    def fingerprint(seed: int):
        path = tmp_path / f"seed{seed}-{len(list(tmp_path.iterdir()))}.sqlite3"
        shutil.copyfile(seat_template, path)
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context():
            from d2w.bench.generate import generate

            generate(seed=seed, scale=0.01, today=TODAY)
            db.session.commit()
            names = db.session.scalars(select(User.name).order_by(User.id)).all()
            places = db.session.scalars(select(Milestone.place).order_by(Milestone.id)).all()
            db.session.remove()
            db.engine.dispose()
        return names, places

    assert fingerprint(1) == fingerprint(1)
    assert fingerprint(1) != fingerprint(2)


# ---------------------------------------------------------------------------------------------
# The bench server's baselines


def test_baseline_routes_are_public_and_cheap(database_url, tmp_path):
    from d2w import create_app
    from d2w.bench.wsgi import create_bench_app

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_OUTBOX_DIR": str(tmp_path)}
    app = create_bench_app("testing", settings)
    client = app.test_client()
    assert client.get("/bench/constant").get_data(as_text=True) == "ok"
    client.get("/bench/one-query")
    with count_queries(app) as statements:
        response = client.get("/bench/one-query")
    assert response.status_code == 200
    assert len(statements) == 1
    # The production app has no bench routes.
    plain = create_app("testing", settings)
    assert not [r for r in plain.url_map.iter_rules() if r.rule.startswith("/bench")]
    assert plain.test_client().get("/bench/constant").status_code == 404
    for a in (app, plain):
        with a.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------------------------------------
# The driver's pure parts


def test_percentile_interpolates():
    assert bench.percentile([5], 95) == 5
    assert bench.percentile([1, 2, 3, 4], 50) == 2.5
    assert bench.percentile(range(1, 101), 100) == 100
    assert bench.percentile([10, 20], 0) == 10
    assert bench.percentile([3, 1, 2], 50) == 2  # order does not matter
    with pytest.raises(ValueError):
        bench.percentile([], 50)
    with pytest.raises(ValueError):
        bench.percentile([1], 101)


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/candidates/
  1 threads and 2 connections
BENCH_JSON {"requests": 1000, "duration_us": 5000000, "bytes": 12345, "connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, "p50_us": 9000, "p90_us": 12000, "p95_us": 15500, "p99_us": 30000, "max_us": 41000, "mean_us": 9876.5}
"""


def test_parse_wrk_reads_the_lua_summary():
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == 200.0
    assert (result["p50_ms"], result["p95_ms"], result["p99_ms"]) == (9.0, 15.5, 30.0)
    assert result["errors"]["status"] == 0
    with pytest.raises(ValueError):
        bench.parse_wrk("Running 5s test\n")
    assert "latency:percentile(95)" in bench.WRK_LUA


def test_assess_compares_with_the_one_query_baseline():
    row = {"key": "staff: candidate list", "kind": "list", "rps": 300.0, "p95_ms": 120.0}
    assessed = bench.assess(row, 1000.0)
    assert assessed["ratio"] == 0.3
    assert assessed["meets_p95"] is False and assessed["meets_ratio"] is False
    other = bench.assess({"key": "staff: dashboard", "kind": "other", "rps": 500.0, "p95_ms": 20.0}, 1000.0)
    assert other["meets_p95"] is True and "meets_ratio" not in other
    skipped = bench.assess({"key": "x", "kind": "list", "note": "skipped"}, 1000.0)
    assert "ratio" not in skipped


def _wrk(rps, p95=2.0, **extra):
    return {"rps": rps, "p50_ms": 1.0, "p95_ms": p95, "p99_ms": p95 + 1, "errors": {"status": 0, "timeout": 0}, **extra}


def test_each_run_of_a_page_is_compared_with_the_baseline_runs_beside_it():
    timeline = [
        (None, _wrk(1000.0)),
        ("a", _wrk(450.0)),
        (None, _wrk(800.0)),
        ("b", _wrk(380.0)),
        (None, _wrk(600.0)),
        ("a", _wrk(300.0)),  # round 2
        (None, _wrk(0.0)),  # a run that served nothing is not a baseline
        ("b", _wrk(200.0)),
        (None, _wrk(400.0)),
    ]
    runs = bench.paired_rounds(timeline)
    assert list(runs) == ["a", "b"]
    assert [(r["rps"], r["near_rps"], r["ratio"]) for r in runs["a"]] == [(450.0, 900.0, 0.5), (300.0, 500.0, 0.6)]
    # b's second run: between the 600 before a's run and the 400 after (the empty run is skipped)
    assert [(r["near_rps"], r["ratio"]) for r in runs["b"]] == [(700.0, 0.543), (500.0, 0.4)]
    lone = bench.paired_rounds([("c", _wrk(100.0))])
    assert "near_rps" not in lone["c"][0] and "ratio" not in lone["c"][0]


def test_a_page_reports_the_median_of_its_rounds_and_the_worst_latency():
    rounds = [
        {**_wrk(400.0, p95=5.0, errors={"status": 1, "timeout": 0}), "near_rps": 1000.0, "ratio": 0.4},
        {**_wrk(100.0, p95=50.0), "near_rps": 1000.0, "ratio": 0.1},  # a burst from elsewhere
        {**_wrk(450.0, p95=4.0), "near_rps": 900.0, "ratio": 0.5},
    ]
    combined = bench.combine_rounds(rounds)
    assert combined["rps"] == 400.0 and combined["p50_ms"] == 1.0
    assert (combined["p95_ms"], combined["p99_ms"]) == (50.0, 51.0)
    assert combined["ratio_nearby"] == 0.4 and combined["ratio_nearby_range"] == [0.1, 0.5]
    assert combined["nearby_rps"] == 1000.0 and combined["errors"] == {"status": 1, "timeout": 0}
    assert combined["rounds"] == rounds
    assert bench.combine_rounds([]) == {}
    # assess keeps the rounds' median ratio and compares it with the target
    row = {"key": "b", "kind": "detail", "status": 200, **combined}
    assessed = bench.assess(row, 2000.0)
    assert (assessed["ratio"], assessed["ratio_nearby"]) == (0.2, 0.4)
    assert assessed["meets_ratio"] is False and assessed["meets_ratio_nearby"] is True
    assert assessed["meets_p95"] is True
    table = bench.format_table([assessed])
    assert "× near" in table and "0.40" in table and "<40%" in table and "<40% near" not in table
    report = bench.build_report({"database": "sqlite"}, [assessed], {}, {"worker_peak_mib": 1}, [], [{"rps": 1.0}])
    assert report["summary"]["pages_under_ratio"] == ["b"]
    assert report["summary"]["pages_under_ratio_nearby"] == []
    assert report["one_query_runs"] == [{"rps": 1.0}]


def test_drive_runs_every_page_in_rounds_each_after_the_baseline(monkeypatch, tmp_path):
    """The order of wrk's runs, with gunicorn, sign-in and wrk stood in for."""
    calls = []
    speeds = {"/bench/constant": 3000.0, "/bench/one-query": 1000.0, "/a": 500.0, "/b": 300.0}

    @contextmanager
    def fake_gunicorn(url, workers, log_path):
        yield 1234, 99

    def fake_wrk(port, path, cookie, *, seconds, connections, threads):
        calls.append((path, seconds, cookie))
        return _wrk(speeds[path] - len(calls))

    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(bench, "gunicorn", fake_gunicorn)
    monkeypatch.setattr(bench, "login", lambda port, email, password: f"session={email}")
    monkeypatch.setattr(bench, "http_get", lambda port, path, cookie=None: (404 if path == "/gone" else 200, {}, b"ok"))
    monkeypatch.setattr(bench, "run_wrk", fake_wrk)
    monkeypatch.setattr(bench, "children_of", lambda pid: [])
    args = argparse.Namespace(
        workers=2, password="pw", rounds=2, duration=2, baseline_seconds=1, warmup=1, connections=2, threads=1
    )
    pages = [
        bench.Resolved(bench.Page("a", "staff", ("x.a",), "list"), "x.a", path="/a"),
        bench.Resolved(bench.Page("skipped", "staff", ("x.s",), "list"), note="skipped: no view yet"),
        bench.Resolved(bench.Page("gone", "staff", ("x.g",), "detail"), "x.g", path="/gone"),
        bench.Resolved(bench.Page("b", "candidate", ("x.b",), "detail"), "x.b", path="/b"),
    ]
    measured = {
        "subjects": {"emails": {"staff": "s@x", "candidate": "c@x"}},
        "queries": {"a": 3, "b": 2, "baseline: one query": 1},
        "profile": {},
    }
    rows, memory, between = bench.drive(args, "sqlite://", "sqlite", measured, pages, lambda msg: None)
    q, c = "/bench/one-query", "/bench/constant"
    assert [(path, seconds) for path, seconds, _ in calls] == [
        (c, 1), (c, 4), (q, 1), (q, 4),  # the baselines alone, each as long as a page's rounds
        (q, 1), ("/a", 1), ("/a", 2), (q, 1), ("/b", 1), ("/b", 2),  # round 1, with warm-ups
        (q, 1), ("/a", 2), (q, 1), ("/b", 2),  # round 2
        (q, 1),  # the last page's run has a baseline run after it too
        (c, 1), (c, 4), (q, 1), (q, 4),
    ]  # fmt: skip
    assert {cookie for path, _, cookie in calls if path == "/b"} == {"session=c@x"}
    by_key = {r["key"]: r for r in rows}
    assert list(by_key) == [
        "baseline: constant", "baseline: one query", "a", "skipped", "gone", "b",
        "baseline: constant (end)", "baseline: one query (end)",
    ]  # fmt: skip
    assert by_key["skipped"]["note"] == "skipped: no view yet" and "rps" not in by_key["skipped"]
    assert by_key["gone"]["note"] == "not measured: answered 404" and "rps" not in by_key["gone"]
    a_runs = [(r["rps"], r["near_rps"]) for r in by_key["a"]["rounds"]]
    # a's runs were calls 7 and 12; the baseline runs beside them were calls 5 and 8, 11 and 13
    assert a_runs == [(500.0 - 7, (995.0 + 992.0) / 2), (500.0 - 12, (989.0 + 987.0) / 2)]
    assert by_key["a"]["queries"] == 3 and by_key["b"]["role"] == "candidate"
    assert len(by_key["b"]["rounds"]) == 2 and by_key["b"]["ratio_nearby"] > 0
    assert [r["rps"] for r in between] == [995.0, 992.0, 989.0, 987.0, 985.0]
    assert between[0]["after_page"] is None and between[1]["after_page"] == "a"
    assert memory["worker_peak_mib"] == 0


def test_assess_compares_instructions_in_process_with_the_baselines():
    row = {"key": "staff: user detail", "kind": "detail", "instructions_m": 9.0}
    assert bench.assess(row, None, 3.6)["instr_ratio"] == 0.4
    assert "instr_ratio" not in bench.assess(row, None, None)  # not counted on this machine
    rows = [
        bench.assess(r, None, 3.6)
        for r in (row, {"key": "staff: candidate list", "kind": "list", "instructions_m": 24.0})
    ]
    report = bench.build_report({"database": "sqlite"}, rows, {}, {"worker_peak_mib": None}, [])
    assert report["summary"]["list_detail_pages_under_ratio_in_instructions"] == ["staff: candidate list"]
    assert "9.00" in bench.format_table(rows) and "0.40" in bench.format_table(rows)


def test_the_instruction_counter_counts_work_where_the_machine_allows():
    counter = bench.InstructionCounter()
    if not counter.available:  # no perf counters here: no instruction figures, nothing to count
        assert counter.per_call(lambda: None) is None
        return
    small = counter.per_call(lambda: sum(range(1_000)))
    large = counter.per_call(lambda: sum(range(100_000)))
    assert 0 < small < large
    assert 20 < large / small < 500  # about a hundred times the work


def _rows():
    rows = [
        {"key": "baseline: constant", "kind": "baseline", "status": 200, "rps": 2000.0, "p50_ms": 0.5, "p95_ms": 1.0, "p99_ms": 2.0, "queries": 0},
        {"key": "baseline: one query", "kind": "baseline", "status": 200, "rps": 1000.0, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "queries": 1},
        {"key": "staff: candidate list", "kind": "list", "status": 200, "rps": 300.0, "p50_ms": 5.0, "p95_ms": 120.0, "p99_ms": 150.0, "queries": 7},
        {"key": "staff: seats browser", "kind": "list", "note": "skipped: no view yet (looked for seats.index)"},
    ]  # fmt: skip
    return [bench.assess(r, 1000.0) for r in rows]


def test_format_table_lists_every_page_with_flags():
    table = bench.format_table(_rows())
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["page", "status", "req/s"]
    assert len(lines) == 2 + 4
    assert "p95>100" in table and "<40%" in table
    assert "skipped: no view yet" in table
    assert "1,000.0" in table and "0.30" in table


def test_report_json_shape():
    timings = {"rank_650_seats": bench.timing([10.0, 12.0, 11.0], seats=650), "portfolio_pdf": {"skipped": "no view"}}
    report = bench.build_report({"database": "sqlite"}, _rows(), timings, {"worker_peak_mib": 120}, ["x.y"])
    json.dumps(report)  # serialisable
    assert set(report) == {
        "version",
        "meta",
        "targets",
        "baselines",
        "one_query_runs",
        "pages",
        "timings",
        "memory",
        "summary",
        "uncovered_get_endpoints",
    }
    assert set(report["baselines"]) == {"constant", "one query"}
    assert [p["key"] for p in report["pages"]] == ["staff: candidate list", "staff: seats browser"]
    assert report["summary"] == {
        "pages_measured": 1,
        "pages_skipped": 1,
        "pages_over_p95": ["staff: candidate list"],
        "pages_under_ratio": ["staff: candidate list"],
        "pages_under_ratio_nearby": [],
        "list_detail_pages_under_ratio_in_instructions": [],
    }
    assert report["timings"]["rank_650_seats"]["median_ms"] == 11.0
    assert report["targets"]["rank_ms"] == 20.0


def test_resolve_pages_skips_missing_views_and_values():
    pages = (
        bench.Page("a", "staff", ("x.missing", "x.list"), "list"),
        bench.Page("b", "staff", ("x.detail",), "detail"),
        bench.Page("c", "candidate", ("x.detail",), "detail"),
        bench.Page("d", "staff", ("x.nowhere",), "other"),
    )
    endpoint_args = {"x.list": set(), "x.detail": {"profile_id"}}
    subjects = {"staff": {"profile_id": 7}, "candidate": {"profile_id": None}}
    a, b, c, d = bench.resolve_pages(pages, endpoint_args, subjects)
    assert (a.endpoint, a.values, a.note) == ("x.list", {}, "")
    assert (b.endpoint, b.values) == ("x.detail", {"profile_id": 7})
    assert c.note == "skipped: no value for profile_id"
    assert d.endpoint is None and d.note.startswith("skipped: no view yet")


def test_every_page_names_a_known_role_and_kind():
    keys = [p.key for p in bench.PAGES]
    assert len(keys) == len(set(keys))
    assert {p.role for p in bench.PAGES} <= {"admin", "staff", "mentor", "candidate"}
    assert {p.kind for p in bench.PAGES} <= {"list", "detail", "home", "other"}
    for role in ("admin", "staff", "mentor", "candidate"):
        assert any(p.role == role and p.endpoints == ("main.home",) for p in bench.PAGES), role
