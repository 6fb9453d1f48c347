"""Route inventory and the role × endpoint matrix.

Every endpoint in ``app.url_map`` must be classified (public, signed in, roles or admin) and
must appear in MATRIX below with the status each role gets. Adding a route without adding it
here fails the suite, so no route ships unreviewed.
"""

from __future__ import annotations

import pytest

from d2w.core.access import access_of
from tests.conftest import csrf_token, login
from tests.test_applications import APPLICATIONS_MATRIX, applications_placeholders
from tests.test_dashboard import DASHBOARD_MATRIX, dashboard_placeholders
from tests.test_engagement import ENGAGEMENT_MATRIX, engagement_placeholders
from tests.test_mentoring import MENTORING_MATRIX, mentoring_placeholders
from tests.test_programme import PROGRAMME_MATRIX, programme_placeholders
from tests.test_reports import REPORTS_MATRIX, reports_placeholders
from tests.test_seatfit import SEATFIT_MATRIX, seatfit_placeholders
from tests.test_seats import SEATS_MATRIX, seats_placeholders

ROLES = ("anon", "candidate", "mentor", "staff", "admin")

L = "login"  # a redirect to the sign-in page
H = "home"  # a redirect to the home page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


# endpoint: (method, path template, expected per role). {other} is another candidate's user id.
MATRIX = {
    "static": ("GET", "/static/css/app.css", row(200, 200, 200, 200, 200)),
    "main.index": ("GET", "/", row(L, H, H, H, H)),
    "main.home": ("GET", "/home", row(L, 200, 200, 200, 200)),
    "main.healthz": ("GET", "/healthz", row(200, 200, 200, 200, 200)),
    "main.readyz": ("GET", "/readyz", row(200, 200, 200, 200, 200)),
    "auth.login": ("GET", "/auth/login", row(200, H, H, H, H)),
    "auth.logout": ("POST", "/auth/logout", row(L, L, L, L, L)),
    "auth.forgot_password": ("GET", "/auth/forgot-password", row(200, 200, 200, 200, 200)),
    "auth.set_password": ("GET", "/auth/set-password/not-a-real-token", row(404, 404, 404, 404, 404)),
    "account.overview": ("GET", "/account/", row(L, 200, 200, 200, 200)),
    "account.change_password": ("GET", "/account/password", row(L, 200, 200, 200, 200)),
    "account.end_session": ("POST", "/account/sessions/{other_session}/end", row(L, 404, 404, 404, 404)),
    "account.end_other_sessions": ("POST", "/account/sessions/end-others", row(L, 302, 302, 302, 302)),
    "account.end_all_sessions": ("POST", "/account/sessions/end-all", row(L, L, L, L, L)),
    "users.index": ("GET", "/users/", row(L, 403, 403, 200, 200)),
    "users.invite": ("GET", "/users/invite", row(L, 403, 403, 403, 200)),
    "users.detail": ("GET", "/users/{other}", row(L, 403, 403, 200, 200)),
    "users.edit": ("GET", "/users/{other}/edit", row(L, 403, 403, 403, 200)),
    "users.deactivate": ("POST", "/users/{other}/deactivate", row(L, 403, 403, 403, 302)),
    "users.reactivate": ("POST", "/users/{other}/reactivate", row(L, 403, 403, 403, 302)),
    "users.resend_invitation": ("POST", "/users/{other}/resend-invitation", row(L, 403, 403, 403, 302)),
    "audit.index": ("GET", "/audit/", row(L, 403, 403, 403, 200)),
    # Candidates: {profile} is another candidate's profile.
    "candidates.index": ("GET", "/candidates/", row(L, 403, 403, 200, 200)),
    "candidates.me": ("GET", "/candidates/me", row(L, 302, 403, 403, 403)),
    "candidates.detail": ("GET", "/candidates/{profile}", row(L, 404, 404, 200, 200)),
    "candidates.edit": ("GET", "/candidates/{profile}/edit", row(L, 404, 403, 200, 200)),
    "candidates.stage": ("GET", "/candidates/{profile}/stage", row(L, 403, 403, 200, 200)),
    "candidates.approved_list": ("GET", "/candidates/{profile}/approved-list", row(L, 403, 403, 200, 200)),
    "candidates.sensitive": ("GET", "/candidates/{profile}/self-declared", row(L, 404, 403, 200, 200)),
    # Cohorts: {cohort} holds the other candidate, {enrolment} is that place.
    "cohorts.index": ("GET", "/cohorts/", row(L, 403, 403, 200, 200)),
    "cohorts.new": ("GET", "/cohorts/new", row(L, 403, 403, 200, 200)),
    "cohorts.detail": ("GET", "/cohorts/{cohort}", row(L, 403, 403, 200, 200)),
    "cohorts.edit": ("GET", "/cohorts/{cohort}/edit", row(L, 403, 403, 200, 200)),
    "cohorts.close": ("POST", "/cohorts/{cohort}/close", row(L, 403, 403, 302, 302)),
    "cohorts.reopen": ("POST", "/cohorts/{cohort}/reopen", row(L, 403, 403, 302, 302)),
    "cohorts.invite": ("POST", "/cohorts/{cohort}/invite", row(L, 403, 403, 302, 302)),
    "cohorts.enrol": ("POST", "/cohorts/{cohort}/enrol", row(L, 403, 403, 302, 302)),
    "cohorts.withdraw": ("POST", "/cohorts/{cohort}/enrolments/{enrolment}/withdraw", row(L, 403, 403, 302, 302)),
    "cohorts.import_template": ("GET", "/cohorts/import-template.csv", row(L, 403, 403, 200, 200)),
    "cohorts.import_candidates": ("GET", "/cohorts/{cohort}/import", row(L, 403, 403, 200, 200)),
    "cohorts.confirm_import": ("POST", "/cohorts/{cohort}/import/confirm", row(L, 403, 403, 400, 400)),
}
MATRIX.update(PROGRAMME_MATRIX)
MATRIX.update(MENTORING_MATRIX)
MATRIX.update(ENGAGEMENT_MATRIX)
MATRIX.update(SEATS_MATRIX)
MATRIX.update(SEATFIT_MATRIX)
MATRIX.update(APPLICATIONS_MATRIX)
MATRIX.update(REPORTS_MATRIX)
MATRIX.update(DASHBOARD_MATRIX)


