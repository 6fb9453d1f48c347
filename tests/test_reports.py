"""PDF reports: portfolio, cohort and seat-fit; the batch CLI; background jobs.

The PDFs are read back with poppler's ``pdftotext`` and ``pdfinfo`` (Debian's poppler-utils, as
``make test`` installs), so the tests check what a reader of the file sees: the text that must be
there, and the private notes and unticked self-declared answers that must not.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.core.extensions import db
from d2w.reports import jobs, pdf
from d2w.reports.models import ReportJob
from tests.conftest import count_queries, csrf_token, login

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page

POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo) is not installed")

PRIVATE_NOTE = "PRIVATE-NOTE-7f3a only the mentor reads this"
STAFF_NOTE = "STAFF-NOTE-91c2 staff only"
SHARED_SUMMARY = "SHARED-SUMMARY-5d1e practised the two-minute opening"
APPLICATION_NOTE = "APPLICATION-NOTE-0b44 working notes"
HOSTILE = '<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/passwd">'
ETHNIC_LABEL = "Bangladeshi"
DOB_TEXT = "4 March 1999"
SEAT_NAME = "Bethnal Green and Stepney"


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


# The role matrix of this domain's routes, in the shape of MATRIX in test_access.py: endpoint ->
# (method, path template, expected status per role). Paths may name the placeholders below.
# people["candidate"] is not the owner: another candidate's profile, check or job is "not found".
REPORTS_MATRIX: dict = {
    "reports.portfolio": ("GET", "/reports/portfolio/{report_profile}", row(L, 404, 403, 200, 200)),
    "reports.cohort": ("GET", "/reports/cohort/{report_cohort}", row(L, 403, 403, 200, 200)),
    "reports.seatfit": ("GET", "/reports/seat-fit/{report_check}", row(L, 404, 403, 200, 200)),
    "reports.job": ("GET", "/reports/jobs/{report_job}", row(L, 404, 403, 200, 200)),
    "reports.job_status": ("GET", "/reports/jobs/{report_job}/status", row(L, 404, 403, 200, 200)),
    "reports.download": ("GET", "/reports/jobs/{report_job}/download", row(L, 404, 403, 200, 200)),
}


def reports_placeholders(app, people, cohort_id: int) -> dict:
    """Real objects for the placeholders REPORTS_MATRIX's paths name (people["candidate2"] owns them):
    their profile, a saved seat-fit check (needs the seat data), and a finished portfolio job of
    theirs with its file."""
    from d2w.seatfit import services as seatfit
    from d2w.seats.models import Seat

    if not app.config.get("REPORTS_DIR"):  # test_access's app: keep its files out of instance/
        app.config["REPORTS_DIR"] = _matrix_reports_dir()
    with app.app_context():
        owner = db.session.get(User, people["candidate2"].id)
        profile = db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == owner.id))
        staff = db.session.get(User, people["admin"].id)
        seat = db.session.scalar(select(Seat).where(Seat.boundary_set == "2024").order_by(Seat.id).limit(1))
        check = seatfit.run_check(staff, profile, seat, stance="remain")
        job = ReportJob(
            kind="portfolio",
            subject_id=profile.id,
            options="",
            requested_by_id=owner.id,
            status="done",
            stored_name=jobs.store(app, b"%PDF-1.4\n%%EOF\n"),
            download_name="portfolio-test.pdf",
            finished_at=datetime.now(UTC),
        )
        db.session.add(job)
        db.session.commit()
        return {
            "report_profile": profile.id,
            "report_cohort": cohort_id,
            "report_check": check.id,
            "report_job": job.id,
        }


_MATRIX_DIR: list[str] = []


def _matrix_reports_dir() -> str:
    """One temporary folder for the role matrix's report files, removed when the run ends."""
    if not _MATRIX_DIR:
        _MATRIX_DIR.append(tempfile.mkdtemp(prefix="d2w-test-reports-"))
        atexit.register(shutil.rmtree, _MATRIX_DIR[0], True)
    return _MATRIX_DIR[0]


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def app_overrides(tmp_path):
    return {"REPORTS_DIR": str(tmp_path / "reports"), "REPORTS_RUN_INLINE": True}


