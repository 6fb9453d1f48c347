#!/usr/bin/env python3
"""The d2w benchmark (``make bench``; issue #8).

1. Builds a fresh database: SQLite under instance/bench/, or the PostgreSQL database named by
   ``--database-url`` / ``D2W_BENCH_DATABASE_URL`` (its ``public`` schema is dropped and made
   again); migrates it, imports the real seats and generates the synthetic programme
   (``flask d2w bench generate``: 40 cohorts, 5,000 candidates, ...).
2. In process (Flask's test client): counts the SQL queries of every page, and times ranking all
   650 seats for one candidate, exporting the candidates as CSV, and rendering a 30-candidate
   cohort report and a portfolio.
3. Serves ``d2w.bench.wsgi:create_bench_app()`` with gunicorn (2 sync workers, production
   settings) on a free loopback port, signs in as admin, staff, a mentor and a candidate, and
   drives each page with wrk in three rounds over all the pages, each page's run just after a
   short run of the one-query baseline: requests per second and p50/p95/p99 latency, and each
   round's ratio to the baseline next to it, of which the median is reported. The two baselines
   (a constant answer, and one indexed query rendered by a one-line template) also run alone,
   first and last. Samples the workers' peak memory (VmHWM).
4. Prints a table and writes the figures to instance/bench/results-<sqlite|postgresql>.json.

Pages whose views do not exist yet are skipped with a note; nothing here changes the app.
Run with the project's virtualenv: ``.venv/bin/python scripts/bench.py --help``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH_DIR = ROOT / "instance" / "bench"
SEAT_DATA = ROOT.parent / "shared" / "data" / "seats"
JSON_VERSION = 1
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # config.py lives at the root

# Targets of issue #8, section 3.
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.40  # of the one-query baseline's throughput, for list and detail pages
TARGET_RANK_MS = 20.0


# ---------------------------------------------------------------------------------------------
# The pages


@dataclass(frozen=True)
class Page:
    """A page to drive: the first of ``endpoints`` that exists is used (other helpers may still be
    building some views). Path arguments come from the generated subjects of the page's role."""

    key: str
    role: str  # admin | staff | mentor | candidate
    endpoints: tuple[str, ...]
    kind: str = "other"  # list | detail | home | other (the throughput target is for list and detail)
    query: tuple[tuple[str, str], ...] = ()


PAGES: tuple[Page, ...] = (
    # staff
    Page("staff: home", "staff", ("main.home",), "home"),
    Page("staff: dashboard", "staff", ("dashboard.index", "dashboard.home", "dashboard.overview"), "other"),
    Page("staff: candidate list", "staff", ("candidates.index",), "list"),
    Page("staff: candidate list, page 100", "staff", ("candidates.index",), "list", (("page", "100"),)),
    Page("staff: candidate list, at risk", "staff", ("candidates.index",), "list", (("at_risk", "y"),)),
    Page("staff: candidate detail", "staff", ("candidates.detail",), "detail"),
    Page("staff: cohort list", "staff", ("cohorts.index",), "list"),
    Page("staff: cohort detail", "staff", ("cohorts.detail",), "detail"),
    Page("staff: sessions list", "staff", ("programme.index",), "list"),
    Page("staff: session detail", "staff", ("programme.detail",), "detail"),
    Page("staff: register", "staff", ("programme.register",), "detail"),
    Page("staff: milestones review", "staff", ("engagement.review",), "list"),
    Page("staff: milestone detail", "staff", ("engagement.detail",), "detail"),
    Page("staff: engagement progress", "staff", ("engagement.progress",), "list"),
    Page("staff: cohort engagement", "staff", ("engagement.cohort_progress",), "detail"),
    Page("staff: mentoring health", "staff", ("mentoring.health",), "list"),
    Page("staff: mentors list", "staff", ("mentoring.mentors",), "list"),
    Page("staff: mentor suggestions", "staff", ("mentoring.match",), "detail"),
    Page("staff: assignment", "staff", ("mentoring.assignment",), "detail"),
    Page("staff: seats browser", "staff", ("seats.index", "seats.browse", "seats.browser", "seats.list"), "list"),
    Page("staff: seat page", "staff", ("seats.detail", "seats.seat", "seats.show", "seats.profile"), "detail"),
    Page("staff: seat analysis", "staff", ("seats.analysis", "seats.bme_analysis", "seats.analyse"), "other"),
    Page(
        "staff: seat-fit rank",
        "staff",
        ("seatfit.rank", "seatfit.ranking", "seatfit.rank_seats", "seatfit.candidate_rank"),
        "other",
    ),
    Page(
        "staff: seat-fit check", "staff", ("seatfit.detail", "seatfit.check", "seatfit.show", "seatfit.view"), "detail"
    ),
    Page("staff: applications board", "staff", ("applications.board", "applications.index"), "list"),
    Page("staff: application detail", "staff", ("applications.detail", "applications.show"), "detail"),
    Page("staff: cohort report form", "staff", ("reports.cohort",), "other"),
    Page("staff: portfolio form", "staff", ("reports.portfolio",), "other"),
    Page("staff: exports", "staff", ("exports.index",), "other"),
    Page("staff: users list", "staff", ("users.index",), "list"),
    Page("staff: user detail", "staff", ("users.detail",), "detail"),
    # admin
    Page("admin: home", "admin", ("main.home",), "home"),
    Page("admin: audit log", "admin", ("audit.index",), "list"),
    # mentor
    Page("mentor: home", "mentor", ("main.home",), "home"),
    Page("mentor: mentees", "mentor", ("mentoring.home",), "list"),
    Page("mentor: assignment", "mentor", ("mentoring.assignment",), "detail"),
    Page("mentor: mentee profile", "mentor", ("candidates.detail",), "detail"),
    Page("mentor: milestones review", "mentor", ("engagement.review",), "list"),
    # candidate
    Page("candidate: home", "candidate", ("main.home",), "home"),
    Page("candidate: own profile", "candidate", ("candidates.detail",), "detail"),
    Page("candidate: own schedule", "candidate", ("programme.mine",), "list"),
    Page("candidate: session", "candidate", ("programme.detail",), "detail"),
    Page("candidate: own milestones", "candidate", ("engagement.mine",), "list"),
    Page("candidate: own mentoring", "candidate", ("mentoring.mine",), "detail"),
    Page("candidate: own applications", "candidate", ("applications.mine", "applications.own"), "list"),
    Page("candidate: own seat-fit checks", "candidate", ("seatfit.mine", "seatfit.index", "seatfit.checks"), "list"),
    Page("candidate: application detail", "candidate", ("applications.detail", "applications.show"), "detail"),
    Page("candidate: seat-fit check", "candidate", ("seatfit.detail", "seatfit.check", "seatfit.show"), "detail"),
    Page("candidate: seat page", "candidate", ("seats.detail", "seats.seat", "seats.show"), "detail"),
    Page("candidate: portfolio form", "candidate", ("reports.portfolio",), "other"),
    Page("candidate: seats browser", "candidate", ("seats.index", "seats.browse", "seats.browser"), "list"),
    Page("candidate: account", "candidate", ("account.overview",), "other"),
)

