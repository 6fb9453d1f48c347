"""Skills sessions in a real browser: staff schedule a weekly series and take a register; a
candidate sees only their own schedule and attendance and downloads their calendar feed.
Every page is checked with axe-core and for Content-Security-Policy violations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from d2w.auth.models import User
from d2w.candidates.models import CandidateProfile
from d2w.cohorts import services as cohorts
from d2w.core.extensions import db
from d2w.programme import rules
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

axe = Axe()


def assert_accessible(page, what: str) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what} ({page.url}):\n{results.generate_report()}"


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/home")


def _cohort_with(app, people, refs) -> int:
    with app.app_context():
        admin = db.session.get(User, people["admin"].id)
        cohort = cohorts.create_cohort(
            admin,
            cohorts.CohortFields(
                name="Journey cohort",
                focus="both",
                intake_start=date(2026, 1, 1),
                intake_end=date(2027, 12, 31),
                capacity=20,
            ),
        )
        for ref in refs:
            profile = db.session.scalar(select(CandidateProfile).where(CandidateProfile.user_id == ref.id))
            cohorts.enrol(admin, cohort, profile)
        db.session.commit()
        return cohort.id


def test_staff_schedule_a_series_and_take_a_register_then_the_candidate_sees_it(
    app, live_server, people, make, new_page, console
):
    other = make.user("candidate", name="Zainab Other")
    _cohort_with(app, people, [people["candidate"], other])
    today = rules.to_london(datetime.now(UTC)).date()
    first_day = today - timedelta(weeks=6)  # all six are over

    # Staff: schedule six weekly sessions.
    page = new_page()
    sign_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/sessions/new")
    assert_accessible(page, "the schedule form")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a title for the session.")
    assert_accessible(page, "the schedule form with errors")
    page.get_by_label("Cohort").select_option(label="Journey cohort")
    page.get_by_label("Title").fill("Speaking with confidence")
    page.get_by_label("Skill area").select_option(label="Communication")
    page.get_by_label("Date").fill(first_day.isoformat())
    page.get_by_label("Starts").fill("18:30")
    page.get_by_label("Ends").fill("20:00")
    page.get_by_label("Place").fill("Brixton Library, London")
    page.get_by_label("Number of weekly sessions").fill("6")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text("6 weekly sessions scheduled")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(6)
    assert_accessible(page, "the session list")

    # The first session: take its register.
    rows.first.get_by_role("link", name="Speaking with confidence").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Speaking with confidence")
    assert_accessible(page, "a session's page")
    page.get_by_role("link", name="Take the register").click()
    assert_accessible(page, "the register")
    page.get_by_role("group", name=people["candidate"].name).get_by_label("Late").check()
    page.get_by_role("group", name="Zainab Other").get_by_label("Absent").check()
    page.get_by_role("button", name="Save the register").click()
    expect(page.get_by_role("status")).to_contain_text("Register saved (2 marks changed).")
    expect(page.get_by_text("50% attended (1 of 2 marked).")).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Starts")).to_have_value("18:30")
    assert_accessible(page, "the edit form")
    console.assert_clean()

    # The candidate, on a phone: their schedule, attendance and calendar.
    phone = new_page(viewport=PHONE)
    sign_in(phone, live_server, people["candidate"])
    phone.goto(f"{live_server}/sessions/mine")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your sessions")
    expect(phone.get_by_text("You attended 1 of 1 sessions marked so far (100%).")).to_be_visible()
    history = phone.get_by_role("table", name="Your past sessions, newest first")
    expect(history.get_by_role("link", name="Speaking with confidence")).to_have_count(6)
    expect(phone.get_by_role("main")).not_to_contain_text("Zainab")
    assert_accessible(phone, "the candidate's sessions page")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    history.get_by_role("link", name="Speaking with confidence").last.click()
    expect(phone.get_by_text("Your attendance")).to_be_visible()
    expect(phone.get_by_role("main")).to_contain_text("Late")
    assert_accessible(phone, "a candidate's session page")
    phone.go_back()

    link = phone.get_by_role("link", name="Download the calendar file").get_attribute("href")
    feed = phone.request.get(f"{live_server}{link}")
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.body())
    events = calendar.walk("VEVENT")
    assert len(events) == 6
    assert {str(e["summary"]) for e in events} == {"Speaking with confidence"}
    assert {rules.to_london(e["dtstart"].dt).strftime("%a %H:%M") for e in events} == {
        first_day.strftime("%a") + " 18:30"
    }
    console.assert_clean()
