"""Pure rules of the programme: London wall-clock times, weekly series, absences in a row, rates
and online links. Plain functions with no Flask or database import: fast to test.

Times are entered and shown in Europe/London and stored in UTC. A weekly series keeps the same
*local* wall time every week, so across a clock change its UTC times move by an hour.

Absences in a row: walk a candidate's marks over non-cancelled sessions, newest first. "absent"
adds one; "excused" is skipped (it neither counts nor breaks the run: a candidate who was away
with notice is neither punished nor let off); "present" or "late" ends the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MAX_WEEKS = 52
# Dates outside this range are typing mistakes (and keep date arithmetic far from its limits).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class LocalTimeError(ValueError):
    """A London wall-clock time that cannot be scheduled. ``which`` is "day", "starts" or "ends"."""

    def __init__(self, message: str, which: str):
        super().__init__(message)
        self.message = message
        self.which = which


def london_to_utc(day: date, at: time, which: str = "starts") -> datetime:
    """The UTC instant of a London wall-clock time.

    A time skipped when the clocks go forward (01:00-02:00 on the last Sunday of March) does not
    exist; one repeated when they go back (01:00-02:00 on the last Sunday of October) is
    ambiguous. Both are refused rather than guessed.
    """
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=LONDON)
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        when = f"{at:%H:%M} on {day:%-d %B %Y}"
        round_trip = local.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        if round_trip != local.replace(tzinfo=None):
            raise LocalTimeError(f"{when} does not exist in the UK: the clocks go forward. Choose another time.", which)
        raise LocalTimeError(f"{when} happens twice in the UK: the clocks go back. Choose another time.", which)
    return local.astimezone(UTC)


def to_london(moment: datetime) -> datetime:
    return moment.astimezone(LONDON)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


def check_day(day: date) -> None:
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise LocalTimeError(f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.", "day")


def slot(day: date, starts: time, ends: time) -> Slot:
    """One session on a London day, from ``starts`` to ``ends`` (same day)."""
    check_day(day)
    if ends <= starts:
        raise LocalTimeError("The session must end after it starts, on the same day.", "ends")
    return Slot(london_to_utc(day, starts, "starts"), london_to_utc(day, ends, "ends"))


def weekly_slots(first_day: date, starts: time, ends: time, weeks: int) -> list[Slot]:
    """``weeks`` sessions, a week apart, each at the same London wall-clock time."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise LocalTimeError(f"Choose from 1 to {MAX_WEEKS} weeks.", "weeks")
    check_day(first_day)
    check_day(first_day + timedelta(weeks=weeks - 1))
    return [slot(first_day + timedelta(weeks=k), starts, ends) for k in range(weeks)]


def london_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a London day starts and the next one starts."""
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    return start, end


def london_week_bounds(today: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, London time, as UTC instants."""
    monday = today - timedelta(days=today.weekday())
    return london_day_bounds(monday)[0], london_day_bounds(monday + timedelta(days=7))[0]


def register_opens_at(starts_at: datetime) -> datetime:
    """The register of a session opens at the start of its London day (so late news of an
    excused absence can be marked that morning), never earlier."""
    return london_day_bounds(to_london(starts_at).date())[0]


def register_is_open(starts_at: datetime, now: datetime) -> bool:
    return now >= register_opens_at(starts_at)


def consecutive_absences(statuses_newest_first: Iterable[str]) -> int:
    """Absences in a row, newest first: "excused" is skipped, "present" and "late" end the run."""
    run = 0
    for status in statuses_newest_first:
        if status == "absent":
            run += 1
        elif status == "excused":
            continue
        else:
            break
    return run


def rate(attended: int, marked: int) -> float | None:
    """(present + late) / marked; None when nothing is marked yet."""
    if marked <= 0:
        return None
    return attended / marked


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def clean_online_url(raw: str | None) -> str | None:
    """An https link for an online session, or None. Raises ValueError with a message to show."""
    url = (raw or "").strip()
    if not url:
        return None
    if len(url) > 500:
        raise ValueError("Keep the link under 500 characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("A link cannot contain spaces.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise ValueError("Enter a full link, for example https://meet.example.org/abc.") from None
    if parts.scheme.lower() != "https":
        raise ValueError("Online links must start with https:// so that they are private in transit.")
    if not host or "." not in host.strip("."):
        raise ValueError("Enter a full link, for example https://meet.example.org/abc.")
    if parts.username or parts.password:
        raise ValueError("Remove the user name or password from the link.")
    return url
