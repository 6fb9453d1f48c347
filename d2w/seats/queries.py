"""Reading seats: the browser's filters (shared with the seat-fit ranking), national medians,
look-ups by code or name, and the rows the analysis works on.

Every function runs a fixed number of queries whatever the number of seats.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from d2w.core.db import read
from d2w.core.extensions import db
from d2w.core.regions import REGIONS
from d2w.seats.analysis import SeatRow
from d2w.seats.models import BOUNDARY_SETS, COUNTRIES, PARTIES, Seat, SeatFigureSource, SeatPartyShare, SeatResult

DEFAULT_BOUNDARY_SET = "2024"
# The general elections held on each boundary set, oldest first ("2019n": Rallings and
# Thrasher's notional 2019 result on the 2024 boundaries).
ELECTIONS_BY_SET: dict[str, tuple[str, ...]] = {"2010": ("2015", "2017", "2019"), "2024": ("2019n", "2024")}
ELECTION_LABELS = {
    "2015": "2015",
    "2017": "2017",
    "2019": "2019",
    "2019n": "2019 (notional)",
    "2024": "2024",
}
MAX_QUERY_LENGTH = 100
ONS_CODE = re.compile(r"^[EWSN]\d{8}$", re.IGNORECASE)


def latest_election(boundary_set: str) -> str:
    """The latest general election on a boundary set: 2019 on the 2010 set, 2024 on the 2024 set."""
    try:
        return ELECTIONS_BY_SET[boundary_set][-1]
    except KeyError:
        raise ValueError(f"unknown boundary set {boundary_set!r}") from None


def elections_of(boundary_set: str) -> tuple[str, ...]:
    """The elections held on a boundary set, oldest first."""
    try:
        return ELECTIONS_BY_SET[boundary_set]
    except KeyError:
        raise ValueError(f"unknown boundary set {boundary_set!r}") from None


# ---------------------------------------------------------------------------------------------
# Filters (the seat browser, and the seat-fit ranking "with the same filters")

RANGES = {
    # filter prefix: (what it is, for messages)
    "leave": "Leave share",
    "bme": "minority ethnic (BME) share",
    "majority": "majority",
}


@dataclass(frozen=True)
class SeatFilters:
    """What the seat list is narrowed to. Percentages are 0–100; ``None`` means no limit.

    Read from a query string with ``parse_filters``; ``problems`` maps each query argument that
    was refused to a message for its field (a refused argument filters nothing)."""

    boundary_set: str = DEFAULT_BOUNDARY_SET
    country: str | None = None
    region: str | None = None
    leave_min: float | None = None
    leave_max: float | None = None
    bme_min: float | None = None
    bme_max: float | None = None
    winner: str | None = None  # a party code: the winner of the latest election on the set
    majority_min: float | None = None  # majority as % of valid votes, latest election
    majority_max: float | None = None
    q: str = ""  # part of the name, or the start of the ONS code
    problems: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def election(self) -> str:
        return latest_election(self.boundary_set)

    @property
    def active(self) -> bool:
        """Whether anything beyond the boundary set narrows the list."""
        return any(
            getattr(self, f.name) not in (None, "") for f in fields(self) if f.name not in ("boundary_set", "problems")
        )

    def as_args(self) -> dict[str, str]:
        """The query arguments that give these filters back through ``parse_filters``."""
        args = {"boundaries": self.boundary_set}
        for f in fields(self):
            if f.name in ("boundary_set", "problems"):
                continue
            value = getattr(self, f.name)
            if value is None or value == "":
                continue
            args[f.name] = _format_number(value) if isinstance(value, float) else str(value)
        return args


def _format_number(value: float) -> str:
    return f"{value:g}"


def _parse_pct(raw: str, what: str) -> tuple[float | None, str | None]:
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"Enter the {what} as a number from 0 to 100."
    if not math.isfinite(value) or not 0 <= value <= 100:
        return None, f"Enter the {what} as a number from 0 to 100."
    return value + 0.0, None  # -0 becomes 0: never shown as "-0"


def parse_filters(args: Mapping[str, str]) -> SeatFilters:
    """Seat filters from query arguments: ``boundaries`` (2010 or 2024; default 2024),
    ``country``, ``region``, ``leave_min``/``leave_max``, ``bme_min``/``bme_max``,
    ``majority_min``/``majority_max`` (percentages), ``winner`` (a party code) and ``q`` (name or
    ONS code). Anything that does not parse is left out and named in ``problems``; nothing raises."""
    problems: dict[str, str] = {}

    def get(name: str) -> str:
        value = args.get(name)
        return value if isinstance(value, str) else ""

    boundary_set = get("boundaries").strip() or DEFAULT_BOUNDARY_SET
    if boundary_set not in BOUNDARY_SETS:
        problems["boundaries"] = "Choose the 2010 or the 2024 boundaries."
        boundary_set = DEFAULT_BOUNDARY_SET

    def choice(name: str, allowed, message: str) -> str | None:
        value = get(name).strip()
        if not value:
            return None
        if value not in allowed:
            problems[name] = message
            return None
        return value

    country = choice("country", COUNTRIES, "Choose a nation from the list.")
    region = choice("region", REGIONS, "Choose a region from the list.")
    winner = choice("winner", PARTIES, "Choose a party from the list.")

    values: dict[str, float | None] = {}
    for prefix, what in RANGES.items():
        low, low_problem = _parse_pct(get(f"{prefix}_min"), f"lowest {what}")
        high, high_problem = _parse_pct(get(f"{prefix}_max"), f"highest {what}")
        if low_problem:
            problems[f"{prefix}_min"] = low_problem
        if high_problem:
            problems[f"{prefix}_max"] = high_problem
        if low is not None and high is not None and low > high:
            problems[f"{prefix}_max"] = f"The highest {what} must not be below the lowest."
            high = None
        values[f"{prefix}_min"], values[f"{prefix}_max"] = low, high

    q = " ".join(get("q").split())
    if len(q) > MAX_QUERY_LENGTH:
        problems["q"] = f"Enter at most {MAX_QUERY_LENGTH} characters."
        q = ""
    return SeatFilters(
        boundary_set=boundary_set,
        country=country,
        region=region,
        winner=winner,
        q=q,
        problems=problems,
        **values,
    )


_LATEST_RESULT_JOINS = {
    boundary_set: and_(SeatResult.seat_id == Seat.id, SeatResult.election == elections[-1])
    for boundary_set, elections in ELECTIONS_BY_SET.items()
}


def latest_result_join(boundary_set: str):
    """The ON clause joining a seat to its result at the latest election of its boundary set
    (built once per boundary set)."""
    try:
        return _LATEST_RESULT_JOINS[boundary_set]
    except KeyError:
        raise ValueError(f"unknown boundary set {boundary_set!r}") from None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str):
    """Seats whose name contains ``q`` (any case) or whose ONS code starts with it."""
    text = _like_escape(q.strip().lower())
    return or_(
        func.lower(Seat.name).like(f"%{text}%", escape="\\"),
        func.lower(Seat.ons_code).like(f"{text}%", escape="\\"),
    )


def filtered_seats(filters: SeatFilters) -> Select:
    """``select(Seat, SeatResult)``: the seats of the filters' boundary set that pass them, each
    with its result at the latest election on that set (``None`` if it has none), unordered.

    Sort it (``SORTS`` with ``d2w.core.pagination``) and page it with ``scalars=False``; or
    narrow it further, e.g. ``.with_only_columns(Seat.id)`` for a subquery of ids."""
    stmt = (
        select(Seat, SeatResult)
        .outerjoin(SeatResult, latest_result_join(filters.boundary_set))
        .where(Seat.boundary_set == filters.boundary_set)
    )
    if filters.country:
        stmt = stmt.where(Seat.country == filters.country)
    if filters.region:
        stmt = stmt.where(Seat.region == filters.region)
    for column, low, high in (
        (Seat.leave_pct, filters.leave_min, filters.leave_max),
        (Seat.bme_pct, filters.bme_min, filters.bme_max),
        (SeatResult.majority_pct, filters.majority_min, filters.majority_max),
    ):
        if low is not None:
            stmt = stmt.where(column >= low)
        if high is not None:
            stmt = stmt.where(column <= high)
    if filters.winner:
        stmt = stmt.where(SeatResult.winner == filters.winner)
    if filters.q:
        stmt = stmt.where(search_condition(filters.q))
    return stmt


# What a row of the browser shows: ``filtered_seats(...).with_only_columns(*BROWSER_COLUMNS)``
# (``result_id`` is None for a seat without a result at the latest election).
BROWSER_COLUMNS = (
    Seat.id,
    Seat.name,
    Seat.ons_code,
    Seat.region,
    Seat.leave_pct,
    Seat.bme_pct,
    Seat.young_adult_pct,
    SeatResult.id.label("result_id"),
    SeatResult.winner,
    SeatResult.majority_pct,
)


# Sort keys of the browser (and any list built on ``filtered_seats``). Missing figures (NI's
# census) sort last whichever the direction: see ``sort_nulls_last``.
SORTS = {
    "name": func.lower(Seat.name),
    "region": Seat.region,
    "leave": Seat.leave_pct,
    "bme": Seat.bme_pct,
    "young": Seat.young_adult_pct,
    "winner": SeatResult.winner,
    "majority": SeatResult.majority_pct,
}


# Sort keys whose column is NOT NULL: nothing to put last (and a plain ORDER BY sorts faster).
NEVER_NULL_SORTS = frozenset({"name", "region"})


def sort_nulls_last(stmt: Select, key: str) -> Select:
    """Order seats without the sorted figure after the others (before ``apply_sort`` adds the
    column itself), the same on SQLite and PostgreSQL."""
    if key in NEVER_NULL_SORTS:
        return stmt
    return stmt.order_by(case((SORTS[key].is_(None), 1), else_=0))


def winner_counts(boundary_set: str) -> list[tuple[str, int]]:
    """Seats won by each party at the latest election on the set, most first (one query)."""
    rows = read(
        select(SeatResult.winner, func.count())
        .join(Seat, latest_result_join(boundary_set))
        .where(Seat.boundary_set == boundary_set)
        .group_by(SeatResult.winner)
    ).all()
    return sorted(((w, n) for w, n in rows), key=lambda r: (-r[1], r[0]))


# ---------------------------------------------------------------------------------------------
# Medians, look-ups

MEDIAN_FIGURES = ("leave_pct", "bme_pct", "young_adult_pct", "age_65plus_pct", "majority_pct", "turnout_pct")


def national_medians(boundary_set: str) -> dict[str, float | None]:
    """The median over the seats of a boundary set of each of ``MEDIAN_FIGURES`` (majority and
    turnout from the latest election), over the seats that have the figure (census figures:
    the GB seats); ``None`` if no seat has it. One query; nothing is cached."""
    rows = read(
        select(
            Seat.leave_pct,
            Seat.bme_pct,
            Seat.young_adult_pct,
            Seat.age_65plus_pct,
            SeatResult.majority_pct,
            SeatResult.turnout_pct,
        )
        .outerjoin(SeatResult, latest_result_join(boundary_set))
        .where(Seat.boundary_set == boundary_set)
    ).all()
    out: dict[str, float | None] = {}
    for index, name in enumerate(MEDIAN_FIGURES):
        values = [row[index] for row in rows if row[index] is not None]
        out[name] = round(statistics.median(values), 3) if values else None
    return out


def _preferring(boundary_set: str | None):
    if boundary_set is None:
        return (case((Seat.boundary_set == DEFAULT_BOUNDARY_SET, 0), else_=1), Seat.id)
    return (Seat.id,)


def find_seat(code_or_name: str, boundary_set: str | None) -> Seat | None:
    """The seat with this ONS code, else with exactly this name (any case), on the given
    boundary set; with ``boundary_set=None``, either set, preferring the 2024 boundaries."""
    text = " ".join((code_or_name or "").split())
    if not text or len(text) > MAX_QUERY_LENGTH:
        return None
    is_code = ONS_CODE.match(text) is not None
    condition = (Seat.ons_code == text.upper()) if is_code else (func.lower(Seat.name) == text.lower())
    stmt = select(Seat).where(condition)
    if boundary_set is not None:
        stmt = stmt.where(Seat.boundary_set == boundary_set)
    return db.session.scalars(stmt.order_by(*_preferring(boundary_set)).limit(1)).first()


def seat_search(q: str, boundary_set: str | None, limit: int = 20) -> list[Seat]:
    """Seats for a picker: name containing ``q`` or ONS code starting with it, names starting
    with it first, then by name (2024 boundaries first when ``boundary_set`` is None). At most
    ``limit`` (1–100); an empty or over-long ``q`` finds nothing."""
    text = " ".join((q or "").split())
    if not text or len(text) > MAX_QUERY_LENGTH:
        return []
    limit = max(1, min(int(limit), 100))
    starts = func.lower(Seat.name).like(f"{_like_escape(text.lower())}%", escape="\\")
    stmt = select(Seat).where(search_condition(text))
    if boundary_set is not None:
        stmt = stmt.where(Seat.boundary_set == boundary_set)
    order = [case((starts, 0), else_=1)]
    if boundary_set is None:
        order.append(case((Seat.boundary_set == DEFAULT_BOUNDARY_SET, 0), else_=1))
    order += [func.lower(Seat.name), Seat.id]
    return list(db.session.scalars(stmt.order_by(*order).limit(limit)))


# ---------------------------------------------------------------------------------------------
# One seat's page


# The seat's own columns (a row, not an ORM object: what its page shows, kept as plain data).
_SEAT_ROW = select(*Seat.__table__.c).where(Seat.id == bindparam("seat_id"))


def seat_row(seat_id: int):
    """The seat's columns as a row (attribute access like a ``Seat``), or ``None``. One query."""
    return read(_SEAT_ROW, {"seat_id": seat_id}).first()


