"""How seats voted by their minority ethnic (BME) share and their Leave share. Pure functions
over plain rows (no Flask, no database): ``d2w.seats.queries.analysis_rows`` fetches the rows;
the staff page and ``flask d2w seats analyse`` share these calculations.

Seats without census figures (Northern Ireland) are left out of every BME figure, and seats
without a Leave figure (Northern Ireland on the 2024 boundaries) out of every Leave figure; the
results say how many were left out.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

# Leave bands: (label, lowest included, highest excluded).
LEAVE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("Under 40%", 0.0, 40.0),
    ("40% to under 50%", 40.0, 50.0),
    ("50% to under 60%", 50.0, 60.0),
    ("60% or more", 60.0, float("inf")),
)


@dataclass(frozen=True)
class SeatRow:
    """One seat and its result at one election."""

    id: int
    code: str
    name: str
    country: str
    region: str
    bme_pct: float | None
    leave_pct: float | None
    winner: str
    majority_pct: float | None
    winner_share_pct: float | None  # None when the winner's party is not listed on its own


def _ranked(counter: Counter) -> dict[str, int]:
    """A count per party, most first, then by party code: a stable order."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


@dataclass(frozen=True)
class BmeAnalysis:
    threshold_pct: float
    seats: list[SeatRow]  # at or above the threshold: BME share descending, then code
    by_winner: dict[str, int]  # party -> seats won among ``seats``, most first
    median_bme_pct: float | None  # median BME share of ``seats``
    seats_with_census: int
    seats_without_census: list[SeatRow] = field(default_factory=list)
    median_bme_pct_all: float | None = None  # over every seat with census figures

    @property
    def count(self) -> int:
        return len(self.seats)


def bme_analysis(rows: list[SeatRow], threshold_pct: float) -> BmeAnalysis:
    """The seats whose BME share is at or above the threshold, who won them, and their median
    BME share. Seats without census figures are counted apart, never in the figures."""
    with_census = [r for r in rows if r.bme_pct is not None]
    without = sorted((r for r in rows if r.bme_pct is None), key=lambda r: r.code)
    high = sorted((r for r in with_census if r.bme_pct >= threshold_pct), key=lambda r: (-r.bme_pct, r.code))
    return BmeAnalysis(
        threshold_pct=float(threshold_pct),
        seats=high,
        by_winner=_ranked(Counter(r.winner for r in high)),
        median_bme_pct=_median([r.bme_pct for r in high]),
        seats_with_census=len(with_census),
        seats_without_census=without,
        median_bme_pct_all=_median([r.bme_pct for r in with_census]),
    )


def leave_band(leave_pct: float) -> str:
    for label, low, high in LEAVE_BANDS:
        if low <= leave_pct < high:
            return label
    return LEAVE_BANDS[-1][0]


@dataclass(frozen=True)
class LeaveTable:
    bands: list[str]
    parties: list[str]  # winners, most seats first
    counts: dict[str, dict[str, int]]  # band -> party -> seats (0 where none)
    band_totals: dict[str, int]
    party_totals: dict[str, int]
    total: int
    without_leave: list[SeatRow] = field(default_factory=list)


def leave_table(rows: list[SeatRow]) -> LeaveTable:
    """Seats won by each party in each Leave band (under 40, 40–50, 50–60, 60 or more)."""
    with_leave = [r for r in rows if r.leave_pct is not None]
    bands = [label for label, _, _ in LEAVE_BANDS]
    party_totals = _ranked(Counter(r.winner for r in with_leave))
    parties = list(party_totals)
    counts = {band: dict.fromkeys(parties, 0) for band in bands}
    for r in with_leave:
        counts[leave_band(r.leave_pct)][r.winner] += 1
    return LeaveTable(
        bands=bands,
        parties=parties,
        counts=counts,
        band_totals={band: sum(counts[band].values()) for band in bands},
        party_totals=party_totals,
        total=len(with_leave),
        without_leave=sorted((r for r in rows if r.leave_pct is None), key=lambda r: r.code),
    )


def bme_points(rows: list[SeatRow], party_names: dict[str, str]) -> list[tuple[float, float, str, str]]:
    """Scatter points (BME share, winner's share, seat name, winner's name) for the seats with
    both figures."""
    return [
        (r.bme_pct, r.winner_share_pct, r.name, party_names.get(r.winner, r.winner))
        for r in rows
        if r.bme_pct is not None and r.winner_share_pct is not None
    ]


def leave_points(rows: list[SeatRow], party_names: dict[str, str]) -> list[tuple[float, float, str, str]]:
    """Scatter points (Leave share, winner's share, seat name, winner's name)."""
    return [
        (r.leave_pct, r.winner_share_pct, r.name, party_names.get(r.winner, r.winner))
        for r in rows
        if r.leave_pct is not None and r.winner_share_pct is not None
    ]


def as_json(boundary_set: str, election: str, result: BmeAnalysis) -> dict:
    """The stable JSON of ``flask d2w seats analyse --json`` (keys documented there)."""
    return {
        "boundaries": boundary_set,
        "election": election,
        "bme_threshold_pct": result.threshold_pct,
        "seats_at_or_above": result.count,
        "by_winner": dict(result.by_winner),
        "median_bme_pct": result.median_bme_pct,
        "seats": [{"code": r.code, "name": r.name, "bme_pct": r.bme_pct, "winner": r.winner} for r in result.seats],
    }
