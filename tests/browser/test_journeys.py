"""Real journeys in a real browser: signing in as each role, signing out, accessibility (axe-core),
keyboard access and the Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

axe = Axe()

# What each role's main navigation offers, in order (and nothing else).
NAV = {
    "admin": [
        "Home",
        "Candidates",
        "Cohorts",
        "Sessions",
        "Milestones",
        "Mentoring",
        "Seats",
        "Applications",
        "Dashboard",
        "People",
        "Audit log",
        "My account",
    ],
    "staff": [
        "Home",
        "Candidates",
        "Cohorts",
        "Sessions",
        "Milestones",
        "Mentoring",
        "Seats",
        "Applications",
        "Dashboard",
        "People",
        "My account",
    ],
    "mentor": ["Home", "Milestones", "My mentees", "Seats", "My account"],
    "candidate": [
        "Home",
        "My profile",
        "My sessions",
        "My milestones",
        "My mentoring",
        "Seats",
        "My seat-fit",
        "My applications",
        "My account",
    ],
}
# The section every role's home page shows.
HOME_SECTION = {"admin": "People", "staff": "People", "mentor": "Your mentees", "candidate": "Your programme"}


@pytest.fixture
def app_overrides():
    # Small pages, so the list pages show their pagination to axe.
    return {"PAGE_SIZE": 5}


def path_of(page) -> str:
    return urlsplit(page.url).path


def assert_accessible(page, what: str) -> None:
    results = axe.run(page)
    assert results.violations_count == 0, f"axe on {what} ({page.url}):\n{results.generate_report()}"


def sign_in(page, base: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav_links(page) -> list[str]:
    return [t.strip() for t in page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()]


def session_cookie(context) -> dict:
    cookies = [c for c in context.cookies() if c["name"] == "d2w_session"]
    assert len(cookies) == 1, context.cookies()
    return cookies[0]


# ---------------------------------------------------------------------------------------------
# Signing in and out


@pytest.mark.parametrize("role", ["admin", "staff", "mentor", "candidate"])
def test_each_role_signs_in_to_its_own_home(live_server, people, page, console, role):
    user = people[role]
    sign_in(page, live_server, user)

    expect(page).to_have_url(f"{live_server}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {user.name.split()[0]}")
    expect(page.get_by_role("heading", level=2, name=HOME_SECTION[role])).to_be_visible()
    assert nav_links(page) == NAV[role]
    expect(page.get_by_role("banner")).to_contain_text(user.name)
    assert_accessible(page, f"the {role} home page")

    # The links a role does not get are pages it may not use.
    if "People" not in NAV[role]:
        assert page.goto(f"{live_server}/users/").status == 403
    if "Audit log" not in NAV[role]:
        assert page.goto(f"{live_server}/audit/").status == 403
    console.assert_clean()


def test_sign_in_with_a_wrong_password_shows_an_accessible_error(live_server, people, page, console):
    page.goto(f"{live_server}/auth/login")
    assert_accessible(page, "the sign-in page")

    sign_in(page, live_server, people["candidate"], password="not the password at all")
    expect(page).to_have_url(f"{live_server}/auth/login")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("The e-mail address or password is not right")
    assert_accessible(page, "the sign-in page showing an error")

    # Submitting nothing at all gets the same accessible treatment.
    page.get_by_label("E-mail address").fill("")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your e-mail address and password.")
    assert_accessible(page, "the sign-in page after an empty submission")
    console.assert_clean()


def test_sign_out_returns_to_the_sign_in_page(live_server, people, page, console):
    sign_in(page, live_server, people["mentor"])
    expect(page).to_have_url(f"{live_server}/home")

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server}/auth/login")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert_accessible(page, "the sign-in page after signing out")
    console.assert_clean()


def test_a_session_cookie_from_before_sign_out_is_rejected(live_server, people, page, new_page, console):
    sign_in(page, live_server, people["candidate"])
    expect(page).to_have_url(f"{live_server}/home")
    stolen = session_cookie(page.context)

    # While the session is live, the copied cookie works in another browser...
    other = new_page(cookies=[stolen])
    other.goto(f"{live_server}/home")
    assert path_of(other) == "/home"
    other.context.close()

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")

    # ...and once signed out, the same cookie in a brand-new browser is worth nothing.
    replay = new_page(cookies=[stolen])
    replay.goto(f"{live_server}/home")
    assert path_of(replay) == "/auth/login"
    expect(replay.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(replay.get_by_role("navigation", name="Main")).to_have_count(0)
    console.assert_clean()


# ---------------------------------------------------------------------------------------------
# Accessibility of the main pages


def test_admin_pages_are_accessible(live_server, people, make, page, new_page, console):
    make.user("candidate", email="invited@example.org", name="Ines Invited", password=None)
    make.user("mentor", email="gone@example.org", name="Gareth Gone", active=False)
    sign_in(page, live_server, people["admin"])
    expect(page).to_have_url(f"{live_server}/home")

    page.goto(f"{live_server}/users/")
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    expect(page.get_by_role("navigation", name="People pages")).to_be_visible()
    assert_accessible(page, "the people list")

    page.goto(f"{live_server}/users/?status=invited")
    expect(page.get_by_role("cell", name="Ines Invited")).to_be_visible()
    assert_accessible(page, "the people list, filtered")

    page.goto(f"{live_server}/users/invite")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite someone")
    assert_accessible(page, "the invitation form")

    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_label("Full name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "the invitation form showing errors")

    page.goto(f"{live_server}/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.get_by_role("table")).to_contain_text("auth.login")
    assert_accessible(page, "the audit log")

    # On a phone the people list is still accessible, and only its table scrolls sideways.
    phone = new_page(viewport=PHONE, cookies=[session_cookie(page.context)])
    phone.goto(f"{live_server}/users/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("People")
    assert_accessible(phone, "the people list on a phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    console.assert_clean()


def test_candidate_account_page_is_accessible(live_server, people, page, console):
    sign_in(page, live_server, people["candidate"])
    expect(page).to_have_url(f"{live_server}/home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My account").click()
    expect(page).to_have_url(f"{live_server}/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    expect(page.get_by_role("table")).to_contain_text("This device")
    assert_accessible(page, "the candidate's account page")
    console.assert_clean()


# ---------------------------------------------------------------------------------------------
# Keyboard


def test_first_tab_on_the_sign_in_page_reaches_the_skip_link(live_server, page, console):
    page.goto(f"{live_server}/auth/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # hidden until focused, then shown

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail address")).to_be_focused()
    console.assert_clean()


# ---------------------------------------------------------------------------------------------
# The CSP check itself


def test_the_console_check_sees_csp_violations(live_server, page, console):
    """Proves the CSP assertions above can fail: a page with inline script and style, served from
    the app's origin under the app's own policy, produces the console messages they look for."""
    from d2w.core.security import CSP

    html = "<!doctype html><title>t</title><p style='color:red'>x</p><script>document.title='ran'</script>"
    page.route(
        f"{live_server}/csp-canary",
        lambda route: route.fulfill(
            status=200, content_type="text/html", headers={"Content-Security-Policy": CSP}, body=html
        ),
    )
    page.goto(f"{live_server}/csp-canary")
    expect(page).to_have_title("t")  # the inline script was refused
    page.wait_for_timeout(100)  # console events arrive asynchronously
    assert console.csp_violations(), console.messages
    with pytest.raises(AssertionError):
        console.assert_clean()