class ResultRow(NamedTuple):
    """One result of a seat, as its page shows it."""

    id: int
    election: str
    notional: bool
    winner: str
    winner_mp: str | None
    second: str
    majority: int
    majority_pct: float
    turnout_pct: float | None
    result: str | None


# Each result of a seat with its party shares (none: a result with no shares), largest first.
_SEAT_RESULTS = (
    select(
        SeatResult.id,
        SeatResult.election,
        SeatResult.notional,
        SeatResult.winner,
        SeatResult.winner_mp,
        SeatResult.second,
        SeatResult.majority,
        SeatResult.majority_pct,
        SeatResult.turnout_pct,
        SeatResult.result,
        SeatPartyShare.party,
        SeatPartyShare.share_pct,
    )
    .outerjoin(SeatPartyShare, SeatPartyShare.result_id == SeatResult.id)
    .where(SeatResult.seat_id == bindparam("seat_id"))
    .order_by(SeatResult.id, SeatPartyShare.share_pct.desc(), SeatPartyShare.party)
)


def seat_results(seat_id: int, boundary_set: str) -> list[tuple[ResultRow, dict[str, float]]]:
    """The seat's results, oldest first, each with its party shares {party: share %} (largest
    first). One query."""
    by_id: dict[int, tuple[ResultRow, dict[str, float]]] = {}
    for row in read(_SEAT_RESULTS, {"seat_id": seat_id}):
        entry = by_id.get(row[0])
        if entry is None:
            entry = by_id[row[0]] = (ResultRow(*row[:10]), {})
        if row[10] is not None:
            entry[1][row[10]] = row[11]
    order = {e: i for i, e in enumerate(ELECTIONS_BY_SET.get(boundary_set, ()))}
    return sorted(by_id.values(), key=lambda pair: (order.get(pair[0].election, 99), pair[0].election))


