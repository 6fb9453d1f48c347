"""The rules of an application's life, as plain functions (no Flask, no database).

* Moves: considering → fit_checked → submitted → longlisted → shortlisted → final → selected, with
  not_selected possible from submitted on, and withdrawn from any open status. Closed statuses
  (selected, not_selected, withdrawn) never move again.
* A fit check is usable while it is younger than ``valid_days`` (SEATFIT_CHECK_VALID_DAYS, 90):
  a check exactly ``valid_days`` old is no longer usable.
* Moving to fit_checked needs a usable check; submitting needs one too and, when its band is
  poor, a staff override with a written reason.
* A move's date is never in the future, nor before the previous step's date, nor before 2000.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from d2w.applications.models import CLOSED_STATUSES, STATUS_LABELS, SUBMITTED_OR_LATER

MOVES: dict[str, tuple[str, ...]] = {
    "considering": ("fit_checked", "withdrawn"),
    "fit_checked": ("submitted", "withdrawn"),
    "submitted": ("longlisted", "not_selected", "withdrawn"),
    "longlisted": ("shortlisted", "not_selected", "withdrawn"),
    "shortlisted": ("final", "not_selected", "withdrawn"),
    "final": ("selected", "not_selected", "withdrawn"),
    "selected": (),
    "not_selected": (),
    "withdrawn": (),
}
NEEDS_CHECK = ("fit_checked", "submitted")
# The statuses before submission, while an override can still matter.
BEFORE_SUBMISSION = ("considering", "fit_checked")
MIN_OVERRIDE_REASON = 20
MAX_OVERRIDE_REASON = 2000
MAX_NOTE = 2000
# The earliest date a step may carry (as for milestones and sessions): older ones are typing slips.
EARLIEST_DATE = date(2000, 1, 1)


def allowed_moves(status: str) -> tuple[str, ...]:
    """The statuses an application in ``status`` may move to next (none once closed)."""
    return MOVES.get(status, ())


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in allowed_moves(from_status)


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def is_submitted(status: str) -> bool:
    return status in SUBMITTED_OR_LATER


def needs_check(to_status: str) -> bool:
    return to_status in NEEDS_CHECK


def move_label(to_status: str) -> str:
    """What the move is called on a button or in a list of choices."""
    return {
        "fit_checked": "Fit checked",
        "submitted": "Submitted",
        "withdrawn": "Withdrawn",
    }.get(to_status, STATUS_LABELS[to_status])


def check_cutoff(now: datetime, valid_days: int) -> datetime:
    """Checks run after this moment are usable."""
    return now - timedelta(days=valid_days)


def is_usable(run_at: datetime, now: datetime, valid_days: int) -> bool:
    """Whether a check run at ``run_at`` is younger than ``valid_days`` at ``now``."""
    return run_at > check_cutoff(now, valid_days)


def submission_block(band: str | None, overridden: bool) -> str | None:
    """Why an application cannot be submitted with this check (None if it can).

    ``band`` is the band of the newest usable check, or None when there is none."""
    if band is None:
        return "no_check"
    if band == "poor" and not overridden:
        return "poor_without_override"
    return None


def date_problem(on: date | None, today: date, previous: date | None) -> str | None:
    """A readable reason why a step cannot be dated ``on`` (None if it can)."""
    if on is None:
        return "Enter the date, for example 14/03/2026."
    if on < EARLIEST_DATE:
        return f"Enter a date from {EARLIEST_DATE.year} onwards."
    if on > today:
        return "The date cannot be in the future."
    if previous is not None and on < previous:
        return f"The date cannot be before the previous step ({previous.strftime('%-d %B %Y')})."
    return None


def next_step(status: str, band: str | None, overridden: bool) -> str:
    """One sentence for the candidate: what happens next. ``band`` as in ``submission_block``."""
    if status == "considering":
        if band is None:
            return "Run a fit check for this seat."
        return "Record that the fit has been checked."
    if status == "fit_checked":
        block = submission_block(band, overridden)
        if block == "no_check":
            return "The fit check is out of date: run a fresh one before submitting."
        if block == "poor_without_override":
            return "A member of the candidates department must review this fit before it can be submitted."
        return "Submit the application and record the date."
    return {
        "submitted": "Wait for the longlist.",
        "longlisted": "Wait for the shortlist.",
        "shortlisted": "Prepare for the final selection.",
        "final": "Record the result of the selection.",
        "selected": "Selected: congratulations.",
        "not_selected": "Not selected this time.",
        "withdrawn": "Withdrawn.",
    }[status]