BASELINES = (("baseline: constant", "/bench/constant"), ("baseline: one query", "/bench/one-query"))


@dataclass
class Resolved:
    page: Page
    endpoint: str | None = None
    values: dict = field(default_factory=dict)
    path: str | None = None
    note: str = ""


def resolve_pages(
    pages: Iterable[Page], endpoint_args: dict[str, set[str]], subjects: dict[str, dict]
) -> list[Resolved]:
    """Pick each page's endpoint and path arguments. ``endpoint_args`` maps the app's GET
    endpoints to their argument names; ``subjects`` maps a role to the values it may use."""
    out = []
    for page in pages:
        found = next((e for e in page.endpoints if e in endpoint_args), None)
        if found is None:
            out.append(Resolved(page, note=f"skipped: no view yet (looked for {', '.join(page.endpoints)})"))
            continue
        values = subjects.get(page.role, {})
        missing = sorted(a for a in endpoint_args[found] if values.get(a) is None)
        if missing:
            out.append(Resolved(page, found, note=f"skipped: no value for {', '.join(missing)}"))
            continue
        out.append(Resolved(page, found, {a: values[a] for a in endpoint_args[found]}))
    return out


# ---------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/test_bench.py)


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


WRK_LUA = """-- written by scripts/bench.py: prints wrk's summary as one JSON line
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def parse_wrk(output: str) -> dict:
    """wrk's summary from the JSON line WRK_LUA prints, in requests per second and milliseconds."""
    match = re.search(r"^BENCH_JSON (\{.*\})\s*$", output, re.MULTILINE)
    if match is None:
        raise ValueError("wrk printed no summary")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "errors": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")},
    }


def one_query_reference(rows: list[dict]) -> float | None:
    """The one-query baseline's throughput: the better of its runs (first and last)."""
    runs = [r["rps"] for r in rows if r["key"].startswith("baseline: one query") and r.get("rps")]
    return max(runs) if runs else None


def paired_rounds(timeline: list[tuple[str | None, dict]]) -> dict[str, list[dict]]:
    """Each page's runs, each beside the one-query baseline measured just before and just after
    it. ``timeline`` is every wrk run in the order it ran: ``(None, result)`` for a run of the
    one-query baseline, ``(page key, result)`` for a run of a page. Returns, for each page, its
    runs in order, each with ``near_rps`` (the mean of the baseline's neighbouring runs) and
    ``ratio`` (the page's throughput over it). On a shared machine, whose speed drifts and
    bursts, a page is then compared with the baseline under the same conditions, and a burst of
    load from elsewhere moves one run rather than the page's figure."""
    baseline = [(i, result["rps"]) for i, (key, result) in enumerate(timeline) if key is None and result.get("rps")]
    out: dict[str, list[dict]] = {}
    for i, (key, result) in enumerate(timeline):
        if key is None:
            continue
        run = dict(result)
        before = [rps for j, rps in baseline if j < i]
        after = [rps for j, rps in baseline if j > i]
        near = [x for x in (before[-1] if before else None, after[0] if after else None) if x]
        if near and run.get("rps"):
            run["near_rps"] = round(sum(near) / len(near), 1)
            run["ratio"] = round(run["rps"] / run["near_rps"], 3)
        out.setdefault(key, []).append(run)
    return out


def combine_rounds(runs: list[dict]) -> dict:
    """One page's figures from its rounds: the median throughput, the median p50, the worst p95
    and p99 of any round, the errors of all rounds added up, and the median of the rounds'
    ratios to the baseline next to them (``ratio_nearby``, with its least and greatest)."""
    done = [r for r in runs if r.get("rps") is not None]
    if not done:
        return {}
    ratios = [r["ratio"] for r in done if r.get("ratio") is not None]
    errors: dict[str, int] = {}
    for r in done:
        for name, count in r.get("errors", {}).items():
            errors[name] = errors.get(name, 0) + count
    out = {
        "rps": round(statistics.median(r["rps"] for r in done), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in done), 2),
        "p95_ms": max(r["p95_ms"] for r in done),
        "p99_ms": max(r["p99_ms"] for r in done),
        "errors": errors,
        "rounds": done,
    }
    if ratios:
        out["ratio_nearby"] = round(statistics.median(ratios), 3)
        out["ratio_nearby_range"] = [min(ratios), max(ratios)]
        out["nearby_rps"] = round(statistics.median(r["near_rps"] for r in done if r.get("near_rps")), 1)
    return out