def figure_sources(boundary_set: str) -> list[SeatFigureSource]:
    """Where each figure of the boundary set comes from, with its source (one query)."""
    return list(
        db.session.scalars(
            select(SeatFigureSource)
            .where(SeatFigureSource.boundary_set == boundary_set)
            .order_by(SeatFigureSource.figure, SeatFigureSource.source_id)
        ).unique()
    )


# ---------------------------------------------------------------------------------------------
# Analysis


def analysis_rows(boundary_set: str, election: str) -> list[SeatRow]:
    """Every seat of the boundary set with its result at ``election`` and the winner's share of
    the vote (``None`` when the winner's party is not listed separately, e.g. an independent or
    the Speaker), as plain rows for ``d2w.seats.analysis``. One query."""
    if election not in elections_of(boundary_set):
        raise ValueError(f"the {election} election was not held on the {boundary_set} boundaries")
    winner_share = aliased(SeatPartyShare)
    rows = read(
        select(
            Seat.id,
            Seat.ons_code,
            Seat.name,
            Seat.country,
            Seat.region,
            Seat.bme_pct,
            Seat.leave_pct,
            SeatResult.winner,
            SeatResult.majority_pct,
            winner_share.share_pct,
        )
        .join(SeatResult, and_(SeatResult.seat_id == Seat.id, SeatResult.election == election))
        .outerjoin(
            winner_share,
            and_(winner_share.result_id == SeatResult.id, winner_share.party == SeatResult.winner),
        )
        .where(Seat.boundary_set == boundary_set)
        .order_by(Seat.ons_code)
    ).all()
    return [
        SeatRow(
            id=r[0],
            code=r[1],
            name=r[2],
            country=r[3],
            region=r[4],
            bme_pct=r[5],
            leave_pct=r[6],
            winner=r[7],
            majority_pct=r[8],
            winner_share_pct=r[9],
        )
        for r in rows
    ]