def pdf_text(data: bytes, tmp_path: Path, layout: bool = False) -> str:
    path = tmp_path / f"read-{time.perf_counter_ns()}.pdf"
    path.write_bytes(data)
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdf_info(data: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / f"info-{time.perf_counter_ns()}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def assert_a4_with_page_numbers(data: bytes, tmp_path: Path) -> int:
    assert data.startswith(b"%PDF-")
    info = pdf_info(data, tmp_path)
    assert "(A4)" in info["Page size"], info["Page size"]
    pages = int(info["Pages"])
    text = pdf_text(data, tmp_path)
    for n in range(1, pages + 1):
        assert f"Page {n} of {pages}" in text
    return pages


def flat(text: str) -> str:
    """pdftotext breaks lines where the page did: compare on single spaces."""
    return re.sub(r"\s+", " ", text)


def build_candidate(app, people, make, *, seat: bool = True) -> dict:
    """people["candidate2"] in a cohort with everything a portfolio shows: self-declared answers
    (all three), attended sessions, a mentor with a shared summary, a private note and a staff
    note, a verified milestone (with hostile markup in its description), a target, a seat-fit
    check that used a Leave stance, and an application with working notes."""
    from d2w.applications import services as applications
    from d2w.candidates import services as candidates
    from d2w.cohorts.models import Cohort
    from d2w.engagement import catalogue
    from d2w.engagement.models import Milestone, MilestoneTarget, MilestoneType
    from d2w.mentoring import services as mentoring
    from d2w.programme.models import Attendance, ProgrammeSession
    from d2w.seatfit import services as seatfit
    from d2w.seats.models import Seat

    cohort_id = make.cohort("Reports cohort")
    profile_id = make.enrol(cohort_id, people["candidate2"])
    ids = {"cohort": cohort_id, "profile": profile_id}
    with app.app_context():
        owner = db.session.get(User, people["candidate2"].id)
        admin = db.session.get(User, people["admin"].id)
        mentor_user = db.session.get(User, people["mentor"].id)
        profile = db.session.get(CandidateProfile, profile_id)
        profile.home_region, profile.home_borough = "London", "Tower Hamlets"
        candidates.record_sensitive(owner, profile, "ethnic_group", "asian_bangladeshi", consent=True)
        candidates.record_sensitive(owner, profile, "date_of_birth", "1999-03-04", consent=True)
        candidates.record_sensitive(owner, profile, "eu_ref_vote", "leave", consent=True)
        now = datetime.now(UTC)
        for i, (title, skill, mark) in enumerate(
            [
                ("Finding your voice", "communication", "present"),
                ("Canvassing that listens", "canvassing", "late"),
                ("Media interviews", "media_tv", "absent"),
            ]
        ):
            s = ProgrammeSession(
                cohort_id=cohort_id,
                title=title,
                skill_area=skill,
                starts_at=now - timedelta(days=30 - 7 * i),
                ends_at=now - timedelta(days=30 - 7 * i) + timedelta(hours=2),
            )
            db.session.add(s)
            db.session.flush()
            db.session.add(Attendance(session_id=s.id, profile_id=profile_id, status=mark, marked_by_id=admin.id))
        mentor = mentoring.save_mentor_profile(admin, mentor_user, mentoring.MentorFields(region="London"))
        assignment = mentoring.assign(admin, profile, mentor, is_primary=True)
        log = mentoring.add_log(
            mentor_user,
            assignment,
            mentoring.LogFields(
                met_on=date.today(),
                duration_minutes=45,
                mode="video",
                summary=SHARED_SUMMARY,
                private_note=PRIVATE_NOTE,
            ),
        )
        mentoring.add_staff_note(admin, log, STAFF_NOTE)
        catalogue.ensure_seeded()
        mtype = db.session.scalar(select(MilestoneType).order_by(MilestoneType.id).limit(1))
        db.session.add(
            Milestone(
                profile_id=profile_id,
                type_id=mtype.id,
                occurred_on=date.today() - timedelta(days=10),
                place="Brick Lane community centre",
                region="London",
                description="Free English class. " + HOSTILE,
                people_reached=40,
                volunteers_recruited=6,
                status="verified",
                verified_at=now,
                verified_by_id=admin.id,
            )
        )
        db.session.add(MilestoneTarget(cohort_id=cohort_id, type_id=mtype.id, target=2, set_by_id=admin.id))
        ids["type_name"] = mtype.name
        if seat:
            s = db.session.scalar(select(Seat).where(Seat.name == SEAT_NAME, Seat.boundary_set == "2024"))
            check = seatfit.run_check(admin, profile, s, stance="leave")
            ids["check"] = check.id
            applications.create_application(owner, profile, s, APPLICATION_NOTE)
        ids["cohort_name"] = db.session.get(Cohort, cohort_id).name
        db.session.commit()
    return ids


def _post(client, path, data=None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, path)})