def assess(row: dict, one_query_rps: float | None, one_query_instr: float | None = None) -> dict:
    """Add the ratios to the one-query baseline (throughput under load and, where counted,
    instructions in process) and whether the page meets issue #8's targets."""
    out = dict(row)
    if one_query_instr and row.get("instructions_m"):
        out["instr_ratio"] = round(one_query_instr / row["instructions_m"], 3)
    rps = row.get("rps")
    if rps is None:
        return out
    out["ratio"] = round(rps / one_query_rps, 3) if one_query_rps else None
    if row.get("ratio_nearby") is None and row.get("nearby_rps"):
        out["ratio_nearby"] = round(rps / row["nearby_rps"], 3)
    out["meets_p95"] = row["p95_ms"] < TARGET_P95_MS
    if row.get("kind") in ("list", "detail") and out["ratio"] is not None:
        out["meets_ratio"] = out["ratio"] >= TARGET_RATIO
    if row.get("kind") in ("list", "detail") and out.get("ratio_nearby") is not None:
        out["meets_ratio_nearby"] = out["ratio_nearby"] >= TARGET_RATIO
    return out


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_table(rows: list[dict]) -> str:
    """A plain-text table of page rows (as built by ``run``), skipped pages included."""
    headers = (
        "page",
        "status",
        "req/s",
        "× 1-query",
        "× near",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "queries",
        "1 req ms",
        "changed ms",
        "sql ms",
        "M instr",
        "× 1-query",
        "note",
    )
    body = []
    for r in rows:
        flags = []
        if r.get("meets_p95") is False:
            flags.append("p95>100")
        if r.get("meets_ratio") is False:
            flags.append("<40%")
        if r.get("meets_ratio_nearby") is False:
            flags.append("<40% near")
        note = "; ".join(x for x in (r.get("note", ""), " ".join(flags)) if x)
        body.append(
            (
                r["key"],
                _cell(r.get("status")),
                _cell(r.get("rps")),
                _cell(r.get("ratio"), 2),
                _cell(r.get("ratio_nearby"), 2),
                _cell(r.get("p50_ms"), 1),
                _cell(r.get("p95_ms"), 1),
                _cell(r.get("p99_ms"), 1),
                _cell(r.get("queries")),
                _cell(r.get("request_ms"), 1),
                _cell(r.get("changed_ms"), 1),
                _cell(r.get("sql_ms"), 1),
                _cell(r.get("instructions_m"), 2),
                _cell(r.get("instr_ratio"), 2),
                note,
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]
    numeric = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}

    def line(cells):
        parts = [c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(row) for row in body)])


def format_timings(timings: dict) -> str:
    lines = []
    for name, t in timings.items():
        if t.get("skipped"):
            lines.append(f"  {name:<28} skipped: {t['skipped']}")
            continue
        extra = ", ".join(f"{k} {v}" for k, v in t.items() if k not in ("median_ms", "runs", "min_ms", "max_ms"))
        lines.append(
            f"  {name:<28} median {t['median_ms']:,.1f} ms (min {t['min_ms']:,.1f}, max {t['max_ms']:,.1f}, "
            f"{t['runs']} runs){'; ' + extra if extra else ''}"
        )
    return "\n".join(lines)


def build_report(
    meta: dict, rows: list[dict], timings: dict, memory: dict, uncovered: list[str], nearby: list[dict] | None = None
) -> dict:
    """The JSON document written to instance/bench/results-<db>.json."""
    measured = [r for r in rows if r.get("rps") is not None and not r["key"].startswith("baseline:")]
    return {
        "version": JSON_VERSION,
        "meta": meta,
        "targets": {"p95_ms": TARGET_P95_MS, "ratio_of_one_query": TARGET_RATIO, "rank_ms": TARGET_RANK_MS},
        "baselines": {r["key"].removeprefix("baseline: "): r for r in rows if r["key"].startswith("baseline:")},
        "one_query_runs": nearby or [],
        "pages": [r for r in rows if not r["key"].startswith("baseline:")],
        "timings": timings,
        "memory": memory,
        "summary": {
            "pages_measured": len(measured),
            "pages_skipped": sum(1 for r in rows if r.get("rps") is None and not r["key"].startswith("baseline:")),
            "pages_over_p95": sorted(r["key"] for r in measured if r.get("meets_p95") is False),
            "pages_under_ratio": sorted(r["key"] for r in measured if r.get("meets_ratio") is False),
            "pages_under_ratio_nearby": sorted(r["key"] for r in measured if r.get("meets_ratio_nearby") is False),
            "list_detail_pages_under_ratio_in_instructions": sorted(
                r["key"]
                for r in rows
                if r.get("kind") in ("list", "detail")
                and r.get("instr_ratio") is not None
                and r["instr_ratio"] < TARGET_RATIO
            ),
        },
        "uncovered_get_endpoints": uncovered,
    }


