"""Who may do what in the seats domain: one function per rule, shared by views, queries and templates.

* Every signed-in person (candidates, mentors and staff) browses the seats and opens a seat's
  page: the seat data are public figures.
* Only staff (admins included) use the analysis of how high-BME seats voted.
"""

from __future__ import annotations

from d2w.auth.models import ROLE_VALUES, User
from d2w.auth.policy import is_staff


def can_browse_seats(actor: User | None) -> bool:
    """The seat browser and seat pages: any signed-in, active role."""
    return bool(actor is not None and actor.is_authenticated and actor.role in ROLE_VALUES)


def can_analyse_seats(actor: User | None) -> bool:
    """The BME and Leave analysis of seats: staff."""
    return actor is not None and is_staff(actor)