def _job_id(response) -> int:
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r"/reports/jobs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _download(client, job_id: int) -> bytes:
    response = client.get(f"/reports/jobs/{job_id}/download")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data()


# ---------------------------------------------------------------------------------------------
# The URL fetcher: only the application's own static files


STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://example.org/",
        "https://example.org/static/css/print.css",
        "http://d2w-report.invalid/static/css/print.css",
        "https://d2w-report.invalid.example.org/static/css/print.css",
        "https://user@d2w-report.invalid/static/css/print.css",
        "https://d2w-report.invalid:8443/static/css/print.css",
        "https://d2w-report.invalid/etc/passwd",
        "https://d2w-report.invalid/static/../config.py",
        "https://d2w-report.invalid/static/%2e%2e/config.py",
        "https://d2w-report.invalid/static/..%2fconfig.py",
        "https://d2w-report.invalid/static//etc/passwd",
        "https://d2w-report.invalid/static/js/app.js",
        "https://d2w-report.invalid/static/css/print.css?x=1",
        "https://d2w-report.invalid/static/css/missing.css",
        "data:text/css,body{}",
        "ftp://example.org/x.css",
        "/static/css/print.css",
    ],
)
def test_the_fetcher_refuses_everything_but_bundled_static_files(url):
    with pytest.raises(pdf.RefusedURL):
        pdf.static_path(url, STATIC)
    fetcher = pdf.make_url_fetcher(STATIC)
    with pytest.raises(pdf.RefusedURL):
        fetcher.fetch(url)


def test_the_fetcher_serves_the_print_stylesheet_and_fonts():
    fetcher = pdf.make_url_fetcher(STATIC)
    css = fetcher.fetch(pdf.ORIGIN + "/static/css/print.css")
    assert b"@page" in css.read()
    assert css.content_type == "text/css"
    font = fetcher.fetch(pdf.ORIGIN + "/static/fonts/source-sans-3/SourceSans3_400Regular.ttf")
    assert font.read(4) == b"\x00\x01\x00\x00"
    assert (STATIC / "fonts" / "source-sans-3" / "OFL.txt").is_file()


def test_markup_that_asks_for_local_files_or_other_servers_gets_nothing(app, tmp_path, monkeypatch):
    """Even raw HTML (not autoescaped) cannot make the renderer read a file or call a server:
    no image, stylesheet, import or attachment is fetched, and the PDF embeds no file."""
    asked = []
    real = pdf.static_path

    def spy(url, folder):
        asked.append(url)
        return real(url, folder)

    monkeypatch.setattr(pdf, "static_path", spy)
    html = (
        "<html><head><link rel='stylesheet' href='http://example.org/x.css'>"
        "<style>@import url('file:///etc/passwd'); body { background: url('http://example.org/b.png') }</style>"
        "<link rel='attachment' href='file:///etc/passwd'></head><body>"
        "<p>Hello</p><img src='file:///etc/passwd'><img src='http://example.org/i.png'>"
        "<a rel='attachment' href='file:///etc/passwd'>x</a><object data='file:///etc/hostname'></object>"
        "<svg><image href='file:///etc/passwd' width='10' height='10'/></svg></body></html>"
    )
    with app.app_context():
        data = pdf.html_to_pdf(html, app.static_folder)
    assert any(u.startswith("file:") for u in asked) and any(u.startswith("http://example.org") for u in asked)
    passwd = Path("/etc/passwd").read_bytes()[:20]
    assert passwd not in data
    path = tmp_path / "hostile.pdf"
    path.write_bytes(data)
    if shutil.which("pdfdetach"):
        listing = subprocess.run(["pdfdetach", "-list", str(path)], check=True, capture_output=True, text=True)
        assert listing.stdout.strip().startswith("0 embedded files")
    assert "Hello" in pdf_text(data, tmp_path)


