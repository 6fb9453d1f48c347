"""Applications to seats: statuses, submission rules, overrides, the board."""

from __future__ import annotations

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


# The role matrix of this domain's routes, in the shape of MATRIX in test_access.py: endpoint ->
# (method, path template, expected status per role). Paths may name the placeholders below.
APPLICATIONS_MATRIX: dict = {}


def applications_placeholders(app, people, cohort_id: int) -> dict:
    """Real objects for the placeholders APPLICATIONS_MATRIX's paths name (people["candidate2"] owns them)."""
    return {}
