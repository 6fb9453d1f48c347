"""Seats in a real browser: a candidate filters the seat browser, sorts it and opens a seat's page
with its charts; staff run the analysis. Every page is checked with axe-core, for
Content-Security-Policy violations (the charts are inline SVG without inline style), and on a
phone for sideways scrolling of the whole page."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

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


def assert_no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def test_candidate_filters_seats_and_opens_one(seat_data, app, live_server, people, new_page, console):
    page = new_page()
    sign_in(page, live_server, people["candidate"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Seats").click()
    expect(page.get_by_role("heading", level=1, name="Seats")).to_be_visible()
    expect(page.get_by_text("Showing 1–25 of 650")).to_be_visible()
    assert_accessible(page, "the seat browser")

    page.get_by_label("Boundaries").select_option("2010")
    page.get_by_label("Region").select_option("London")
    page.get_by_role("group", name="BME share (%)").get_by_label("From").fill("50")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Showing 1–", exact=False)).to_contain_text("of 19")
    page.get_by_role("link", name="BME", exact=True).click()
    page.get_by_role("link", name="BME", exact=True).click()  # descending
    first = page.locator("table.seats-table tbody tr").first
    expect(first).to_contain_text("East Ham")
    expect(first).to_contain_text("76.9%")
    assert_accessible(page, "the filtered seat browser")

    page.get_by_role("link", name="Harrow East").click()
    expect(page.get_by_role("heading", level=1, name="Harrow East")).to_be_visible()
    expect(page.get_by_text("E14000731 · 2010 boundaries")).to_be_visible()
    expect(page.get_by_role("img", name="Party shares of the vote in Harrow East, 2015 to 2019")).to_be_visible()
    expect(page.get_by_role("img", name="2019 result in Harrow East")).to_be_visible()
    expect(page.get_by_role("heading", name="Where these figures come from")).to_be_visible()
    assert_accessible(page, "a seat's page")
    console.assert_clean()

    phone = new_page(viewport=PHONE)
    sign_in(phone, live_server, people["candidate"])
    for path in ("/seats/?boundaries=2010&region=London", page.url.removeprefix(live_server)):
        phone.goto(f"{live_server}{path}")
        assert_no_sideways_scroll(phone)
        assert_accessible(phone, f"{path} on a phone")
    console.assert_clean()


def test_staff_run_the_analysis(seat_data, app, live_server, people, new_page, console):
    page = new_page()
    sign_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/seats/")
    page.get_by_role("link", name="Analysis by BME and Leave share").click()
    page.get_by_label("Boundaries").select_option("2010")
    page.get_by_label("Election").select_option("2017")
    page.get_by_label("BME share at or above (%)").fill("30")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Seats with a BME share of 30% or more: 2017")).to_be_visible()
    expect(page.locator(".stat-number").first).to_have_text("75")
    expect(page.get_by_role("img", name="BME share against the winner's share of the vote, 2017")).to_be_visible()
    assert_accessible(page, "the analysis")

    page.get_by_label("Election").select_option("2024")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The 2024 election was not held on the 2010 boundaries").first).to_be_visible()
    assert_accessible(page, "the analysis with an error")

    phone = new_page(viewport=PHONE)
    sign_in(phone, live_server, people["staff"])
    phone.goto(f"{live_server}/seats/analysis?boundaries=2010&election=2017&bme_threshold=30")
    assert_no_sideways_scroll(phone)
    assert_accessible(phone, "the analysis on a phone")
    console.assert_clean()
