"""Issue 3's journey in a real browser: staff create a cohort, import 20 candidates from CSV (a
file with a bad line is refused with the line's error; the fixed file goes in), schedule a weekly
series of six sessions and take a register, then invite the cohort. One imported candidate
accepts the invitation and sees only their own schedule and attendance, and downloads their
calendar feed, which the icalendar library parses."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from icalendar import Calendar
from playwright.sync_api import expect

from d2w.core.mail import read_outbox
from d2w.programme import rules
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
axe = Axe()


def accessible(page, what):
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what}:\n{results.generate_report()}"


def candidates_csv(bad_line: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "phone", "home_region", "home_borough", "languages"])
    for i in range(20):
        email = "person05-at-example.org" if bad_line and i == 5 else f"person{i:02d}@example.org"
        writer.writerow([f"Person {i:02d}", email, "", "London", "Newham", "English; Gujarati"])
    return buffer.getvalue().encode()


def upload(page, data: bytes):
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "cohort.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Check the file").click()


def test_staff_build_a_cohort_and_a_candidate_follows_it(app, live_server, people, new_page, console):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("E-mail address").fill(people["staff"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # A new cohort.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohorts").click()
    page.get_by_role("link", name="New cohort").click()
    page.get_by_label("Name").fill("Newham Young Leaders 2026")
    page.get_by_label("Focus").select_option(label="BME and young people")
    page.get_by_label("Region").select_option(label="London")
    page.get_by_label("Intake starts").fill("2026-09-01")
    page.get_by_label("Intake ends").fill("2027-07-31")
    page.get_by_label("Places").fill("25")
    page.get_by_role("button", name="Save cohort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Newham Young Leaders 2026")
    cohort_url = page.url

    # Import: the file with a bad line is refused, with the line's error; nothing is written.
    page.get_by_role("link", name="Import from CSV").click()
    accessible(page, "the import page")
    upload(page, candidates_csv(bad_line=True))
    expect(page.get_by_role("alert")).to_contain_text("The file cannot be imported")
    expect(page.get_by_text("Line 7: email “person05-at-example.org” is not a valid address")).to_be_visible()
    expect(page.get_by_role("button", name="Import 20 candidates")).to_have_count(0)
    accessible(page, "the refused preview")

    # The fixed file goes in.
    page.get_by_role("link", name="Upload a corrected file").click()
    upload(page, candidates_csv(bad_line=False))
    page.get_by_role("button", name="Import 20 candidates").click()
    expect(page.get_by_role("status")).to_contain_text("20 candidates imported and enrolled")
    expect(page.get_by_role("heading", name="Candidates (20)")).to_be_visible()
    expect(page.get_by_text("20 taken of 25")).to_be_visible()

    # A weekly series of six, starting two weeks ago.
    today = rules.to_london(datetime.now(UTC)).date()
    first_day = today - timedelta(weeks=2)
    page.get_by_role("link", name="Schedule sessions").click()
    page.get_by_label("Title").fill("Canvassing that listens")
    page.get_by_label("Skill area").select_option(label="Canvassing")
    page.get_by_label("Date").fill(first_day.isoformat())
    page.get_by_label("Starts").fill("18:30")
    page.get_by_label("Ends").fill("20:30")
    page.get_by_label("Place").fill("Stratford Library, London")
    page.get_by_label("Number of weekly sessions").fill("6")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text("6 weekly sessions scheduled")

    # The first session's register.
    page.goto(cohort_url)
    page.get_by_role("link", name="Canvassing that listens").first.click()
    page.get_by_role("link", name="Take the register").click()
    page.get_by_role("group", name="Person 00").get_by_label("Present").check()
    page.get_by_role("group", name="Person 01").get_by_label("Absent").check()
    page.get_by_role("button", name="Save the register").click()
    expect(page.get_by_role("status")).to_contain_text("Register saved (2 marks changed).")

    # Invite the cohort to make their accounts.
    page.goto(cohort_url)
    page.get_by_role("button", name="Invite 20 without an account").click()
    expect(page.get_by_role("status")).to_contain_text("20 invitations sent.")
    console.assert_clean()

    # Person 00 accepts the invitation.
    messages = [m for m in read_outbox(Path(app.config["MAIL_OUTBOX_DIR"])) if m["To"] == "person00@example.org"]
    assert len(messages) == 1
    link = next(word for word in messages[0].get_content().split() if "/auth/set-password/" in word)
    path = link[link.index("/auth/") :]
    candidate = new_page()
    candidate.goto(f"{live_server}{path}")
    expect(candidate.get_by_role("heading", level=1)).to_have_text("Welcome to Diversity To Win, Person 00")
    candidate.get_by_label("New password", exact=True).fill("newham evenings are busy")
    candidate.get_by_label("Confirm new password").fill("newham evenings are busy")
    candidate.get_by_role("button", name="Set password").click()
    candidate.get_by_label("E-mail address").fill("person00@example.org")
    candidate.get_by_label("Password").fill("newham evenings are busy")
    candidate.get_by_role("button", name="Sign in").click()

    # Only their own schedule and attendance.
    candidate.get_by_role("link", name="My sessions").first.click()
    main = candidate.get_by_role("main")
    expect(main).to_contain_text("Canvassing that listens")
    expect(main).to_contain_text("You attended 1 of 1 sessions marked so far (100%).")
    expect(main).not_to_contain_text("Person 01")
    accessible(candidate, "the candidate's sessions")

    # Their calendar feed parses, with the six sessions at 18:30 London time.
    href = candidate.get_by_role("link", name="Download the calendar file").get_attribute("href")
    feed = candidate.request.get(f"{live_server}{href}")
    assert feed.ok
    events = Calendar.from_ical(feed.body()).walk("VEVENT")
    assert len(events) == 6
    assert {rules.to_london(e["dtstart"].dt).strftime("%H:%M") for e in events} == {"18:30"}
    assert {str(e["location"]) for e in events} == {"Stratford Library, London"}
    console.assert_clean()