class _Fake:
    def __init__(self, text):
        self.meta = type("Meta", (), {"title": text, "subject": text, "generated": text, "notice": text})()


def test_report_templates_are_autoescaped(app):
    with app.app_context():
        html = pdf.render_html("reports/pdf/_base.html", report=_Fake(HOSTILE))
    assert "<img" not in html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html


# ---------------------------------------------------------------------------------------------
# Portfolio


def test_portfolio_without_ticks_leaves_out_notes_and_self_declared_answers(seat_data, app, people, make, tmp_path):
    ids = build_candidate(app, people, make)
    runner = app.test_cli_runner()
    out = tmp_path / "portfolio.pdf"
    result = runner.invoke(args=["d2w", "report", "portfolio", people["candidate2"].email, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote the portfolio of Cara Candidate" in result.output
    data = out.read_bytes()
    assert_a4_with_page_numbers(data, tmp_path)
    text = flat(pdf_text(data, tmp_path))
    for wanted in (
        "Candidate portfolio",
        "Cara Candidate",
        "Tower Hamlets",
        ids["cohort_name"],
        "Attended 2 of 3 marked sessions (67%)",
        "Finding your voice",
        "Canvassing that listens",
        "Communication",
        SHARED_SUMMARY,
        "Meera Mentor",
        "Verified milestones",
        "People reached",
        "Brick Lane community centre",
        "1 of 2 (50%)",
        SEAT_NAME,
        "Winnability",
        "Referendum factor hidden",
        "Considering",
        "none was ticked in",
    ):
        assert wanted in text, wanted
    # The hostile description is shown as the text it is.
    assert '<img src="file:///etc/passwd">' in text
    for unwanted in (
        PRIVATE_NOTE[:20],
        STAFF_NOTE[:15],
        APPLICATION_NOTE[:20],
        ETHNIC_LABEL,
        DOB_TEXT,
        "Leave",
        "Poor fit",
    ):
        assert unwanted not in text, unwanted
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.portfolio")).all()
        assert len(events) == 1 and events[0].actor_id is None
        assert "no self-declared answers" in events[0].summary


def test_candidate_ticks_answers_in_and_gets_their_own_portfolio(seat_data, app, people, make, client, tmp_path):
    ids = build_candidate(app, people, make)
    login(client, people["candidate2"].email)
    page = client.get(f"/reports/portfolio/{ids['profile']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Include my ethnic group" in html and "Include my 2016 referendum vote" in html
    response = _post(client, f"/reports/portfolio/{ids['profile']}", {"ethnic_group": "y", "eu_ref_vote": "y"})
    job_id = _job_id(response)
    status = client.get(f"/reports/jobs/{job_id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 286  # htmx: stop polling, the PDF is ready
    assert "Download the PDF" in status.get_data(as_text=True)
    data = _download(client, job_id)
    assert_a4_with_page_numbers(data, tmp_path)
    text = flat(pdf_text(data, tmp_path))
    assert ETHNIC_LABEL in text
    assert "2016 EU referendum vote Leave" in text
    assert "You voted Leave" in text and "Referendum alignment" in text and "Poor fit" in text
    assert DOB_TEXT not in text  # not ticked
    assert PRIVATE_NOTE[:20] not in text and STAFF_NOTE[:15] not in text
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.portfolio"))
        assert event.actor_id == people["candidate2"].id
        assert "Ethnic group" in event.summary and ETHNIC_LABEL not in event.summary and "leave" not in event.summary
        # A candidate reading their own answers is not a "staff read".
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")) is None
    # Staff may download it too, and that is audited; another candidate may not even see the job.
    staff = app.test_client()
    login(staff, people["staff"].email)
    assert _download(staff, job_id) == data
    other = app.test_client()
    login(other, people["candidate"].email)
    assert other.get(f"/reports/jobs/{job_id}").status_code == 404
    assert other.get(f"/reports/jobs/{job_id}/status").status_code == 404
    assert other.get(f"/reports/jobs/{job_id}/download").status_code == 404
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.downloaded"))
        assert event.actor_id == people["staff"].id and event.object_id == str(job_id)


def test_staff_make_anyones_portfolio_and_their_sensitive_read_is_audited(app, people, make, client, tmp_path):
    ids = build_candidate(app, people, make, seat=False)
    login(client, people["staff"].email)
    page = client.get(f"/reports/portfolio/{ids['profile']}").get_data(as_text=True)
    assert "Include their date of birth" in page
    job_id = _job_id(_post(client, f"/reports/portfolio/{ids['profile']}", {"date_of_birth": "y"}))
    text = flat(pdf_text(_download(client, job_id), tmp_path))
    assert DOB_TEXT in text and ETHNIC_LABEL not in text
    with app.app_context():
        viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive.viewed")).all()
        assert [e.actor_id for e in viewed] == [people["staff"].id]
        assert all("1999" not in (e.summary or "") for e in db.session.scalars(select(AuditEvent)))
    # The candidate cannot download the PDF staff asked for; a mentor cannot open the form.
    other = app.test_client()
    login(other, people["candidate2"].email)
    assert other.get(f"/reports/jobs/{job_id}").status_code == 404
    assert other.get(f"/reports/jobs/{job_id}/download").status_code == 404


def test_portfolio_access(app, people, make, client):
    ids = build_candidate(app, people, make, seat=False)
    login(client, people["candidate"].email)
    assert client.get(f"/reports/portfolio/{ids['profile']}").status_code == 404
    token = csrf_token(client, "/account/")
    response = client.post(f"/reports/portfolio/{ids['profile']}", data={"csrf_token": token, "ethnic_group": "y"})
    assert response.status_code == 404
    mentor = app.test_client()
    login(mentor, people["mentor"].email)  # mentors this candidate, and still may not
    assert mentor.get(f"/reports/portfolio/{ids['profile']}").status_code == 403
    assert mentor.get(f"/reports/cohort/{ids['cohort']}").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(ReportJob)) is None


# ---------------------------------------------------------------------------------------------
# Cohort report


def test_cohort_report_has_the_matrix_progress_and_mentoring_health(app, people, make, client, tmp_path):
    ids = build_candidate(app, people, make, seat=False)
    login(client, people["staff"].email)
    assert client.get(f"/reports/cohort/{ids['cohort']}").status_code == 200
    job_id = _job_id(_post(client, f"/reports/cohort/{ids['cohort']}"))
    data = _download(client, job_id)
    assert_a4_with_page_numbers(data, tmp_path)
    text = flat(pdf_text(data, tmp_path))
    for wanted in (
        "Cohort report",
        ids["cohort_name"],
        "Attendance",
        "Cara Candidate",
        "67%",
        "Attendance rate by session",
        "Milestones against targets",
        ids["type_name"],
        "1 of 2 (50%)",
        "Mentoring health",
        "Meera Mentor",
        "Mentoring sessions per month",
    ):
        assert wanted in text, wanted
    layout = pdf_text(data, tmp_path, layout=True)
    assert re.search(r"Cara Candidate\s+P\s+L\s+A\s+67%", layout), "the attendance matrix row"
    for unwanted in (PRIVATE_NOTE[:20], STAFF_NOTE[:15], SHARED_SUMMARY[:20], ETHNIC_LABEL, DOB_TEXT, "Leave"):
        assert unwanted not in text, unwanted
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.summary).where(AuditEvent.action == "report.cohort"))


def test_report_contexts_run_a_fixed_number_of_queries(app, people, make):
    """The cohort report and the portfolio do not run a query per candidate or per row."""
    from d2w.reports import contexts

    ids = build_candidate(app, people, make, seat=False)
    counts = []
    for extra in range(2):
        if extra:
            for _ in range(4):
                make.enrol(ids["cohort"], make.user("candidate"))
        with app.app_context(), count_queries(app) as statements:
            contexts.cohort_context(ids["cohort"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    with app.app_context(), count_queries(app) as statements:
        contexts.portfolio_context(ids["profile"], actor=None)
    assert len(statements) <= 20, len(statements)


# ---------------------------------------------------------------------------------------------
# Seat-fit report


def test_seatfit_report_shows_every_factor_and_the_sources(seat_data, app, people, make, client, tmp_path):
    ids = build_candidate(app, people, make)
    login(client, people["candidate2"].email)
    response = client.get(f"/reports/seat-fit/{ids['check']}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.get_data()
    assert_a4_with_page_numbers(data, tmp_path)
    text = flat(pdf_text(data, tmp_path))
    for wanted in (
        "Seat-fit report",
        SEAT_NAME,
        "Poor fit",
        "Referendum alignment",
        "Your referendum vote Leave",
        "Winnability",
        "Local ties",
        "Context",
        "Factor scores",
        "Sources",
        "Hanretty",
        "Caveats",
    ):
        assert wanted in text, wanted
    assert ETHNIC_LABEL not in text and DOB_TEXT not in text and PRIVATE_NOTE[:20] not in text
    other = app.test_client()
    login(other, people["candidate"].email)
    assert other.get(f"/reports/seat-fit/{ids['check']}").status_code == 404
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.seatfit"))
        assert event.actor_id == people["candidate2"].id and "leave" not in event.summary.lower()


# ---------------------------------------------------------------------------------------------
# Jobs in the background


@pytest.fixture
def threaded(app):
    app.config["REPORTS_RUN_INLINE"] = False
    return app


def test_a_job_renders_in_a_worker_thread_and_the_page_polls_it(threaded, people, make, client, tmp_path):
    app = threaded
    ids = build_candidate(app, people, make, seat=False)
    login(client, people["staff"].email)
    job_id = _job_id(_post(client, f"/reports/cohort/{ids['cohort']}"))
    page = client.get(f"/reports/jobs/{job_id}").get_data(as_text=True)
    assert f'hx-get="/reports/jobs/{job_id}/status"' in page and 'hx-trigger="every 1s"' in page
    seen = []
    deadline = time.monotonic() + 60
    while True:
        response = client.get(f"/reports/jobs/{job_id}/status", headers={"HX-Request": "true"})
        body = response.get_data(as_text=True)
        seen.append(response.status_code)
        if response.status_code == 286:
            break
        assert response.status_code == 200
        assert "Waiting to start" in body or "Making the PDF" in body
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    assert "Download the PDF" in body
    assert "hx-trigger" not in client.get(f"/reports/jobs/{job_id}").get_data(as_text=True)
    data = _download(client, job_id)
    assert "Cohort report" in pdf_text(data, tmp_path)
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "done" and job.finished_at and len(job.stored_name) >= 32
        stored = Path(app.config["REPORTS_DIR"]) / job.stored_name
        assert stored.is_file() and (stored.stat().st_mode & 0o077) == 0


def test_a_failed_job_says_so(app, people, make, client, monkeypatch):
    from d2w.reports import services

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "render", broken)
    ids = build_candidate(app, people, make, seat=False)
    login(client, people["staff"].email)
    job_id = _job_id(_post(client, f"/reports/cohort/{ids['cohort']}"))
    body = client.get(f"/reports/jobs/{job_id}").get_data(as_text=True)
    assert "could not be made" in body
    assert client.get(f"/reports/jobs/{job_id}/download").status_code == 404
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "failed" and "boom" not in (job.error or "")


def test_nobody_queues_more_than_three_reports_at_once(app, people, make, client):
    cohort_id = make.cohort("Busy cohort")
    with app.app_context():
        for _ in range(3):
            db.session.add(ReportJob(kind="cohort", subject_id=cohort_id, requested_by_id=people["staff"].id))
        db.session.commit()
    login(client, people["staff"].email)
    response = _post(client, f"/reports/cohort/{cohort_id}")
    assert response.status_code == 429
    assert "already have 3 reports being made" in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(ReportJob)).all()) == 3


def test_old_reports_are_cleaned_up_and_lost_jobs_fail(app, people):
    now = datetime.now(UTC)
    with app.app_context():
        old = ReportJob(
            kind="cohort",
            subject_id=1,
            requested_by_id=people["staff"].id,
            status="done",
            stored_name=jobs.store(app, b"%PDF-old"),
            created_at=now - timedelta(days=2),
        )
        fresh = ReportJob(
            kind="cohort",
            subject_id=1,
            requested_by_id=people["staff"].id,
            status="done",
            stored_name=jobs.store(app, b"%PDF-new"),
            created_at=now - timedelta(hours=1),
        )
        lost = ReportJob(
            kind="cohort",
            subject_id=1,
            requested_by_id=people["staff"].id,
            status="running",
            created_at=now - timedelta(hours=2),
        )
        db.session.add_all([old, fresh, lost])
        db.session.commit()
        folder = Path(app.config["REPORTS_DIR"])
        stray = folder / "stray.pdf"
        stray.write_bytes(b"%PDF-stray")
        os.utime(stray, (time.time() - 3 * 86400, time.time() - 3 * 86400))
        old_file, fresh_file = folder / old.stored_name, folder / fresh.stored_name
        assert jobs.maybe_clean_up(app, force=True) == 2
        assert not old_file.exists() and not stray.exists() and fresh_file.exists()
        assert db.session.get(ReportJob, old.id) is None
        assert db.session.get(ReportJob, lost.id).status == "failed"
        # A cheap check: a second call within the hour does nothing.
        assert jobs.maybe_clean_up(app) == 0


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_finds_candidates_and_cohorts_by_id_email_or_name(seat_data, app, people, make, tmp_path):
    ids = build_candidate(app, people, make)
    runner = app.test_cli_runner()
    by_id = tmp_path / "by-id.pdf"
    result = runner.invoke(
        args=["d2w", "report", "portfolio", str(ids["profile"]), "-o", str(by_id), "--include", "eu_ref_vote"]
    )
    assert result.exit_code == 0, result.output
    text = flat(pdf_text(by_id.read_bytes(), tmp_path))
    assert "2016 EU referendum vote Leave" in text and "You voted Leave" in text and ETHNIC_LABEL not in text

    cohort_pdf = tmp_path / "cohort.pdf"
    result = runner.invoke(args=["d2w", "report", "cohort", ids["cohort_name"], "-o", str(cohort_pdf)])
    assert result.exit_code == 0, result.output
    assert "Cohort report" in pdf_text(cohort_pdf.read_bytes(), tmp_path)
    result = runner.invoke(args=["d2w", "report", "cohort", str(ids["cohort"]), "-o", str(cohort_pdf)])
    assert result.exit_code == 0, result.output

    make.enrol(ids["cohort"], people["candidate"])
    folder = tmp_path / "batch"
    result = runner.invoke(args=["d2w", "report", "portfolios", str(ids["cohort"]), "-o", str(folder)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in folder.glob("*.pdf"))
    assert len(files) == 2 and "Wrote 2 portfolio(s)" in result.output
    for path in folder.glob("*.pdf"):
        text = flat(pdf_text(path.read_bytes(), tmp_path))
        assert ETHNIC_LABEL not in text and "Leave" not in text and PRIVATE_NOTE[:20] not in text
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.portfolio")).all()) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["portfolio", "nobody@example.org"], "No candidate"),
        (["portfolio", "999999"], "No candidate"),
        (["cohort", "No such cohort"], "No cohort"),
        (["portfolios", "424242"], "No cohort"),
    ],
)
def test_cli_refuses_unknown_subjects(app, people, tmp_path, args, message):
    result = app.test_cli_runner().invoke(args=["d2w", "report", *args, "-o", str(tmp_path / "out.pdf")])
    assert result.exit_code != 0 and message in result.output