def timing(samples_ms: list[float], **extra) -> dict:
    return {
        "median_ms": round(statistics.median(samples_ms), 2),
        "min_ms": round(min(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
        "runs": len(samples_ms),
        **extra,
    }


def db_kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


# ---------------------------------------------------------------------------------------------
# Database


def flask_env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("D2W_")}
    env.update(
        {
            "FLASK_APP": "d2w:create_app",
            "D2W_ENV": "development",
            "D2W_DATABASE_URL": url,
            "D2W_SEAT_DATA_DIR": os.environ.get("D2W_SEAT_DATA_DIR", str(SEAT_DATA)),
            "D2W_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def flask(url: str, *args: str, log_file=None) -> float:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [str(BIN / "flask"), *args], cwd=ROOT, env=flask_env(url), capture_output=True, text=True
    )
    if log_file is not None:
        log_file.write(f"$ flask {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return round(time.perf_counter() - started, 1)


def prepare_database(url: str, scale: float, seed: int) -> dict:
    """A fresh database with the seats and the generated programme; returns step timings (s)."""
    import sqlalchemy as sa

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    steps = {}
    with (BENCH_DIR / f"prepare-{db_kind(url)}.log").open("w") as log_file:
        steps["migrate_s"] = flask(url, "db", "upgrade", log_file=log_file)
        steps["seats_import_s"] = flask(url, "d2w", "seats", "import", log_file=log_file)
        steps["generate_s"] = flask(
            url, "d2w", "bench", "generate", "--seed", str(seed), "--scale", str(scale), log_file=log_file
        )
    # Planner statistics and, on PostgreSQL, the visibility map and hint bits, as a live database
    # has them: autovacuum vacuums and analyses a table after enough rows were inserted (so
    # index-only scans skip the table, and no read writes hint bits back); on SQLite, ANALYZE or
    # PRAGMA optimize, which `flask d2w purge-sessions` runs daily. VACUUM runs outside a
    # transaction.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE" if db_kind(url) == "sqlite" else "VACUUM (ANALYZE)"))
    engine.dispose()
    return steps


# ---------------------------------------------------------------------------------------------
# In process: query counts and timings


def server_settings(url: str) -> dict:
    """Production settings for a bench run (no real secrets, nothing leaves the machine)."""
    return {
        "D2W_ENV": "production",
        "D2W_SECRET_KEY": secrets.token_urlsafe(48),
        "D2W_DATABASE_URL": url,
        "D2W_RATELIMIT_STORAGE_URI": "memory://",
        "D2W_MAIL_SERVER": "127.0.0.1",
        "D2W_BASE_URL": "https://bench.invalid",
        "D2W_EVIDENCE_DIR": str(BENCH_DIR / "evidence"),
        "D2W_SEAT_DATA_DIR": os.environ.get("D2W_SEAT_DATA_DIR", str(SEAT_DATA)),
    }


PROFILE_RUNS = 3
COUNTED_TABLES = (
    "cohorts",
    "candidate_profiles",
    "mentor_profiles",
    "mentoring_logs",
    "milestones",
    "attendances",
    "applications",
    "seats",
    "audit_events",
)


class InstructionCounter:
    """User-space instructions this thread retires (a Linux perf counter), for in-process figures
    that hold still: on a shared machine a page's CPU time moved by a third from run to run while
    its instruction count moved by under 1%. ``available`` is False where the kernel or machine
    offers no counter (then no instruction figures are reported)."""

    _SYSCALL = {"x86_64": 298, "aarch64": 241}  # perf_event_open

    def __init__(self) -> None:
        self.fd = None
        number = self._SYSCALL.get(platform.machine())
        if number is None or sys.platform != "linux":
            return
        import ctypes

        class Attr(ctypes.Structure):  # struct perf_event_attr, as far as PERF_ATTR_SIZE_VER5
            _fields_ = [
                ("type", ctypes.c_uint32),
                ("size", ctypes.c_uint32),
                ("config", ctypes.c_uint64),
                ("sample_period", ctypes.c_uint64),
                ("sample_type", ctypes.c_uint64),
                ("read_format", ctypes.c_uint64),
                ("flags", ctypes.c_uint64),
                ("wakeup_events", ctypes.c_uint32),
                ("bp_type", ctypes.c_uint32),
                ("config1", ctypes.c_uint64),
                ("config2", ctypes.c_uint64),
                ("branch_sample_type", ctypes.c_uint64),
                ("sample_regs_user", ctypes.c_uint64),
                ("sample_stack_user", ctypes.c_uint32),
                ("clockid", ctypes.c_int32),
                ("sample_regs_intr", ctypes.c_uint64),
                ("aux_watermark", ctypes.c_uint32),
                ("sample_max_stack", ctypes.c_uint16),
                ("reserved", ctypes.c_uint16),
            ]

        attr = Attr(type=0, size=ctypes.sizeof(Attr), config=1)  # PERF_TYPE_HARDWARE, INSTRUCTIONS
        attr.flags = (1 << 5) | (1 << 6)  # exclude_kernel, exclude_hv
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.syscall(number, ctypes.byref(attr), 0, -1, -1, 0)  # this thread, any CPU
        self.fd = fd if fd >= 0 else None

    @property
    def available(self) -> bool:
        return self.fd is not None

    def read(self) -> int:
        return int.from_bytes(os.read(self.fd, 8), "little")

    def per_call(self, fn: Callable[[], object], calls: int = 10, batches: int = 3) -> float | None:
        """Millions of instructions per call of ``fn``: the least of ``batches`` batches."""
        if not self.available:
            return None
        best = None
        for _ in range(batches):
            before = self.read()
            for _ in range(calls):
                fn()
            each = (self.read() - before) / calls
            best = each if best is None else min(best, each)
        return round(best / 1e6, 2)


class SqlProbe:
    """Counts a request's SQL statements and their time, and keeps the slowest one."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.queries, self.sql_s, self.slowest = 0, 0.0, (0.0, "")
        self._started: list[float] = []

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.queries += 1
        self._started.append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany):
        if not self._started:
            return
        took = time.perf_counter() - self._started.pop()
        self.sql_s += took
        if took > self.slowest[0]:
            self.slowest = (took, " ".join(statement.split()))

    def snapshot(self) -> dict:
        return {
            "queries": self.queries,
            "sql_ms": round(self.sql_s * 1000, 1),
            "slowest_sql_ms": round(self.slowest[0] * 1000, 1),
            "slowest_sql": self.slowest[1][:300],
        }


def _time_call(fn: Callable, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def in_process(url: str, log: Callable[[str], None], profile: tuple[str | None, int] = (None, 0)) -> dict:
    """Subjects, page paths, query counts and the timed operations, from one in-process app."""
    import sqlalchemy as sa
    from flask import url_for

    from d2w.auth import services as auth
    from d2w.auth.models import User, UserSession
    from d2w.bench.generate import bench_subjects
    from d2w.bench.wsgi import create_bench_app
    from d2w.core import generations
    from d2w.core.db import utcnow
    from d2w.core.extensions import db

    settings = {k.removeprefix("D2W_"): v for k, v in server_settings(url).items() if k != "D2W_ENV"}
    overrides = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": settings["SECRET_KEY"],
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_BACKEND": "outbox",
        "MAIL_OUTBOX_DIR": str(BENCH_DIR / "outbox"),
        "BASE_URL": "https://bench.invalid",
        "EVIDENCE_DIR": settings["EVIDENCE_DIR"],
        # the test client speaks plain http on "localhost"
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_NAME": "d2w_session",
        "LOG_LEVEL": "WARNING",
    }
    app = create_bench_app("production", overrides)
    out: dict = {"queries": {}, "status": {}, "bytes": {}, "profile": {}, "timings": {}}
    # Requests run outside any app context of ours: Flask reuses a pushed app context (and its
    # ``g``, where Flask-Login keeps the signed-in user) for requests of the same app.
    with app.app_context():
        subjects = bench_subjects()
        engine = db.engine
        out["rows"] = {
            table: db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 - fixed names
            for table in COUNTED_TABLES
        }
        endpoint_args: dict[str, set[str]] = {}
        for rule in app.url_map.iter_rules():
            if "GET" in (rule.methods or ()) and rule.endpoint != "static":
                endpoint_args.setdefault(rule.endpoint, set(rule.arguments))
        # Sessions of earlier runs on a reused database end here, so that pages listing a
        # person's live sessions (My account) show the same few in every run.
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id.in_(list(subjects["users"].values())), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        tokens = {}
        for role, user_id in subjects["users"].items():
            user = db.session.get(User, user_id)
            tokens[role] = auth.create_session(user, ip="127.0.0.1", user_agent="d2w bench (in process)")
        db.session.commit()
    out["subjects"] = subjects
    resolved = resolve_pages(PAGES, endpoint_args, subjects["args"])
    with app.test_request_context(base_url="http://localhost"):
        for r in resolved:
            if r.endpoint and not r.note:
                r.path = url_for(r.endpoint, **r.values, **dict(r.page.query))
    covered = {r.endpoint for r in resolved if r.endpoint}
    out["uncovered"] = sorted(e for e in endpoint_args if e not in covered and not e.startswith("bench_"))
    out["resolved"] = resolved

    clients = {}
    for role, token in tokens.items():
        client = app.test_client()
        with client.session_transaction() as s:
            s["sid"] = token
            s.permanent = True
        clients[role] = client

    counter = InstructionCounter()
    probe = SqlProbe()
    sa.event.listen(engine, "before_cursor_execute", probe.before)
    sa.event.listen(engine, "after_cursor_execute", probe.after)
    try:
        for r in resolved:
            if r.path is None:
                continue
            client = clients[r.page.role]
            client.get(r.path)  # warm: templates compiled, caches filled
            # Right after the data changes a worker keeps nothing (d2w.core.generations): one
            # request drawn from scratch, then the timed runs with the page's parts kept again.
            generations.clear()
            started = time.perf_counter()
            client.get(r.path)
            changed_ms = (time.perf_counter() - started) * 1000
            runs = []
            for _ in range(PROFILE_RUNS):
                probe.reset()
                started = time.perf_counter()
                response = client.get(r.path)
                runs.append(((time.perf_counter() - started) * 1000, probe.snapshot()))
            total_ms, sql = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median run
            out["queries"][r.page.key] = sql["queries"]
            out["status"][r.page.key] = response.status_code
            out["bytes"][r.page.key] = len(response.data)
            out["profile"][r.page.key] = {"request_ms": round(total_ms, 1), "changed_ms": round(changed_ms, 1), **sql}
            if counter.available:  # outside the SQL probe's counting, after the timed runs
                out["profile"][r.page.key]["instructions_m"] = counter.per_call(lambda c=client, p=r.path: c.get(p))
            if profile[1] and (profile[0] is None or re.search(profile[0], r.page.key)):
                profile_page(client, r, profile[1])
        for key, path in BASELINES:
            anon = app.test_client()
            anon.get(path)
            probe.reset()
            anon.get(path)
            out["queries"][key] = probe.snapshot()["queries"]
            if counter.available:
                out["profile"][key] = {"instructions_m": counter.per_call(lambda c=anon, p=path: c.get(p))}
    finally:
        sa.event.remove(engine, "before_cursor_execute", probe.before)
        sa.event.remove(engine, "after_cursor_execute", probe.after)

    # a run about some pages, or a profiling run, skips the timed operations (a minute of PDFs)
    out["timings"] = {} if profile[0] or profile[1] else timed_operations(app, subjects, clients, endpoint_args, log)
    with app.app_context():
        db.engine.dispose()
    return out


def profile_page(client, r, runs: int) -> None:
    """``--profile N``: N requests of one page under cProfile; prints where the time goes and
    keeps the figures in instance/bench/profile-<page>.prof (for snakeviz or pstats)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(runs):
        client.get(r.path)
    profiler.disable()
    per_request = (time.perf_counter() - started) * 1000 / runs
    name = re.sub(r"[^a-z0-9]+", "-", r.page.key.lower()).strip("-")
    profiler.dump_stats(BENCH_DIR / f"profile-{name}.prof")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"\n== profile of {r.page.key} ({r.path}): {runs} requests, {per_request:.2f} ms each under cProfile")
    print(out.getvalue())


def timed_operations(app, subjects: dict, clients: dict, endpoint_args: dict, log) -> dict:
    """Rank every seat for one candidate, export the candidates as CSV, render the reports."""
    timings: dict = {}

    def guarded(names: tuple[str, ...], fn: Callable[[], dict]) -> None:
        # Other features are still being built: a failure is a note, not the end of the run.
        try:
            timings.update(fn())
        except Exception as exc:
            log(f"   {', '.join(names)}: failed ({type(exc).__name__}: {exc})")
            timings.update({n: {"skipped": f"failed: {type(exc).__name__}: {exc}"} for n in names})

    def in_app(fn):
        def run():
            with app.app_context():
                return fn()

        return run

    guarded(("rank_650_seats",), in_app(lambda: {"rank_650_seats": _time_rank(app, subjects)}))
    guarded(
        ("export_candidates_csv",),
        lambda: {"export_candidates_csv": _time_export(app, clients["staff"], endpoint_args)},
    )
    guarded(("cohort_report_pdf", "portfolio_pdf"), in_app(lambda: _time_reports(subjects)))
    return timings


def _time_rank(app, subjects: dict) -> dict:
    from d2w.auth.models import User
    from d2w.candidates.models import CandidateProfile
    from d2w.core.extensions import db

    try:
        from d2w.seatfit import services as seatfit

        rank = seatfit.rank_seats
    except (ImportError, AttributeError) as exc:
        return {"skipped": f"no d2w.seatfit.services.rank_seats ({exc})"}
    actor = db.session.get(User, subjects["users"]["staff"])
    candidate = db.session.get(CandidateProfile, subjects["candidate_profile"])
    if hasattr(seatfit, "clear_cache"):
        seatfit.clear_cache()
    cold = _time_call(lambda: rank(actor, candidate, "2024"), 1)[0]
    n = len(rank(actor, candidate, "2024"))
    samples = _time_call(lambda: rank(actor, candidate, "2024"), 20)
    db.session.rollback()
    return timing(
        samples, seats=n, first_call_ms=round(cold, 1), facts_cache_s=app.config.get("SEATFIT_FACTS_CACHE_SECONDS")
    )


def _time_export(app, client, endpoint_args: dict) -> dict:
    from flask import url_for

    export = next((e for e in ("exports.candidates", "exports.candidates_csv") if e in endpoint_args), None)
    if export is None:
        return {"skipped": "no exports.candidates view yet"}
    with app.test_request_context(base_url="http://localhost"):
        path = url_for(export)
    result: dict = {}

    def get():
        response = client.get(path)
        result["status"], result["bytes"] = response.status_code, len(response.data)
        result["rows"] = response.data.count(b"\n") - 1

    return timing(_time_call(get, 3), path=path, **result)


def _time_reports(subjects: dict) -> dict:
    """The PDF reports, rendered in process (the web view queues them as background jobs)."""
    from d2w.auth.models import User
    from d2w.cohorts.models import Cohort
    from d2w.core.extensions import db

    try:
        from d2w.reports import services as reports

        render = reports.render
    except (ImportError, AttributeError) as exc:
        note = {"skipped": f"no d2w.reports.services.render ({exc})"}
        return {"cohort_report_pdf": note, "portfolio_pdf": dict(note)}
    cohort_id = subjects["report_cohort"]
    places = db.session.get(Cohort, cohort_id).places_taken
    size: dict = {}

    def cohort_pdf():
        size["bytes"] = len(render("cohort", cohort_id, actor=db.session.get(User, subjects["users"]["staff"])))
        db.session.rollback()

    def portfolio_pdf():
        staff = db.session.get(User, subjects["users"]["staff"])
        size["bytes"] = len(render("portfolio", subjects["candidate_profile"], actor=staff))
        db.session.rollback()

    cold = _time_call(cohort_pdf, 1)[0]
    out = {"cohort_report_pdf": timing(_time_call(cohort_pdf, 3), candidates=places, first_call_ms=round(cold, 1))}
    out["cohort_report_pdf"]["bytes"] = size["bytes"]
    out["portfolio_pdf"] = timing(_time_call(portfolio_pdf, 3))
    out["portfolio_pdf"]["bytes"] = size["bytes"]
    return out


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(url: str, workers: int, log_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("D2W_")}
    env.update(server_settings(url))
    env["PYTHONPATH"] = str(ROOT)
    log_file = log_path.open("w")
    proc = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "d2w.bench.wsgi:create_bench_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn stopped (exit {proc.returncode}); see {log_path}")
            try:
                if http_get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in 60 s; see {log_path}")
            time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def http_get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            jar[key.strip()] = val.strip()
    return jar


def login(port: int, email: str, password: str) -> str:
    """Sign in through the real form; return the Cookie header of the new session."""
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/auth/login")
        response = conn.getresponse()
        body = response.read().decode()
        jar = _cookies(response.getheaders())
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', body
        )
        if match is None:
            raise RuntimeError("no CSRF token on the sign-in page")
        form = urlencode({"csrf_token": match.group(1), "email": email, "password": password, "next": ""})
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(
            "POST",
            "/auth/login",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 302:
            raise RuntimeError(f"signing in as {email} answered {response.status}")
        jar.update(_cookies(response.getheaders()))
        return "; ".join(f"{k}={v}" for k, v in jar.items())
    finally:
        conn.close()


def run_wrk(port: int, path: str, cookie: str | None, *, seconds: float, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        script = f.name
    try:
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            script,
        ]
        if cookie:
            cmd += ["-H", f"Cookie: {cookie}"]
        cmd.append(f"http://127.0.0.1:{port}{path}")
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)  # noqa: S603
        return parse_wrk(done.stdout)
    finally:
        os.unlink(script)


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(entry.name))
    return sorted(kids)


