"""Engagement milestones: the catalogue, logging with safe uploads, verification with history,
targets, progress and totals, local ties, the role matrix and query counts."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from d2w.audit.models import AuditEvent
from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts import services as cohorts
from d2w.cohorts.models import Cohort
from d2w.core.errors import DomainError, Forbidden
from d2w.core.extensions import db
from d2w.engagement import catalogue, policy, services, uploads
from d2w.engagement.models import Milestone, MilestoneEvent, MilestoneTarget, MilestoneType
from tests.conftest import count_queries, csrf_token, login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
MAX_BYTES = 4096

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


ENGAGEMENT_MATRIX = {
    "engagement.mine": ("GET", "/milestones/mine", row(L, 200, 403, 403, 403)),
    "engagement.new": ("GET", "/milestones/new", row(L, 200, 403, 403, 403)),
    # {milestone}: people["candidate2"]'s milestone (awaiting verification, with a file);
    # people["candidate"] and people["mentor"] (who mentors nobody) get 404.
    "engagement.detail": ("GET", "/milestones/{milestone}", row(L, 404, 404, 200, 200)),
    "engagement.edit": ("GET", "/milestones/{milestone}/edit", row(L, 404, 403, 403, 403)),
    "engagement.evidence": ("GET", "/milestones/{milestone}/evidence", row(L, 404, 404, 200, 200)),
    # A bare POST carries no version: a conflict, shown on the milestone's page.
    "engagement.verify": ("POST", "/milestones/{milestone}/verify", row(L, 403, 404, 302, 302)),
    "engagement.return_milestone": ("POST", "/milestones/{milestone}/return", row(L, 403, 404, 302, 302)),
    "engagement.review": ("GET", "/milestones/", row(L, 403, 200, 200, 200)),
    "engagement.types": ("GET", "/milestones/types", row(L, 403, 403, 200, 200)),
    "engagement.new_type": ("GET", "/milestones/types/new", row(L, 403, 403, 200, 200)),
    "engagement.edit_type": ("GET", "/milestones/types/{milestone_type}/edit", row(L, 403, 403, 200, 200)),
    "engagement.targets": ("GET", "/milestones/cohorts/{cohort}/targets", row(L, 403, 403, 200, 200)),
    "engagement.cohort_progress": ("GET", "/milestones/cohorts/{cohort}", row(L, 403, 403, 200, 200)),
    "engagement.progress": ("GET", "/milestones/progress", row(L, 403, 403, 200, 200)),
}


def _admin(people):
    return db.session.get(User, people["admin"].id)


def _profile(ref) -> CandidateProfile:
    return db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == ref.id))


def _type(name_start: str = "Running a free English") -> MilestoneType:
    return db.session.scalar(select(MilestoneType).where(MilestoneType.name.startswith(name_start)))


def engagement_placeholders(app, people, cohort_id: int | None = None) -> dict:
    """The objects ENGAGEMENT_MATRIX's paths name. {milestone}: a milestone of people["candidate2"]
    with an uploaded PDF, awaiting verification; {milestone_type}: a seeded type; {cohort}: the
    given cohort, or one made here. The catalogue is seeded if a test database emptied it."""
    with app.app_context():
        catalogue.ensure_seeded()
        admin = _admin(people)
        if cohort_id is None:
            cohort = cohorts.create_cohort(
                admin,
                cohorts.CohortFields(
                    name="Engagement matrix cohort",
                    focus="both",
                    intake_start=date(2026, 1, 1),
                    intake_end=date(2027, 12, 31),
                    capacity=10,
                ),
            )
            cohort_id = cohort.id
        other_user = db.session.get(User, people["candidate2"].id)
        saved = services.log_milestone(
            other_user,
            _profile(people["candidate2"]),
            _fields(type_id=_type().id),
            uploads.Evidence(PDF, "register.pdf", "application/pdf"),
        )
        type_id = _type().id
        db.session.commit()
        return {"milestone": saved.milestone.id, "milestone_type": type_id, "cohort": cohort_id}


def _fields(**over) -> services.MilestoneFields:
    values = {
        "type_id": None,
        "occurred_on": date.today() - timedelta(days=3),
        "place": "Brick Lane Mosque, London E1",
        "description": "A free English class for twelve women from the Bangladeshi community.",
        "region": "London",
        "borough": "Tower Hamlets",
        "seat_code": "E14000555",
        "community": "Bangladeshi community",
        "people_reached": 12,
        "volunteers_recruited": 2,
        "evidence_url": None,
    }
    values.update(over)
    return services.MilestoneFields(**values)


@pytest.fixture
def app_overrides(tmp_path):
    return {"EVIDENCE_DIR": str(tmp_path / "evidence"), "EVIDENCE_MAX_BYTES": MAX_BYTES}


@pytest.fixture(autouse=True)
def seeded(app):
    """The migration seeds the catalogue; PostgreSQL runs truncate it between tests."""
    with app.app_context():
        catalogue.ensure_seeded()
        db.session.commit()


@pytest.fixture
def evidence_dir(app) -> Path:
    return Path(app.config["EVIDENCE_DIR"])


def _stored_files(evidence_dir: Path) -> list[Path]:
    return sorted(evidence_dir.glob("*")) if evidence_dir.exists() else []


def _assign(app, people, mentor_key, candidate_key):
    from d2w.mentoring import services as mentoring

    with app.app_context():
        admin = _admin(people)
        mentor_user = db.session.get(User, people[mentor_key].id)
        mentor = mentoring.mentor_profile_of(mentor_user) or mentoring.save_mentor_profile(
            admin, mentor_user, mentoring.MentorFields(capacity=3)
        )
        mentoring.assign(admin, _profile(people[candidate_key]), mentor, is_primary=True)
        db.session.commit()


def _log(app, ref, **over) -> int:
    with app.app_context():
        user = db.session.get(User, ref.id)
        evidence = over.pop("evidence", uploads.Evidence(PDF, "evidence.pdf", "application/pdf"))
        type_id = over.pop("type_id", None) or _type().id
        saved = services.log_milestone(user, _profile(ref), _fields(type_id=type_id, **over), evidence)
        db.session.commit()
        return saved.milestone.id


def _form(type_id, **over):
    data = {
        "type_id": str(type_id),
        "occurred_on": (date.today() - timedelta(days=2)).isoformat(),
        "place": "Whitechapel Idea Store",
        "region": "London",
        "borough": "Tower Hamlets",
        "seat_code": "E14000555",
        "community": "Somali community",
        "description": "Basic IT classes on Saturday mornings.",
        "people_reached": "15",
        "volunteers_recruited": "1",
        "evidence_url": "",
    }
    data.update(over)
    return data


def _post_form(client, path, data, file=None):
    token = csrf_token(client, path)
    payload = {**data, "csrf_token": token}
    if file is not None:
        payload["evidence_file"] = file
    return client.post(path, data=payload, content_type="multipart/form-data")


# ---------------------------------------------------------------------------------------------
# The catalogue


def test_the_migration_seeds_the_thirteen_types(app):
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        names = list(db.session.scalars(select(MilestoneType.name)))
    assert len(names) == 13
    assert "Running a free English class" in names
    assert 'Working with a "Friends Of" group' in names
    assert {n for n, *_ in catalogue.SEED_TYPES} == set(names)


def test_staff_edit_the_catalogue(app, client, people):
    login(client, people["staff"].email)
    r = _post_form(client, "/milestones/types/new", {"name": "", "category": ""})
    assert r.status_code == 400 and "Enter a name for the milestone type." in r.get_data(as_text=True)
    r = _post_form(client, "/milestones/types/new", {"name": "Running a free English class", "category": "classes"})
    assert "There is already a milestone type with this name." in r.get_data(as_text=True)
    r = _post_form(
        client,
        "/milestones/types/new",
        {"name": "Hosting an iftar", "category": "community", "evidence_required": "y", "active": "y"},
    )
    assert r.status_code == 302
    with app.app_context():
        t = _type("Hosting an iftar")
        assert t.evidence_required and t.active and t.category == "community"
        type_id, version = t.id, t.version
    r = _post_form(
        client,
        f"/milestones/types/{type_id}/edit",
        {"name": "Hosting an open iftar", "category": "community", "version": str(version)},
    )
    assert r.status_code == 302
    with app.app_context():
        t = db.session.get(MilestoneType, type_id)
        assert t.name == "Hosting an open iftar" and not t.active and not t.evidence_required
    # A stale version is refused and changes nothing.
    r = _post_form(
        client, f"/milestones/types/{type_id}/edit", {"name": "X", "category": "media", "version": str(version)}
    )
    assert r.status_code == 409
    with app.app_context():
        assert db.session.get(MilestoneType, type_id).name == "Hosting an open iftar"


# ---------------------------------------------------------------------------------------------
# Content sniffing and file names


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (EXE, None),
        (b"GIF89a", None),
        (b"<html><script>", None),
        (b"%PDF", None),  # too short to be the PDF signature
        (b"\x89PNG\r\n", None),
        (b"", None),
    ],
)
def test_sniff_reads_the_content_not_the_name(head, expected):
    assert uploads.sniff(head) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("register.pdf", "register.pdf"),
        ("  photo  of class.JPG ", "photo of class.JPG"),
        ("tab\there.png", "tab here.png"),
        ("bell\x07.pdf", "bell.pdf"),
    ],
)
def test_file_names_are_tidied_for_display(raw, expected):
    assert uploads.clean_filename(raw) == expected


@pytest.mark.parametrize("raw", ["../../etc/passwd.pdf", "C:\\Users\\me\\a.pdf", "a/b.pdf", "..", "", "...", "\x00"])
def test_file_names_with_folders_or_nothing_are_refused(raw):
    with pytest.raises(uploads.UploadError):
        uploads.clean_filename(raw)


def test_read_checks_size_emptiness_and_content(app):
    with app.test_request_context():
        assert uploads.read(io.BytesIO(PDF), "a.pdf").content_type == "application/pdf"
        assert uploads.read(io.BytesIO(PNG), "a.pdf").content_type == "image/png"  # content wins
        with pytest.raises(uploads.UploadError, match="empty"):
            uploads.read(io.BytesIO(b""), "a.pdf")
        with pytest.raises(uploads.UploadError, match="larger than 4 KB"):
            uploads.read(io.BytesIO(b"%PDF-" + b"x" * MAX_BYTES), "a.pdf")
        assert uploads.read(io.BytesIO(b"%PDF-" + b"x" * (MAX_BYTES - 5)), "a.pdf").size == MAX_BYTES
        with pytest.raises(uploads.UploadError, match="PDF, JPEG or PNG"):
            uploads.read(io.BytesIO(EXE), "setup.pdf")


def test_stored_files_have_random_names_and_path_for_refuses_others(app, evidence_dir):
    with app.test_request_context():
        name = uploads.store(uploads.Evidence(PDF, "a.pdf", "application/pdf"))
        other = uploads.store(uploads.Evidence(PDF, "a.pdf", "application/pdf"))
        assert name != other and name.endswith(".pdf") and len(name) == 36
        assert uploads.path_for(name) == evidence_dir / name
        assert (evidence_dir / name).read_bytes() == PDF
        for bad in ("../d2w.sqlite3", "a.pdf", name.upper(), "", name + "/"):
            assert uploads.path_for(bad) is None
        uploads.discard(name)
        assert uploads.path_for(name) is None
        uploads.discard("../../etc/passwd")  # ignored


# ---------------------------------------------------------------------------------------------
# Logging: services


def test_log_checks_every_field(app, people):
    with app.app_context():
        user = db.session.get(User, people["candidate"].id)
        profile = _profile(people["candidate"])
        english = _type().id
        cases = [
            ({"type_id": None}, "type_id"),
            ({"type_id": 999_999}, "type_id"),
            ({"occurred_on": None}, "occurred_on"),
            ({"occurred_on": date.today() + timedelta(days=1)}, "occurred_on"),
            ({"place": "   "}, "place"),
            ({"place": "x" * 256}, "place"),
            ({"region": "Atlantis"}, "region"),
            ({"seat_code": "E1400055"}, "seat_code"),
            ({"seat_code": "X14000555"}, "seat_code"),
            ({"description": ""}, "description"),
            ({"people_reached": -1}, "people_reached"),
            ({"people_reached": 100_001}, "people_reached"),
            ({"volunteers_recruited": 10_001}, "volunteers_recruited"),
            ({"evidence_url": "http://example.org/news"}, "evidence_url"),
            ({"evidence_url": "https://exa mple.org"}, "evidence_url"),
            ({"evidence_url": "javascript:alert(1)"}, "evidence_url"),
        ]
        for over, field in cases:
            values = {"type_id": english, **over}
            with pytest.raises(DomainError) as exc:
                services.log_milestone(
                    user, profile, _fields(**values), uploads.Evidence(PDF, "a.pdf", "application/pdf")
                )
            assert exc.value.field == field, (over, exc.value.message)
            db.session.rollback()
        # Evidence is required for this type: a link or a file.
        with pytest.raises(DomainError, match="needs evidence"):
            services.log_milestone(user, profile, _fields(type_id=english))
        db.session.rollback()
        # Not for a hub visit.
        saved = services.log_milestone(user, profile, _fields(type_id=_type("Visiting").id, seat_code=" e14000555 "))
        assert saved.milestone.seat_code == "E14000555" and saved.stored is None
        # Nobody logs for someone else.
        staff = db.session.get(User, people["staff"].id)
        with pytest.raises(Forbidden):
            services.log_milestone(staff, profile, _fields(type_id=english, evidence_url="https://example.org/a"))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Milestone)) == 0


def test_log_stores_the_file_and_the_first_event(app, people, evidence_dir):
    milestone_id = _log(app, people["candidate"])
    with app.app_context():
        m = db.session.get(Milestone, milestone_id)
        assert m.status == "logged" and m.evidence_filename == "evidence.pdf"
        assert m.evidence_type == "application/pdf" and m.evidence_size == len(PDF)
        assert (evidence_dir / m.evidence_file).read_bytes() == PDF
        (event,) = services.history(m)
        assert (event.from_status, event.to_status, event.actor_id) == (None, "logged", people["candidate"].id)


# ---------------------------------------------------------------------------------------------
# Logging: the form and bad uploads


def test_candidate_logs_a_milestone_with_a_pdf(app, client, people, evidence_dir):
    login(client, people["candidate"].email)
    with app.app_context():
        type_id = _type("Running basic IT").id
    r = _post_form(client, "/milestones/new", _form(type_id), (io.BytesIO(PDF), "class register.pdf"))
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        m = db.session.scalar(select(Milestone))
        assert m.evidence_filename == "class register.pdf"
        assert (m.region, m.borough, m.seat_code, m.people_reached) == ("London", "Tower Hamlets", "E14000555", 15)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Download class register.pdf" in page and "Awaiting verification" in page
    download = client.get(f"/milestones/{m.id}/evidence")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "class register.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert len(_stored_files(evidence_dir)) == 1


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"%PDF-" + b"0" * MAX_BYTES, "big.pdf", "The file is larger than 4 KB"),
        (EXE, "invoice.pdf", "The file must be a PDF, JPEG or PNG file"),
        (PDF, "../../etc/passwd.pdf", "The file name must not contain folder names"),
        (b"", "empty.pdf", "The file is empty"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(app, client, people, evidence_dir, content, filename, message):
    login(client, people["candidate"].email)
    with app.app_context():
        type_id = _type().id
    r = _post_form(client, "/milestones/new", _form(type_id), (io.BytesIO(content), filename))
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert message in page
    assert 'id="evidence_file-error"' in page  # at the field
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Milestone)) == 0
        assert db.session.scalar(select(func.count()).select_from(MilestoneEvent)) == 0
    assert _stored_files(evidence_dir) == []


def test_a_good_file_with_a_bad_field_stores_nothing(app, client, people, evidence_dir):
    login(client, people["candidate"].email)
    with app.app_context():
        type_id = _type().id
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    r = _post_form(client, "/milestones/new", _form(type_id, occurred_on=tomorrow), (io.BytesIO(PDF), "ok.pdf"))
    assert r.status_code == 400 and "cannot be in the future" in r.get_data(as_text=True)
    r = _post_form(client, "/milestones/new", _form(type_id, seat_code="Hackney"), (io.BytesIO(PDF), "ok.pdf"))
    assert "for example E14000555" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Milestone)) == 0
    assert _stored_files(evidence_dir) == []


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"type_id": ""}, "Choose what kind of milestone this is."),
        ({"occurred_on": ""}, "Enter the date it happened"),
        ({"occurred_on": "31/02/2026"}, "Enter the date it happened"),
        ({"place": ""}, "Enter where it happened."),
        ({"description": ""}, "Describe what you did and who took part."),
        ({"people_reached": "lots"}, "Not a valid integer value."),
        ({"people_reached": "-3"}, "Enter a number from 0 to 100,000."),
        ({"volunteers_recruited": "999999"}, "Enter a number from 0 to 10,000."),
        ({"region": "Narnia"}, "Not a valid choice."),
        ({"evidence_url": "ftp://example.org/x"}, "Evidence links must start with https://."),
        ({"evidence_url": ""}, "needs evidence: add a link or upload a file."),
    ],
)
def test_bad_milestone_input_is_shown_at_the_field_and_saves_nothing(app, client, people, over, message):
    login(client, people["candidate"].email)
    with app.app_context():
        type_id = _type().id
    data = _form(type_id)
    data.update(over)
    r = _post_form(client, "/milestones/new", data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Milestone)) == 0


# ---------------------------------------------------------------------------------------------
# Verification and history


def test_return_fix_resubmit_verify_keeps_the_history(app, people, evidence_dir):
    _assign(app, people, "mentor", "candidate")
    milestone_id = _log(app, people["candidate"])
    with app.app_context():
        mentor = db.session.get(User, people["mentor"].id)
        m = db.session.get(Milestone, milestone_id)
        with pytest.raises(DomainError, match="Say what the candidate should change"):
            services.return_milestone(mentor, m, version=m.version, comment="  ")
        db.session.rollback()
        m = db.session.get(Milestone, milestone_id)
        services.return_milestone(mentor, m, version=m.version, comment="Add the number of people who came.")
        db.session.commit()
        assert services.latest_return_comment(m) == "Add the number of people who came."
        # Not verifiable while it is with the candidate.
        with pytest.raises(DomainError):
            services.verify(mentor, m, version=m.version)
        db.session.rollback()

        candidate = db.session.get(User, people["candidate"].id)
        m = db.session.get(Milestone, milestone_id)
        old_file = m.evidence_file
        saved = services.update_milestone(
            candidate,
            m,
            _fields(type_id=m.type_id, people_reached=30),
            uploads.Evidence(PNG, "photo.png", "image/png"),
            version=m.version,
        )
        db.session.commit()
        assert saved.replaced == old_file and saved.stored == m.evidence_file
        assert m.status == "logged" and m.people_reached == 30
        uploads.discard(saved.replaced)

        m = db.session.get(Milestone, milestone_id)
        services.verify(mentor, m, version=m.version)
        db.session.commit()
        assert m.status == "verified" and m.verified_by_id == mentor.id and m.verified_at is not None
        steps = [(e.from_status, e.to_status, e.actor_id, e.description) for e in services.history(m)]
        assert steps == [
            (None, "logged", candidate.id, "Logged"),
            ("logged", "returned", mentor.id, "Returned for changes"),
            ("returned", "logged", candidate.id, "Changed and resubmitted"),
            ("logged", "verified", mentor.id, "Verified"),
        ]
        # Verified: the candidate can no longer change it.
        assert not policy.can_edit(candidate, m)
        with pytest.raises(DomainError, match="verified"):
            services.update_milestone(candidate, m, _fields(type_id=m.type_id), version=m.version)
        db.session.rollback()
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"milestone.returned", "milestone.verified"} <= actions
    assert [p.name for p in _stored_files(evidence_dir)] == [saved.stored]


def test_only_staff_or_the_active_mentor_review(app, people):
    _assign(app, people, "mentor", "candidate2")
    milestone_id = _log(app, people["candidate"])
    with app.app_context():
        m = db.session.get(Milestone, milestone_id)
        for key in ("mentor", "candidate"):
            actor = db.session.get(User, people[key].id)
            assert not policy.can_review(actor, m)
            with pytest.raises(Forbidden):
                services.verify(actor, m, version=m.version)
            db.session.rollback()
        staff = db.session.get(User, people["staff"].id)
        assert policy.can_review(staff, db.session.get(Milestone, milestone_id))


def test_the_mentor_policy_helper(app, people):
    _assign(app, people, "mentor", "candidate")
    with app.app_context():
        mentor = db.session.get(User, people["mentor"].id)
        mentor2 = db.session.get(User, people["mentor2"].id)
        staff = db.session.get(User, people["staff"].id)
        mine = _profile(people["candidate"]).id
        other = _profile(people["candidate2"]).id
        assert policy.is_active_mentor(mentor, mine)
        assert not policy.is_active_mentor(mentor, other)
        assert not policy.is_active_mentor(mentor2, mine)
        assert not policy.is_active_mentor(staff, mine)


def test_review_through_the_pages_with_optimistic_locking(app, client, people):
    _assign(app, people, "mentor", "candidate")
    milestone_id = _log(app, people["candidate"])
    login(client, people["mentor"].email)
    path = f"/milestones/{milestone_id}"
    page = client.get(path).get_data(as_text=True)
    assert "Verify or return" in page
    token = csrf_token(client, path)
    r = client.post(f"{path}/return", data={"csrf_token": token, "version": "1", "comment": ""})
    assert r.status_code == 400 and "Say what the candidate should change or add." in r.get_data(as_text=True)
    r = client.post(f"{path}/return", data={"csrf_token": token, "version": "1", "comment": "Name the venue."})
    assert r.status_code == 302
    # A second reviewer with the old page open: refused, nothing changes.
    r = client.post(f"{path}/verify", data={"csrf_token": token, "version": "1"}, follow_redirects=True)
    assert "changed while you had it open" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).status == "returned"
    # The candidate edits with a stale version: a conflict, nothing saved.
    c2 = app.test_client()
    login(c2, people["candidate"].email)
    with app.app_context():
        type_id = db.session.get(Milestone, milestone_id).type_id
    r = _post_form(c2, f"{path}/edit", _form(type_id, version="1", evidence_url="https://example.org/a"))
    assert r.status_code == 409
    r = _post_form(c2, f"{path}/edit", _form(type_id, version="2", evidence_url="https://example.org/a"))
    assert r.status_code == 302
    with app.app_context():
        m = db.session.get(Milestone, milestone_id)
        assert m.status == "logged" and m.place == "Whitechapel Idea Store" and m.version == 3


def test_evidence_downloads_by_staff_and_mentors_are_audited(app, people):
    _assign(app, people, "mentor", "candidate")
    milestone_id = _log(app, people["candidate"])
    for key in ("candidate", "mentor", "staff"):
        c = app.test_client()
        login(c, people[key].email)
        assert c.get(f"/milestones/{milestone_id}/evidence").status_code == 200
    with app.app_context():
        actors = list(
            db.session.scalars(select(AuditEvent.actor_id).where(AuditEvent.action == "milestone.evidence_downloaded"))
        )
    assert sorted(actors) == sorted([people["mentor"].id, people["staff"].id])


def test_others_get_404_for_the_milestone_and_its_file(app, people):
    _assign(app, people, "mentor2", "candidate2")  # mentor2 mentors someone else
    milestone_id = _log(app, people["candidate"])
    for key in ("candidate2", "mentor", "mentor2"):
        c = app.test_client()
        login(c, people[key].email)
        for suffix in ("", "/evidence"):
            assert c.get(f"/milestones/{milestone_id}{suffix}").status_code == 404, (key, suffix)
    c = app.test_client()
    login(c, people["candidate2"].email)
    assert c.get(f"/milestones/{milestone_id}/edit").status_code == 404


def test_a_milestone_without_a_file_has_no_download(app, client, people):
    milestone_id = _log(app, people["candidate"], evidence=None, evidence_url="https://example.org/story")
    login(client, people["candidate"].email)
    assert client.get(f"/milestones/{milestone_id}/evidence").status_code == 404


# ---------------------------------------------------------------------------------------------
# Targets, progress, totals and ties


def _cohort(app, people, name, refs) -> int:
    with app.app_context():
        admin = _admin(people)
        cohort = cohorts.create_cohort(
            admin,
            cohorts.CohortFields(
                name=name, focus="both", intake_start=date(2026, 1, 1), intake_end=date(2027, 12, 31), capacity=20
            ),
        )
        for ref in refs:
            cohorts.enrol(admin, cohort, _profile(ref))
        db.session.commit()
        return cohort.id


def _verify(app, people, milestone_id):
    with app.app_context():
        staff = db.session.get(User, people["staff"].id)
        m = db.session.get(Milestone, milestone_id)
        services.verify(staff, m, version=m.version)
        db.session.commit()


def test_targets_progress_and_totals(app, people):
    cohort_id = _cohort(app, people, "Progress cohort", [people["candidate"], people["candidate2"]])
    with app.app_context():
        english, it = _type().id, _type("Running basic IT").id
        admin = _admin(people)
        cohort = db.session.get(Cohort, cohort_id)
        with pytest.raises(DomainError):
            services.set_targets(admin, cohort, {english: -1})
        db.session.rollback()
        with pytest.raises(Forbidden):
            services.set_targets(db.session.get(User, people["candidate"].id), cohort, {english: 1})
        db.session.rollback()
        assert services.set_targets(admin, cohort, {english: 2, it: 1}) == 2
        db.session.commit()
    first = _log(app, people["candidate"], type_id=english, people_reached=10, volunteers_recruited=1)
    second = _log(app, people["candidate"], type_id=english, people_reached=5)
    third = _log(app, people["candidate"], type_id=english, people_reached=7)
    _log(app, people["candidate2"], type_id=it, people_reached=100)  # not verified: not counted
    for mid in (first, second, third):
        _verify(app, people, mid)
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        mine = services.candidate_progress(_profile(people["candidate"]), cohort)
        assert mine.overall.text == "2 of 3"  # the third English class counts only up to the target
        assert mine.overall.percent == 67
        progress = services.cohort_progress(cohort)
        assert progress.overall.text == "2 of 6"
        assert [(tp.type.id, tp.progress.text) for tp in progress.by_type] == [(english, "2 of 4"), (it, "0 of 2")]
        assert progress.totals == services.Totals(3, 22, 5)
        assert services.programme_totals() == services.Totals(3, 22, 5)
        # 0 removes a target; unknown types are refused.
        assert services.set_targets(_admin(people), cohort, {it: 0}) == 1
        db.session.commit()
        with pytest.raises(DomainError):
            services.set_targets(_admin(people), cohort, {999_999: 1})
        db.session.rollback()
        assert services.targets_for(cohort_id) == {english: 2}


def test_target_form_refuses_bad_numbers_and_saves_nothing(app, client, people):
    cohort_id = _cohort(app, people, "Target form cohort", [people["candidate"]])
    with app.app_context():
        english = _type().id
    login(client, people["staff"].email)
    path = f"/milestones/cohorts/{cohort_id}/targets"
    token = csrf_token(client, path)
    r = client.post(path, data={"csrf_token": token, f"target-{english}": "many"})
    assert r.status_code == 400 and "Enter a whole number from 0 to 1,000" in r.get_data(as_text=True)
    r = client.post(path, data={"csrf_token": token, f"target-{english}": "1001"})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MilestoneTarget)) == 0
    r = client.post(path, data={"csrf_token": token, f"target-{english}": "3"})
    assert r.status_code == 302
    page = client.get(f"/milestones/cohorts/{cohort_id}").get_data(as_text=True)
    assert "0 of 3 (0%)" in page and "verified milestones only" in page


def test_verified_ties_returns_verified_milestones_with_a_place(app, people):
    tied = _log(app, people["candidate"], region="London", borough="Hackney", seat_code="E14000720")
    _log(app, people["candidate"], region=None, borough=None, seat_code=None)  # verified, no place: left out
    _log(app, people["candidate"], region="Wales")  # not verified: left out
    with app.app_context():
        untied = db.session.scalar(select(Milestone.id).where(Milestone.region.is_(None)))
    _verify(app, people, tied)
    _verify(app, people, untied)
    with app.app_context():
        ties = services.verified_ties(_profile(people["candidate"]).id)
        assert [(t.milestone_id, t.region, t.borough, t.seat_code) for t in ties] == [
            (tied, "London", "Hackney", "E14000720")
        ]
        assert ties[0].type_name == "Running a free English class"
        assert services.verified_ties(_profile(people["candidate2"]).id) == []


# ---------------------------------------------------------------------------------------------
# Lists: a fixed number of queries


def _queries_for(app, client, path) -> int:
    with count_queries(app) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_list_pages_run_the_same_queries_for_few_and_many_rows(app, people):
    _assign(app, people, "mentor", "candidate")
    cohort_id = _cohort(app, people, "Query cohort", [people["candidate"]])
    with app.app_context():
        services.set_targets(_admin(people), db.session.get(Cohort, cohort_id), {_type().id: 3})
        db.session.commit()
    _log(app, people["candidate"])
    clients = {}
    for key in ("candidate", "mentor", "staff"):
        clients[key] = app.test_client()
        login(clients[key], people[key].email)
    pages = [
        ("candidate", "/milestones/mine"),
        ("mentor", "/milestones/?status=all"),
        ("staff", "/milestones/?status=all"),
        ("staff", f"/milestones/cohorts/{cohort_id}"),
        ("staff", "/milestones/progress"),
    ]
    few = {path + key: _queries_for(app, clients[key], path) for key, path in pages}
    for i in range(12):
        _log(app, people["candidate"], type_id=_type_id(app, i), evidence=None, evidence_url="https://example.org/x")
    many = {path + key: _queries_for(app, clients[key], path) for key, path in pages}
    assert few == many


def _type_id(app, i: int) -> int:
    with app.app_context():
        ids = list(db.session.scalars(select(MilestoneType.id).order_by(MilestoneType.id)))
    return ids[i % len(ids)]


# ---------------------------------------------------------------------------------------------
# The role matrix (test_access.test_role_matrix runs it with every other route once merged)


def test_every_engagement_endpoint_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("engagement.")}
    assert endpoints == set(ENGAGEMENT_MATRIX)


@pytest.mark.parametrize("role", ("anon", "candidate", "mentor", "staff", "admin"))
@pytest.mark.parametrize("endpoint", sorted(ENGAGEMENT_MATRIX))
def test_engagement_role_matrix(app, people, make, endpoint, role):
    """The same walk as test_access.test_role_matrix, for this domain's routes on their own."""
    method, template, expected_by_role = ENGAGEMENT_MATRIX[endpoint]
    cohort_id = make.cohort("Matrix cohort")
    make.enrol(cohort_id, people["candidate2"])
    path = template.format(**engagement_placeholders(app, people, cohort_id))
    client = app.test_client()
    if role != "anon":
        assert login(client, people[role].email).status_code == 302
    if method == "GET":
        response = client.get(path)
    else:
        token = csrf_token(client, "/auth/login" if role == "anon" else "/account/")
        response = client.post(path, data={"csrf_token": token})
    expected = expected_by_role[role]
    if expected == L:
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login"), (endpoint, role)
    else:
        assert response.status_code == expected, (endpoint, role, response.status_code)


def test_matrix_placeholders_make_their_own_cohort_when_none_is_given(app, people):
    ids = engagement_placeholders(app, people)
    client = app.test_client()
    login(client, people["candidate2"].email)
    assert client.get(f"/milestones/{ids['milestone']}").status_code == 200
    assert client.get(f"/milestones/{ids['milestone']}/evidence").status_code == 200
