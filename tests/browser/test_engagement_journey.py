"""Engagement milestones in a real browser: a candidate logs a milestone with a PDF, their mentor
returns it with a comment, the candidate fixes and resubmits it, the mentor verifies it, and the
candidate's and the cohort's progress bars move. Every page is checked with axe-core and for
Content-Security-Policy violations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts import services as cohorts
from d2w.core.extensions import db
from d2w.engagement import catalogue
from d2w.engagement import services as engagement
from d2w.engagement.models import Milestone, MilestoneType
from d2w.mentoring import services as mentoring
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

axe = Axe()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ENGLISH = "Running a free English class"


@pytest.fixture
def app_overrides(tmp_path):
    return {"EVIDENCE_DIR": str(tmp_path / "evidence")}


def assert_accessible(page, what: str) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what} ({page.url}):\n{results.generate_report()}"


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/home")


def _setup(app, people) -> tuple[int, int]:
    """A cohort with the candidate (and one other), a target of two English classes, and the
    mentor assigned to the candidate. Returns (cohort id, candidate's profile id)."""
    with app.app_context():
        catalogue.ensure_seeded()
        admin = db.session.get(User, people["admin"].id)
        cohort = cohorts.create_cohort(
            admin,
            cohorts.CohortFields(
                name="Engagement cohort",
                focus="both",
                intake_start=date(2026, 1, 1),
                intake_end=date(2027, 12, 31),
                capacity=20,
            ),
        )
        profiles = {}
        for key in ("candidate", "candidate2"):
            profiles[key] = db.session.scalar(
                select(CandidateProfile).where(CandidateProfile.user_id == people[key].id)
            )
            cohorts.enrol(admin, cohort, profiles[key])
        english = db.session.scalar(select(MilestoneType.id).where(MilestoneType.name == ENGLISH))
        engagement.set_targets(admin, cohort, {english: 2})
        mentor_user = db.session.get(User, people["mentor"].id)
        mentor = mentoring.save_mentor_profile(admin, mentor_user, mentoring.MentorFields(capacity=3))
        mentoring.assign(admin, profiles["candidate"], mentor, is_primary=True)
        db.session.commit()
        return cohort.id, profiles["candidate"].id


def test_log_return_resubmit_verify_and_progress_moves(app, live_server, people, new_page, console, tmp_path):
    cohort_id, profile_id = _setup(app, people)
    evidence_dir = tmp_path / "evidence"

    # The candidate: no progress yet; logs a milestone with a PDF (a bad date first).
    cand = new_page()
    sign_in(cand, live_server, people["candidate"])
    cand.get_by_role("link", name="My milestones").click()
    progress_text = cand.get_by_test_id(f"progress-{cohort_id}-text")
    expect(progress_text).to_have_text("0 of 2 (0%)")
    assert cand.locator(f"#progress-{cohort_id}").get_attribute("value") == "0"
    assert_accessible(cand, "the candidate's milestones")
    cand.get_by_role("link", name="Log a milestone").click()
    assert_accessible(cand, "the log form")
    cand.get_by_label("What did you do?").select_option(label=ENGLISH)
    cand.get_by_label("Date", exact=True).fill((date.today() + timedelta(days=2)).isoformat())
    cand.get_by_label("Place", exact=True).fill("Brick Lane Mosque, London E1")
    cand.get_by_label("Region (optional)").select_option("London")
    cand.get_by_label("Borough or council area (optional)").fill("Tower Hamlets")
    cand.get_by_label("Parliamentary seat code (optional)").fill("E14000555")
    cand.get_by_label("What you did").fill("A free English class for women from the Bangladeshi community.")
    cand.get_by_label("People reached").fill("12")
    cand.get_by_label("Evidence file (optional)").set_input_files(
        {"name": "class-register.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    cand.get_by_role("button", name="Log milestone").click()
    expect(cand.get_by_role("alert")).to_contain_text("The date cannot be in the future")
    assert_accessible(cand, "the log form with errors")
    assert not evidence_dir.exists() or not any(evidence_dir.iterdir())  # the refused save kept nothing
    cand.get_by_label("Date", exact=True).fill((date.today() - timedelta(days=3)).isoformat())
    cand.get_by_label("Evidence file (optional)").set_input_files(
        {"name": "class-register.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    cand.get_by_role("button", name="Log milestone").click()
    expect(cand.get_by_text("Milestone logged.")).to_be_visible()
    expect(cand.get_by_text("Awaiting verification")).to_be_visible()
    with cand.expect_download() as download_info:
        cand.get_by_role("link", name="Download class-register.pdf").click()
    assert download_info.value.suggested_filename == "class-register.pdf"
    assert_accessible(cand, "the candidate's milestone")
    with app.app_context():
        milestone_id = db.session.scalar(select(Milestone.id).where(Milestone.profile_id == profile_id))

    # The mentor: returns it with a comment (an empty comment first).
    mentor = new_page()
    sign_in(mentor, live_server, people["mentor"])
    mentor.get_by_role("link", name="Milestones", exact=True).click()
    assert_accessible(mentor, "the mentor's review list")
    mentor.get_by_role("link", name=ENGLISH).click()
    mentor.get_by_role("button", name="Return with comment").click()
    expect(mentor.get_by_role("alert")).to_contain_text("Say what the candidate should change or add.")
    mentor.get_by_label("Comment").fill("Please add how many volunteers you recruited.")
    mentor.get_by_role("button", name="Return with comment").click()
    expect(mentor.get_by_text("Milestone returned to the candidate")).to_be_visible()
    expect(mentor.locator(".tag").first).to_have_text("Returned")
    assert_accessible(mentor, "the returned milestone")

    # The candidate: sees the comment, fixes it and resubmits.
    cand.goto(f"{live_server}/milestones/{milestone_id}")
    expect(cand.get_by_text("Please add how many volunteers you recruited.").first).to_be_visible()
    cand.get_by_role("link", name="Change and resubmit").click()
    cand.get_by_label("Volunteers recruited").fill("4")
    cand.get_by_role("button", name="Save and resubmit").click()
    expect(cand.get_by_text("Changes saved and sent for verification again.")).to_be_visible()

    # The mentor verifies it.
    mentor.goto(f"{live_server}/milestones/{milestone_id}")
    mentor.get_by_role("button", name="Verify").click()
    expect(mentor.get_by_text("Milestone verified.")).to_be_visible()
    history = mentor.locator("ol.history li")
    expect(history).to_have_count(4)
    expect(history.nth(1)).to_contain_text("Returned for changes")
    expect(history.nth(2)).to_contain_text("Changed and resubmitted")
    expect(history.nth(3)).to_contain_text("Verified by Meera Mentor")

    # The candidate's bar moved (on a phone, too).
    phone = new_page(viewport=PHONE)
    sign_in(phone, live_server, people["candidate"])
    phone.goto(f"{live_server}/milestones/mine")
    expect(phone.get_by_test_id(f"progress-{cohort_id}-text")).to_have_text("1 of 2 (50%)")
    assert phone.locator(f"#progress-{cohort_id}").get_attribute("value") == "1"
    assert_accessible(phone, "the candidate's milestones on a phone")

    # Staff: the cohort's bar and totals moved.
    staff = new_page()
    sign_in(staff, live_server, people["staff"])
    staff.goto(f"{live_server}/milestones/cohorts/{cohort_id}")
    expect(staff.get_by_test_id("cohort-progress-text")).to_have_text("1 of 4 (25%)")
    expect(staff.get_by_test_id(f"candidate-progress-{profile_id}-text")).to_have_text("1 of 2 (50%)")
    expect(staff.locator(".summary-list")).to_contain_text("12")
    expect(staff.locator(".summary-list")).to_contain_text("4")
    expect(staff.get_by_text("Counts verified milestones only")).to_be_visible()
    assert_accessible(staff, "the cohort's engagement")
    staff.goto(f"{live_server}/milestones/progress")
    assert_accessible(staff, "programme totals")
    staff.goto(f"{live_server}/milestones/types")
    assert_accessible(staff, "milestone types")
    staff.goto(f"{live_server}/milestones/cohorts/{cohort_id}/targets")
    assert_accessible(staff, "targets")
    console.assert_clean()
