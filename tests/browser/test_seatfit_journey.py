"""Seat-fit and applications in a real browser: a Leave-voting candidate runs a fit check for a
strongly Remain seat (poor), starts an application for it, and is stopped from submitting it; a
staff member overrides the poor fit with a written reason; the candidate then submits; the admin
finds the override in the audit log, which never names the stance. Every page is checked with
axe-core and for Content-Security-Policy violations."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from d2w.applications.models import Application
from d2w.audit.models import AuditEvent
from d2w.core.extensions import db
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

axe = Axe()
SEAT = "Hornsey and Friern Barnet"  # 17.4% Leave on the 2024 boundaries
REASON = "She has run the Wood Green jobs club for six years; local ties outweigh the check here."


def assert_accessible(page, what: str) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what} ({page.url}):\n{results.generate_report()}"


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/home")


def test_a_poor_fit_is_stopped_until_staff_override_and_the_override_is_audited(
    seat_data, app, live_server, people, new_page, console
):
    # The candidate runs a fit check as a Leave voter for a strongly Remain seat.
    cand = new_page()
    sign_in(cand, live_server, people["candidate"])
    cand.goto(f"{live_server}/seat-fit/new")
    cand.get_by_label("Seat", exact=True).fill(SEAT)
    cand.get_by_label("2016 EU referendum vote to check against").select_option("leave")
    cand.get_by_role("button", name="Run the check").click()
    expect(cand).to_have_url(re.compile(r"/seat-fit/\d+$"))
    expect(cand.get_by_text("Poor fit").first).to_be_visible()

    # Starts an application for it from their applications.
    cand.get_by_role("link", name="My applications").click()
    expect(cand.get_by_role("heading", name="Your applications")).to_be_visible()
    assert_accessible(cand, "the candidate's applications (empty)")
    cand.get_by_role("link", name="Start an application").click()
    cand.get_by_label("Seat: ONS code or name").fill("hornsey")
    cand.get_by_role("button", name="Find").click()
    assert_accessible(cand, "the seat picker")
    cand.get_by_role("link", name=SEAT).click()
    expect(cand.locator(".app-fit")).to_contain_text("Poor fit")
    cand.get_by_label("Notes (optional)").fill("My family lives in Wood Green.")
    assert_accessible(cand, "the new application form")
    cand.get_by_role("button", name="Start the application").click()
    expect(cand.get_by_text(f"Application for {SEAT} started.")).to_be_visible()
    expect(cand).to_have_url(re.compile(r"/applications/\d+$"))
    application_url = cand.url

    # Fit checked, then submission is refused with the reason.
    cand.get_by_label("What happened").select_option("fit_checked")
    cand.get_by_role("button", name="Record this step").click()
    expect(cand.get_by_text("Recorded: fit checked.")).to_be_visible()
    expect(cand.locator("#submission-blocked")).to_contain_text("A member of the candidates department must review it")
    assert_accessible(cand, "the application, blocked")
    cand.get_by_label("What happened").select_option("submitted")
    cand.get_by_role("button", name="Record this step").click()
    expect(cand.get_by_role("alert")).to_contain_text("a member of the candidates department must review it")
    assert_accessible(cand, "the refused submission")
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == "fit_checked"

    # Staff: the board, then the override with a reason (too short first).
    staff = new_page()
    sign_in(staff, live_server, people["staff"])
    staff.get_by_role("link", name="Applications", exact=True).click()
    fit_checked = staff.locator("#col-fit_checked").locator("..")
    expect(fit_checked).to_contain_text(SEAT)
    expect(fit_checked).to_contain_text("Chidi Candidate")
    assert_accessible(staff, "the applications board")
    staff.get_by_role("link", name=SEAT).click()
    expect(staff.get_by_role("heading", name="Override the poor fit")).to_be_visible()
    staff.get_by_label("Why this seat is still right for the candidate").fill("Fine by me.")
    staff.get_by_role("button", name="Record the override").click()
    expect(staff.get_by_role("alert")).to_contain_text("at least 20")
    assert_accessible(staff, "the override form with an error")
    staff.get_by_label("Why this seat is still right for the candidate").fill(REASON)
    staff.get_by_role("button", name="Record the override").click()
    expect(staff.get_by_text("Override recorded.")).to_be_visible()
    expect(staff.locator(".app-override")).to_contain_text(REASON)
    assert_accessible(staff, "the overridden application")

    # The candidate can now submit (on a phone).
    phone = new_page(viewport=PHONE)
    sign_in(phone, live_server, people["candidate"])
    phone.goto(application_url)
    expect(phone.locator(".app-override")).to_contain_text(REASON)
    phone.get_by_label("What happened").select_option("submitted")
    phone.get_by_role("button", name="Record this step").click()
    expect(phone.get_by_text("Recorded: submitted.")).to_be_visible()
    expect(phone.locator("ol.history li")).to_have_count(3)
    assert_accessible(phone, "the submitted application on a phone")
    phone.goto(f"{live_server}/applications/mine")
    expect(phone.locator("tbody")).to_contain_text("Submitted")
    assert_accessible(phone, "the candidate's applications on a phone")

    # The admin finds the override in the audit log; no summary names the stance.
    admin = new_page()
    sign_in(admin, live_server, people["admin"])
    admin.goto(f"{live_server}/audit/?action=application.override")
    expect(admin.locator("tbody")).to_contain_text("application.override")
    expect(admin.locator("tbody")).to_contain_text("Poor fit overridden")
    expect(admin.locator("tbody")).to_contain_text("Sam Staff")
    assert_accessible(admin, "the audit log")
    with app.app_context():
        summaries = db.session.scalars(select(AuditEvent.summary)).all()
    assert not any("leave" in (s or "").lower() or "remain" in (s or "").lower() for s in summaries), summaries
    console.assert_clean()