def test_cli_refuses_unknown_fields(app, people, tmp_path):
    result = app.test_cli_runner().invoke(
        args=[
            "d2w",
            "report",
            "portfolio",
            people["candidate2"].email,
            "-o",
            str(tmp_path / "x.pdf"),
            "--include",
            "religion",
        ]
    )
    assert result.exit_code != 0 and "religion" in result.output


# ---------------------------------------------------------------------------------------------
# How long a 30-candidate cohort report and a portfolio take (printed, not asserted)


def test_timings_of_a_30_candidate_cohort(app, people, make, tmp_path, capsys):
    from d2w.cohorts import services as cohorts
    from d2w.cohorts.models import Cohort
    from d2w.engagement import catalogue
    from d2w.engagement.models import Milestone, MilestoneTarget, MilestoneType
    from d2w.programme.models import Attendance, ProgrammeSession
    from d2w.reports import services
    from d2w.users import services as users

    cohort_id = make.cohort("Timing cohort", capacity=40)
    now = datetime.now(UTC)
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        cohort = db.session.get(Cohort, cohort_id)
        catalogue.ensure_seeded()
        types = db.session.scalars(select(MilestoneType).order_by(MilestoneType.id).limit(4)).all()
        for t in types:
            db.session.add(MilestoneTarget(cohort_id=cohort_id, type_id=t.id, target=3, set_by_id=admin.id))
        sessions = []
        for i in range(20):
            s = ProgrammeSession(
                cohort_id=cohort_id,
                title=f"Session {i + 1}",
                skill_area=("communication", "canvassing", "media_tv", "fundraising")[i % 4],
                starts_at=now - timedelta(days=140 - 7 * i),
                ends_at=now - timedelta(days=140 - 7 * i) + timedelta(hours=2),
            )
            db.session.add(s)
            sessions.append(s)
        db.session.flush()
        profiles = []
        for n in range(30):
            user = users.create_user(
                admin, email=f"timing{n}@example.org", name=f"Timing Candidate {n:02d}", role="candidate"
            )
            profile = db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == user.id))
            cohorts.enrol(admin, cohort, profile)
            profiles.append(profile)
            for i, s in enumerate(sessions):
                status = ("present", "present", "late", "absent", "excused")[(n + i) % 5]
                db.session.add(Attendance(session_id=s.id, profile_id=profile.id, status=status, marked_by_id=admin.id))
            for k in range(n % 5):
                db.session.add(
                    Milestone(
                        profile_id=profile.id,
                        type_id=types[k % len(types)].id,
                        occurred_on=date.today() - timedelta(days=k + 1),
                        place="Community hall",
                        description="Verified community work.",
                        people_reached=10 * k,
                        volunteers_recruited=k,
                        status="verified",
                        verified_at=now,
                        verified_by_id=admin.id,
                    )
                )
        db.session.commit()
        first = profiles[0].id
        services.render("portfolio", first, actor=None)  # warm up: WeasyPrint and the fonts load once
        started = time.perf_counter()
        cohort_pdf = services.render("cohort", cohort_id, actor=None)
        cohort_s = time.perf_counter() - started
        started = time.perf_counter()
        portfolio_pdf = services.render("portfolio", first, actor=None)
        portfolio_s = time.perf_counter() - started
    pages = assert_a4_with_page_numbers(cohort_pdf, tmp_path)
    text = flat(pdf_text(cohort_pdf, tmp_path))
    assert all(f"Timing Candidate {n:02d}" in text for n in range(30))
    assert "Sessions 11 to 20" in text  # the matrix continues in a second table
    assert_a4_with_page_numbers(portfolio_pdf, tmp_path)
    with capsys.disabled():
        print(
            f"\n[reports timing] 30-candidate cohort report ({len(sessions)} sessions, {pages} pages): "
            f"{cohort_s:.2f} s; one portfolio: {portfolio_s:.2f} s"
        )