def memory_of(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0]) // 1024  # MiB
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------------------------------
# The run


def run(args: argparse.Namespace) -> dict:
    if shutil.which("wrk") is None and not args.no_load:
        sys.exit("wrk is not installed: run scripts/system-deps.sh bench (Debian's wrk package)")
    url = args.database_url or f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    kind = db_kind(url)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    started = time.monotonic()
    meta = {
        "database": kind,
        "scale": args.scale,
        "seed": args.seed,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "workers": args.workers,
        "wrk": {
            "seconds": args.duration,
            "rounds": args.rounds,
            "baseline_seconds": args.baseline_seconds,
            "warmup_seconds": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
        },
    }
    if args.reuse:
        log(f"== reusing the {kind} database as it is")
        meta["prepare"] = "reused"
    else:
        log(f"== building a fresh {kind} database (scale {args.scale:g}, seed {args.seed})")
        meta["prepare"] = prepare_database(url, args.scale, args.seed)

    log("== in process: query counts and timed operations")
    measured = in_process(url, log, (args.only, args.profile))
    meta["rows"] = measured["rows"]
    resolved = [r for r in measured["resolved"] if not args.only or re.search(args.only, r.page.key)]

    rows: list[dict] = []
    memory: dict = {"worker_peak_mib": None}
    between: list[dict] = []
    if args.no_load:
        for r in resolved:
            row = {"key": r.page.key, "kind": r.page.kind, "role": r.page.role, "endpoint": r.endpoint, "path": r.path}
            row.update(queries=measured["queries"].get(r.page.key), status=measured["status"].get(r.page.key))
            row.update(measured["profile"].get(r.page.key, {}))
            if r.note:
                row["note"] = r.note
            rows.append(row)
    else:
        rows, memory, between = drive(args, url, kind, measured, resolved, log)
    instr_ref = measured["profile"].get("baseline: one query", {}).get("instructions_m")
    rows = [assess(r, one_query_reference(rows), instr_ref) for r in rows]
    meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["total_s"] = round(time.monotonic() - started, 1)
    report = build_report(meta, rows, measured["timings"], memory, measured["uncovered"], between)
    out_path = Path(args.out) if args.out else BENCH_DIR / f"results-{kind}.json"
    out_path.write_text(json.dumps(report, indent=2) + "\n")

    print()
    print(
        f"d2w benchmark on {kind} (scale {args.scale:g}; {args.workers} gunicorn workers; "
        f"wrk {args.connections} connections; {args.rounds} rounds of {args.duration}s per page)"
    )
    print(format_table(rows))
    print(
        "(req/s, p50: the median of the rounds; p95, p99: the worst round's; gunicorn + wrk;"
        " queries, 1 req ms and sql ms: one request in process, median of 3;"
        " × 1-query: to the better of the one-query baseline's first and last runs;"
        " × near: the median of the rounds' ratios to the one-query baseline measured just before and after;"
        " changed ms: one request in process right after the data changed, with nothing kept;"
        " M instr: millions of user-space instructions per request in process, the least of three batches of 10,"
        " and its ratio to the one-query baseline's)"
    )
    print()
    print("Timed operations (in process):")
    print(format_timings(measured["timings"]))
    peak = memory["worker_peak_mib"]
    print(
        f"Worker peak memory (VmHWM): {peak} MiB"
        if peak is not None
        else "Worker peak memory: not measured (--no-load)"
    )
    if measured["uncovered"]:
        print("GET endpoints not in the page list: " + ", ".join(measured["uncovered"]))
    print(f"Figures written to {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}")
    return report


