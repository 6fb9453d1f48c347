"""What every signed-in page pays: the navigation kept per kind of user, and a session cookie that
is written at sign-in rather than on every response (issue #8's fixed per-request costs)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.browser.test_journeys import NAV
from tests.conftest import count_queries, login

_NAV = re.compile(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', re.S)
_LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')


def nav_of(html: str) -> list[tuple[str, str, bool]]:
    match = _NAV.search(html)
    return [] if match is None else [(label, href, bool(cur)) for href, cur, label in _LINK.findall(match.group(1))]


def test_each_kind_of_user_sees_its_own_navigation_in_one_worker(app, people):
    """The links are worked out once per kind of user and kept: a staff member's, an admin's, a
    mentor's and a candidate's navigation must never leak into one another's, in any order."""
    seen = {}
    for role in ("candidate", "admin", "mentor", "staff", "candidate", "staff", "admin"):
        client = app.test_client()
        assert login(client, people[role].email).status_code == 302
        links = nav_of(client.get("/home").get_data(as_text=True))
        assert [label for label, _, _ in links] == NAV[role]
        seen.setdefault(role, links)
        assert links == seen[role]
    for role in ("admin", "staff", "mentor", "candidate"):
        assert ("My account", "/account/", False) in seen[role]


def test_the_current_section_is_marked_per_request(app, people, login_as):
    client = login_as(people["staff"])
    on_cohorts = nav_of(client.get("/cohorts/").get_data(as_text=True))
    assert [label for label, _, current in on_cohorts if current] == ["Cohorts"]
    on_home = nav_of(client.get("/home").get_data(as_text=True))
    assert [label for label, _, current in on_home if current] == ["Home"]
    assert [label for label, _, current in nav_of(client.get("/cohorts/").get_data(as_text=True)) if current] == [
        "Cohorts"
    ]


def test_anonymous_pages_have_no_navigation(client):
    assert nav_of(client.get("/auth/login").get_data(as_text=True)) == []


def _session_cookies(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_the_session_cookie_is_written_at_sign_in_and_lapses_with_the_session(app, people):
    client = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    response = login(client, people["staff"].email)
    cookies = _session_cookies(response, name)
    assert len(cookies) == 1
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookies[0]).group(1))
    hard_limit = datetime.now(UTC) + timedelta(hours=app.config["SESSION_MAX_HOURS"])
    # the cookie lapses when the server-side session's hard limit does (not a month later)
    assert abs((expires - hard_limit).total_seconds()) < 120
    # reading pages does not sign and send the cookie again
    for path in ("/home", "/cohorts/", "/account/", "/home"):
        assert _session_cookies(client.get(path), name) == []


def test_signing_out_still_clears_the_cookie(app, people):
    client = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    login(client, people["staff"].email)
    from tests.conftest import csrf_token

    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302
    cleared = _session_cookies(response, name)
    assert cleared, "sign-out must replace the session cookie"
    assert client.get("/cohorts/").status_code == 302  # signed out


@pytest.mark.parametrize("role", ["staff", "candidate"])
def test_a_signed_in_page_costs_one_query_for_the_session(app, people, role):
    """The session and its user come in one query; the navigation and the layout add none."""
    client = app.test_client()
    login(client, people[role].email)
    client.get("/account/")
    with count_queries(app) as statements:
        client.get("/account/")
    session_queries = [s for s in statements if "user_sessions" in s and "FROM user_sessions" in s]
    assert len(session_queries) == 2  # the sign-in check, and the page's own list of sessions
