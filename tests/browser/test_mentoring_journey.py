"""Mentoring in a real browser: a mentor logs a session with a private note and two action items;
the candidate sees the summary and their items but never the note, and marks an item done;
staff see the log without the note. Every page is checked with axe-core and for CSP violations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from d2w.auth.models import User
from d2w.core.extensions import db
from d2w.mentoring import services
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD
from tests.test_mentoring import _mentor_profile, _profile

pytestmark = pytest.mark.browser

axe = Axe()
NOTE = "Private: worried about the hustings; do not share. MARKER-4417"


def assert_accessible(page, what: str) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what} ({page.url}):\n{results.generate_report()}"


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/home")


def test_mentor_logs_a_session_candidate_and_staff_see_only_what_they_may(app, live_server, people, new_page, console):
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        mentor = _mentor_profile(admin, people["mentor"].id)
        services.assign(admin, _profile(people["candidate"].id), mentor, is_primary=True)
        db.session.commit()
    today = datetime.now(UTC).date()

    # The mentor: home, then log a session (first with a mistake).
    page = new_page()
    sign_in(page, live_server, people["mentor"])
    expect(page.get_by_role("heading", level=2, name="Your mentees")).to_be_visible()
    expect(page.get_by_role("link", name=people["candidate"].name, exact=True)).to_be_visible()
    assert_accessible(page, "the mentor's home")
    page.get_by_role("link", name=f"Log a session with {people['candidate'].name}").click()
    expect(page.get_by_text("subject access request")).to_be_visible()
    assert_accessible(page, "the log form")
    page.get_by_label("Length in minutes").fill("45")
    page.get_by_label("Video").check()
    page.get_by_role("button", name="Save the log").click()
    expect(page.get_by_role("alert")).to_contain_text("Write a summary to share with the candidate.")
    assert_accessible(page, "the log form with errors")
    page.get_by_label("Summary shared with the candidate").fill("Practised hustings answers on housing.")
    page.get_by_label("Private note (optional)").fill(NOTE)
    first = page.get_by_role("group", name="Action 1")
    first.get_by_label("Action").fill("Write a two-minute speech")
    first.get_by_label("Owner").select_option(label="Candidate")
    first.get_by_label("Due").fill((today + timedelta(days=7)).isoformat())
    second = page.get_by_role("group", name="Action 2")
    second.get_by_label("Action").fill("Introduce to the association chair")
    second.get_by_label("Owner").select_option(label="Mentor")
    second.get_by_label("Due").fill((today + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Save the log").click()
    expect(page.get_by_role("status")).to_contain_text("Mentoring session logged.")
    expect(page.get_by_text(NOTE)).to_be_visible()
    assert_accessible(page, "the pair's page as the mentor")

    # The candidate: the summary and items, never the note; marks their item done.
    page = new_page(viewport=PHONE)
    sign_in(page, live_server, people["candidate"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My mentoring").click()
    expect(page.get_by_text("Write a two-minute speech")).to_be_visible()
    assert_accessible(page, "the candidate's mentoring page")
    page.get_by_role("link", name=people["mentor"].name).click()
    expect(page.get_by_text("Practised hustings answers on housing.")).to_be_visible()
    expect(page.get_by_text("Introduce to the association chair")).to_be_visible()
    assert NOTE not in page.content()
    assert_accessible(page, "the pair's page as the candidate")
    page.get_by_role("button", name=re.compile(r"Mark as done\W+Write a two-minute speech")).click()
    expect(page.get_by_role("status")).to_contain_text("Action marked as done.")
    expect(page.get_by_text("Done", exact=True)).to_be_visible()
    assert NOTE not in page.content()

    # Staff: the log without the note; a staff note.
    page = new_page()
    sign_in(page, live_server, people["staff"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Mentoring").click()
    assert_accessible(page, "the mentoring health page")
    page.get_by_role("link", name=people["candidate"].name).first.click()
    expect(page.get_by_text("Practised hustings answers on housing.")).to_be_visible()
    assert NOTE not in page.content()
    page.get_by_label("Staff note").fill("Checked in with both; going well.")
    page.get_by_role("button", name="Add staff note").click()
    expect(page.get_by_role("status")).to_contain_text("Staff note added.")
    assert NOTE not in page.content()
    assert_accessible(page, "the pair's page as staff")
    page.goto(f"{live_server}/mentoring/candidates/{_pid(app, people)}/match")
    expect(page.get_by_role("heading", level=2, name="Suggested mentors")).to_be_visible()
    assert_accessible(page, "the match page")
    console.assert_clean()


def _pid(app, people) -> int:
    with app.app_context():
        return _profile(people["candidate"].id).id