def drive(
    args, url: str, kind: str, measured: dict, resolved: list[Resolved], log
) -> tuple[list[dict], dict, list[dict]]:
    """Serve with gunicorn and drive the baselines and every page with wrk, in ``args.rounds``
    rounds over all the pages; in each round every page runs just after a short run of the
    one-query baseline, and one more baseline run ends the last round (see paired_rounds).
    Returns the rows, the workers' memory and the one-query baseline's runs between pages."""
    rows: list[dict] = []
    log(
        f"== serving with gunicorn ({args.workers} workers) and driving each page with wrk: "
        f"{args.rounds} rounds of {args.duration}s, each after {args.baseline_seconds}s of the one-query baseline"
    )
    with gunicorn(url, args.workers, BENCH_DIR / f"gunicorn-{kind}.log") as (port, master):
        cookies = {role: login(port, email, args.password) for role, email in measured["subjects"]["emails"].items()}
        peak: dict[int, int] = {}

        def wrk(path: str, cookie: str | None, seconds: float) -> dict:
            result = run_wrk(port, path, cookie, seconds=seconds, connections=args.connections, threads=args.threads)
            for pid in children_of(master):
                peak[pid] = max(peak.get(pid, 0), memory_of(pid).get("VmHWM", 0))
            return result

        def baselines(suffix: str) -> list[dict]:
            # The baselines alone, first and last, as long as a page's rounds together.
            out = []
            for key, path in BASELINES:
                if args.warmup > 0:
                    wrk(path, None, args.warmup)
                result = wrk(path, None, args.duration * args.rounds)
                out.append(
                    {
                        "key": key + suffix,
                        "kind": "baseline",
                        "queries": measured["queries"].get(key),
                        "status": 200,
                        **result,
                    }
                )
                out[-1].update(measured["profile"].get(key, {}))
                log(f"   {key}{suffix}: {result['rps']:,.1f} req/s, p95 {result['p95_ms']:.1f} ms")
            return out

        rows += baselines("")
        pages: list[tuple[dict, str, str | None]] = []
        for r in resolved:
            row = {"key": r.page.key, "kind": r.page.kind, "queries": measured["queries"].get(r.page.key)}
            row.update(measured["profile"].get(r.page.key, {}))
            row.update(role=r.page.role, endpoint=r.endpoint, path=r.path)
            rows.append(row)
            if r.note:
                row["note"] = r.note
                log(f"   {r.page.key}: {r.note}")
                continue
            cookie = cookies[r.page.role]
            status, _, body = http_get(port, r.path, cookie)
            row.update(status=status, bytes=len(body))
            if status != 200:
                row["note"] = f"not measured: answered {status}"
                log(f"   {r.page.key}: answered {status}, not measured")
                continue
            pages.append((row, r.path, cookie))

        one_query = dict(BASELINES)["baseline: one query"]
        timeline: list[tuple[str | None, dict]] = []
        failed: dict[str, str] = {}
        for n in range(args.rounds):
            log(f"   round {n + 1} of {args.rounds}")
            for row, path, cookie in pages:
                if row["key"] in failed:
                    continue
                try:
                    timeline.append((None, wrk(one_query, None, args.baseline_seconds)))
                    if n == 0 and args.warmup > 0:
                        wrk(path, cookie, args.warmup)
                    result = wrk(path, cookie, args.duration)
                except (subprocess.CalledProcessError, ValueError, OSError) as exc:
                    failed[row["key"]] = f"not measured: wrk failed ({exc})"
                    log(f"   {row['key']}: wrk failed ({exc})")
                    continue
                timeline.append((row["key"], result))
                if n == args.rounds - 1:
                    log(f"   {row['key']}: {result['rps']:,.1f} req/s, p95 {result['p95_ms']:.1f} ms")
        timeline.append((None, wrk(one_query, None, args.baseline_seconds)))
        rows += baselines(" (end)")
        workers = {pid: memory_of(pid) for pid in children_of(master)}
        memory = {
            "worker_peak_mib": max([m.get("VmHWM", 0) for m in workers.values()] + list(peak.values()) or [0]),
            "workers": {str(pid): m for pid, m in workers.items()},
            "master": memory_of(master),
        }

    runs = paired_rounds(timeline)
    for row, _, _ in pages:
        if row["key"] in failed:
            row["note"] = failed[row["key"]]
            continue
        row.update(combine_rounds(runs.get(row["key"], [])))
        if row.get("errors", {}).get("status") or row.get("errors", {}).get("timeout"):
            row["note"] = f"errors {row['errors']}"
    between = [
        {"after_page": timeline[i - 1][0] if i else None, "rps": result.get("rps")}
        for i, (key, result) in enumerate(timeline)
        if key is None
    ]
    return rows, memory, between


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("D2W_BENCH_DATABASE_URL") or None,
        help="a PostgreSQL URL to benchmark on (its public schema is dropped!); default: SQLite under instance/bench/",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="programme size (1.0: 5,000 candidates)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=2, help="seconds of wrk per page and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all the pages (the median is reported)")
    parser.add_argument(
        "--baseline-seconds", type=int, default=1, help="seconds of the one-query baseline before each page's run"
    )
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk before a page's first run")
    parser.add_argument("--connections", type=int, default=2, help="wrk connections (default: one per worker)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--reuse", action="store_true", help="use the database as it is (no rebuild)")
    parser.add_argument("--no-load", action="store_true", help="in-process figures only: no gunicorn, no wrk")
    parser.add_argument(
        "--only",
        help="a regular expression: drive only the pages whose name matches (and skip the timed operations)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile N in-process requests of each page (of --only's, if given) with cProfile",
    )
    parser.add_argument("--password", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", help="where to write the JSON (default instance/bench/results-<db>.json)")
    args = parser.parse_args(argv)
    if args.password is None:
        from d2w.bench.generate import BENCH_PASSWORD

        args.password = BENCH_PASSWORD
    run(args)


if __name__ == "__main__":
    main()