def test_every_endpoint_is_classified_and_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = sorted(e for e in endpoints if access_of(app, e) is None)
    assert unclassified == [], f"endpoints without an access decorator: {unclassified}"
    assert endpoints == set(MATRIX), (
        f"add to MATRIX: {sorted(endpoints - set(MATRIX))}; remove from MATRIX: {sorted(set(MATRIX) - endpoints)}"
    )


def test_matrix_classification_agrees_with_decorators(app):
    """Public endpoints answer anonymous users; every other one sends them to sign in."""
    for endpoint, (_, _, expected) in MATRIX.items():
        if endpoint == "main.index":  # public, and itself sends anonymous visitors to sign in
            continue
        kind = access_of(app, endpoint).kind
        assert (kind == "public") == (expected["anon"] != L), endpoint


def test_unclassified_endpoint_is_refused(app, client):
    @app.route("/__unclassified")
    def unclassified():
        return "should never be served"

    assert client.get("/__unclassified").status_code == 403


def _matrix_ids(app, people, make) -> dict:
    """Real objects for every placeholder the matrix's paths name."""
    from sqlalchemy import select

    from d2w.auth.models import UserSession
    from d2w.cohorts.models import Enrolment
    from d2w.core.extensions import db

    # Another person's session, to show that ending it is "not found" for everyone else.
    login(app.test_client(), people["candidate2"].email)
    with app.app_context():
        session_id = db.session.scalar(
            select(UserSession.id).where(UserSession.user_id == people["candidate2"].id).limit(1)
        )
    cohort_id = make.cohort("Matrix cohort")
    profile_id = make.enrol(cohort_id, people["candidate2"])
    with app.app_context():
        enrolment_id = db.session.scalar(select(Enrolment.id).where(Enrolment.profile_id == profile_id))
    ids = {
        "other": people["candidate2"].id,
        "other_session": session_id,
        "profile": profile_id,
        "cohort": cohort_id,
        "enrolment": enrolment_id,
    }
    ids.update(programme_placeholders(app, people, cohort_id))
    ids.update(mentoring_placeholders(app, people))
    ids.update(engagement_placeholders(app, people, cohort_id))
    ids.update(seats_placeholders(app, people))
    ids.update(seatfit_placeholders(app, people, cohort_id))
    ids.update(applications_placeholders(app, people, cohort_id))
    ids.update(reports_placeholders(app, people, cohort_id))
    ids.update(dashboard_placeholders(app, people, cohort_id))
    return ids


def _check(app, people, endpoint: str, role: str, path: str) -> None:
    method, _, expected_by_role = MATRIX[endpoint]
    client = app.test_client()
    if role != "anon":
        assert login(client, people[role].email).status_code == 302, (endpoint, role)
    if method == "GET":
        response = client.get(path)
    else:
        token = csrf_token(client, "/auth/login" if role == "anon" else "/account/")
        response = client.post(path, data={"csrf_token": token})
    expected = expected_by_role[role]
    if expected == L:
        assert response.status_code == 302, (endpoint, role, response.status_code)
        assert response.headers["Location"].startswith("/auth/login"), (endpoint, role)
    elif expected == H:
        assert response.status_code == 302, (endpoint, role, response.status_code)
        assert response.headers["Location"] == "/home", (endpoint, role)
    else:
        assert response.status_code == expected, (endpoint, role, response.status_code)
    response.close()


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_role_matrix(seat_data, app, people, make, endpoint):
    """Every role against one endpoint, on one set of objects. Roles run from the least to the
    most privileged, and only the privileged change anything, so each sees the state it expects."""
    ids = _matrix_ids(app, people, make)
    path = MATRIX[endpoint][1].format(**ids)
    for role in ROLES:
        _check(app, people, endpoint, role, path)


@pytest.mark.parametrize(
    "path",
    [
        "/users/999999",
        "/users/999999/edit",
        "/users/99999999999999999999",
        "/candidates/99999999999999999999",
        "/cohorts/99999999999999999999",
    ],
)
def test_unknown_objects_are_404_for_those_who_may_use_the_page(client, people, path):
    login(client, people["admin"].email)
    assert client.get(path).status_code == 404


def test_policies_are_shared_by_templates(client, people):
    """The template asks the same policy as the route: no Invite button for non-admin staff."""
    login(client, people["staff"].email)
    page = client.get("/users/").get_data(as_text=True)
    assert "Invite someone" not in page
    assert 'href="/audit/"' not in page
    c2 = client.application.test_client()
    login(c2, people["admin"].email)
    page = c2.get("/users/").get_data(as_text=True)
    assert "Invite someone" in page
    assert 'href="/audit/"' in page
