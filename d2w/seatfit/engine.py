"""The seat-fit engine: plain functions, no Flask, no database.

A check is advice to a person, who decides. Each factor gives a score from 0 to 100 (or none, when
it cannot be judged or is context only), one sentence a person can read aloud, the figures behind
it and whether it warns. The band (good, caution, poor) follows from the scored factors and the
warnings; the rules are in ``band_for``.

The candidate's own ethnicity is never an input: ``CandidateFacts`` has no field for it, and a
test shows that changing a candidate's recorded ethnic group changes no check. A seat's BME and
young-adult shares are context, shown beside the national median and never scored.
"""

from __future__ import annotations

import re
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

# -- Inputs ----------------------------------------------------------------------------------

STANCES = ("leave", "remain", "did_not_vote", "prefer_not_to_say", "unknown")
STANCE_LABELS = {
    "leave": "Leave",
    "remain": "Remain",
    "did_not_vote": "did not vote",
    "prefer_not_to_say": "prefer not to say",
    "unknown": "not given",
}

PARTY_NAMES = {
    "con": "Conservative",
    "lab": "Labour",
    "ld": "Liberal Democrat",
    "snp": "SNP",
    "pc": "Plaid Cymru",
    "green": "Green",
    "ukip": "UKIP",
    "brexit": "Brexit Party",
    "reform": "Reform UK",
    "dup": "DUP",
    "sf": "Sinn Féin",
    "sdlp": "SDLP",
    "uup": "UUP",
    "alliance": "Alliance",
    "tuv": "TUV",
    "speaker": "the Speaker",
    "ind": "an independent",
    "other": "another party",
}

LEAVE_BASIS_WORDS = {
    "estimate": "modelled estimate",
    "adjusted_no_known": "modelled estimate",
    "estimate_known_unused": "modelled estimate",
    "known_bbc_rosenbaum": "known ward-level figure",
    "known_council": "known council figure",
    "counted_by_constituency_ni": "counted result",
}

ELECTION_NAMES = {"2015": "2015", "2017": "2017", "2019": "2019", "2019n": "2019 (notional)", "2024": "2024"}


@dataclass(frozen=True)
class Thresholds:
    """The settings a check uses; ``from_config`` reads them from the app's configuration."""

    party: str = "lab"
    leave_voter_min_leave_pct: float = 40.0
    remain_voter_max_leave_pct: float = 60.0
    safe_majority_pct: float = 10.0
    target_max_swing_pct: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> Thresholds:
        return cls(
            party=str(config.get("SEATFIT_PARTY", cls.party)),
            leave_voter_min_leave_pct=float(
                config.get("SEATFIT_LEAVE_VOTER_MIN_LEAVE_PCT", cls.leave_voter_min_leave_pct)
            ),
            remain_voter_max_leave_pct=float(
                config.get("SEATFIT_REMAIN_VOTER_MAX_LEAVE_PCT", cls.remain_voter_max_leave_pct)
            ),
            safe_majority_pct=float(config.get("SEATFIT_SAFE_MAJORITY_PCT", cls.safe_majority_pct)),
            target_max_swing_pct=float(config.get("SEATFIT_TARGET_MAX_SWING_PCT", cls.target_max_swing_pct)),
        )

    def describe(self) -> str:
        return (
            f"party={self.party}; leave_voter_min_leave_pct={self.leave_voter_min_leave_pct:g}; "
            f"remain_voter_max_leave_pct={self.remain_voter_max_leave_pct:g}; "
            f"safe_majority_pct={self.safe_majority_pct:g}; target_max_swing_pct={self.target_max_swing_pct:g}"
        )


@dataclass(frozen=True)
class ResultFacts:
    election: str
    winner: str
    second: str
    majority_pct: float
    shares: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SeatFacts:
    code: str
    name: str
    boundary_set: str
    country: str
    region: str
    county: str | None = None
    leave_pct: float | None = None
    leave_basis: str | None = None
    bme_pct: float | None = None
    young_adult_pct: float | None = None
    young_adult_band: str = "18–29"
    age_65plus_pct: float | None = None
    latest: ResultFacts | None = None
    seat_id: int | None = None


@dataclass(frozen=True)
class TieFacts:
    """A verified engagement milestone with a place: the seat, borough or region it was in."""

    type_name: str
    region: str | None = None
    borough: str | None = None
    seat_code: str | None = None
    # The name of the seat ``seat_code`` names (either boundary set), so that a tie to a seat
    # also counts for the same-named seat on the other boundaries.
    seat_name: str | None = None
    community: str | None = None


@dataclass(frozen=True)
class CandidateFacts:
    """Everything about a candidate that a check may use. There is no ethnicity here, on purpose."""

    stance: str = "unknown"
    home_region: str | None = None
    home_borough: str | None = None
    ties: tuple[TieFacts, ...] = ()
    languages: tuple[str, ...] = ()

    def __post_init__(self):
        if self.stance not in STANCES:
            raise ValueError(f"unknown stance {self.stance!r}")


@dataclass(frozen=True)
class Medians:
    bme_pct: float | None = None
    young_adult_pct: float | None = None
    leave_pct: float | None = None


# -- Outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    name: str  # referendum | winnability | local_ties | context
    label: str
    score: float | None
    reason: str
    figures: tuple[tuple[str, str], ...] = ()
    warning: bool = False
    # A strong warning makes the band poor on its own (referendum misalignment).
    strong: bool = False


@dataclass(frozen=True)
class FitResult:
    band: str
    score: float
    factors: tuple[Factor, ...]
    warnings: tuple[str, ...]

    def factor(self, name: str) -> Factor:
        return next(f for f in self.factors if f.name == name)


BANDS = ("good", "caution", "poor")
BAND_LABELS = {"good": "Good fit", "caution": "Caution", "poor": "Poor fit"}
# How much each scored factor counts towards the overall score.
WEIGHTS = {"referendum": 0.45, "local_ties": 0.30, "winnability": 0.25}
GOOD_FROM = 60.0
CAUTION_FROM = 35.0


def pct(value: float | None) -> str:
    return "no figure" if value is None else f"{value:.1f}%"


def party_name(code: str) -> str:
    return PARTY_NAMES.get(code, code)


# -- Factors ---------------------------------------------------------------------------------


def referendum_factor(candidate: CandidateFacts, seat: SeatFacts, t: Thresholds) -> Factor:
    """The candidate's 2016 vote against the seat's Leave share."""
    label = "Referendum alignment"
    basis = LEAVE_BASIS_WORDS.get(seat.leave_basis or "", "modelled estimate")
    figures = [("Seat's Leave share", f"{pct(seat.leave_pct)} ({basis})" if seat.leave_pct is not None else "none")]
    figures.append(("Your referendum vote", STANCE_LABELS[candidate.stance]))
    if seat.leave_pct is None:
        return Factor(
            "referendum",
            label,
            None,
            f"There is no Leave figure for {seat.name}, so alignment is not scored.",
            tuple(figures),
        )
    leave = seat.leave_pct
    figures.append(
        (
            "Warning lines",
            f"Leave voter under {t.leave_voter_min_leave_pct:g}% Leave; "
            f"Remain voter over {t.remain_voter_max_leave_pct:g}% Leave",
        )
    )
    if candidate.stance == "leave":
        if leave < t.leave_voter_min_leave_pct:
            reason = (
                f"You voted Leave and {seat.name} voted {pct(leave)} Leave ({basis}), under the "
                f"{t.leave_voter_min_leave_pct:g}% line: a strongly Remain seat may see you as out of step."
            )
            return Factor("referendum", label, 0.0, reason, tuple(figures), warning=True, strong=True)
        score = 100.0 if leave >= 50 else 60.0
        side = "a Leave-majority" if leave >= 50 else "a narrowly Remain"
        reason = (
            f"You voted Leave and {seat.name} voted {pct(leave)} Leave ({basis}): {side} seat, aligned with your vote."
        )
        return Factor("referendum", label, score, reason, tuple(figures))
    if candidate.stance == "remain":
        if leave > t.remain_voter_max_leave_pct:
            reason = (
                f"You voted Remain and {seat.name} voted {pct(leave)} Leave ({basis}), over the "
                f"{t.remain_voter_max_leave_pct:g}% line: a strongly Leave seat may see you as out of step."
            )
            return Factor("referendum", label, 0.0, reason, tuple(figures), warning=True, strong=True)
        score = 100.0 if leave <= 50 else 60.0
        side = "a Remain-majority" if leave <= 50 else "a narrowly Leave"
        reason = (
            f"You voted Remain and {seat.name} voted {pct(leave)} Leave ({basis}): {side} seat, aligned with your vote."
        )
        return Factor("referendum", label, score, reason, tuple(figures))
    reason = (
        f"No Leave or Remain vote to compare (you {STANCE_LABELS[candidate.stance]}), so alignment is not scored; "
        f"{seat.name} voted {pct(leave)} Leave ({basis})."
    )
    return Factor("referendum", label, None, reason, tuple(figures))


def winnability_factor(seat: SeatFacts, t: Thresholds) -> Factor:
    """Held (safe or marginal), target (second, swing needed) or long shot, from the latest result."""
    label = "Winnability"
    party = party_name(t.party)
    result = seat.latest
    if result is None:
        return Factor("winnability", label, None, f"There is no result for {seat.name} on these boundaries.")
    election = ELECTION_NAMES.get(result.election, result.election)
    share = result.shares.get(t.party)
    winner_share = result.shares.get(result.winner)
    figures = [
        ("Election", election),
        (
            "Winner",
            f"{party_name(result.winner)} ({pct(winner_share)})"
            if winner_share is not None
            else party_name(result.winner),
        ),
        ("Second", party_name(result.second)),
        ("Majority", pct(result.majority_pct)),
        (f"{party} share", pct(share)),
    ]
    if result.winner == t.party:
        if result.majority_pct >= t.safe_majority_pct:
            reason = f"{party} holds {seat.name} with a {pct(result.majority_pct)} majority ({election}): a safe seat."
            return Factor("winnability", label, 100.0, reason, tuple(figures))
        reason = (
            f"{party} holds {seat.name} with a {pct(result.majority_pct)} majority ({election}), under "
            f"{t.safe_majority_pct:g}%: a marginal seat to defend."
        )
        return Factor("winnability", label, 75.0, reason, tuple(figures))
    swing = result.majority_pct / 2
    figures.append(("Swing needed", pct(swing)))
    if result.second == t.party:
        if swing <= t.target_max_swing_pct:
            score = round(70.0 - 40.0 * swing / max(t.target_max_swing_pct, 0.1), 1)
            reason = (
                f"{party} came second to {party_name(result.winner)} in {seat.name} ({election}) and needs a "
                f"{pct(swing)} swing: a target seat."
            )
            return Factor("winnability", label, score, reason, tuple(figures))
        reason = (
            f"{party} came second to {party_name(result.winner)} in {seat.name} ({election}) but needs a "
            f"{pct(swing)} swing, over {t.target_max_swing_pct:g}%: a long shot."
        )
        return Factor("winnability", label, 20.0, reason, tuple(figures))
    if not share:
        reason = f"{party} did not stand in {seat.name} ({election}): no base to build on."
        return Factor("winnability", label, 0.0, reason, tuple(figures), warning=True)
    reason = (
        f"{party} was neither first nor second in {seat.name} ({election}), with {pct(share)} of the vote: a long shot."
    )
    return Factor("winnability", label, 10.0, reason, tuple(figures))


@lru_cache(maxsize=1024)
def _word(text: str) -> re.Pattern:
    return re.compile(r"\b" + re.escape(text.strip().casefold()) + r"\b")


@dataclass(frozen=True)
class _PreparedTies:
    """A candidate's ties indexed once, so that checking 650 seats does no repeated string work."""

    by_code: Mapping[str, tuple[int, ...]]
    by_seat_name: Mapping[str, tuple[int, ...]]
    by_borough: tuple[tuple[re.Pattern, tuple[int, ...]], ...]
    by_region: Mapping[str, tuple[int, ...]]
    communities: tuple[str, ...]
    languages: tuple[tuple[str, re.Pattern], ...]
    home_borough: re.Pattern | None
    home_region: str | None


def _group(pairs) -> dict:
    out: dict = {}
    for key, index in pairs:
        if key:
            out.setdefault(key, []).append(index)
    return {key: tuple(value) for key, value in out.items()}


def _prepare(candidate: CandidateFacts) -> _PreparedTies:
    ties = candidate.ties
    boroughs = _group((tie.borough.strip().casefold() if tie.borough else None, i) for i, tie in enumerate(ties))
    return _PreparedTies(
        by_code=_group((tie.seat_code, i) for i, tie in enumerate(ties)),
        by_seat_name=_group(
            (tie.seat_name.strip().casefold() if tie.seat_name else None, i) for i, tie in enumerate(ties)
        ),
        by_borough=tuple((_word(text), indexes) for text, indexes in boroughs.items() if text),
        by_region=_group((tie.region.strip().casefold() if tie.region else None, i) for i, tie in enumerate(ties)),
        communities=tuple((tie.community or "").casefold() for tie in ties),
        languages=tuple((lang, _word(lang)) for lang in candidate.languages if lang.strip()),
        home_borough=_word(candidate.home_borough)
        if candidate.home_borough and candidate.home_borough.strip()
        else None,
        home_region=candidate.home_region.strip().casefold() if candidate.home_region else None,
    )


def _in_seat_name(pattern: re.Pattern, seat_text: str) -> bool:
    return pattern.search(seat_text) is not None


def local_ties_factor(candidate: CandidateFacts, seat: SeatFacts, prepared: _PreparedTies | None = None) -> Factor:
    """Home region or borough, verified milestones in the seat or its region, and languages that
    match communities the candidate has worked with there.

    A milestone is in the seat when it names the seat's ONS code, or the same-named seat on the
    other boundaries, or a borough whose name appears (as whole words) in the seat's name or
    county; otherwise it counts for the region it names."""
    label = "Local ties"
    prepared = prepared or _prepare(candidate)
    name_cf = seat.name.casefold()
    # The seat's name and county in one string: a "|" never matches a whole-word pattern's edges.
    seat_text = f"{name_cf} | {seat.county.casefold()}" if seat.county else name_cf
    seat_set = set(prepared.by_code.get(seat.code, ()))
    seat_set.update(prepared.by_seat_name.get(name_cf, ()))
    for pattern, indexes in prepared.by_borough:
        if _in_seat_name(pattern, seat_text):
            seat_set.update(indexes)
    region_cf = seat.region.casefold()
    region_set = set(prepared.by_region.get(region_cf, ())) - seat_set
    in_seat = sorted(seat_set)
    in_region = sorted(region_set)
    home_borough = prepared.home_borough is not None and _in_seat_name(prepared.home_borough, seat_text)
    home_region = prepared.home_region == region_cf
    nearby = in_seat + in_region
    languages = sorted(
        {
            lang
            for lang, pattern in prepared.languages
            if any(prepared.communities[i] and pattern.search(prepared.communities[i]) for i in nearby)
        }
    )
    score = 0.0
    parts = []
    if in_seat:
        score += 60.0 if len(in_seat) >= 3 else 45.0
        parts.append(f"{len(in_seat)} verified milestone{'s' if len(in_seat) != 1 else ''} in the seat")
    if home_borough:
        score += 30.0
        parts.append(f"your home borough ({candidate.home_borough}) is in it")
    if home_region:
        score += 20.0
        parts.append(f"you live in the region ({seat.region})")
    if in_region:
        score += min(20.0, 10.0 * len(in_region))
        parts.append(
            f"{len(in_region)} verified milestone{'s' if len(in_region) != 1 else ''} elsewhere in {seat.region}"
        )
    if languages:
        score += 10.0
        parts.append(f"you speak {', '.join(languages)}, used by communities you have worked with here")
    score = min(score, 100.0)
    figures = (
        ("Home region", candidate.home_region or "not given"),
        ("Home borough", candidate.home_borough or "not given"),
        ("Verified milestones in the seat", str(len(in_seat))),
        (f"Verified milestones elsewhere in {seat.region}", str(len(in_region))),
        ("Languages you speak", ", ".join(candidate.languages) or "none listed"),
    )
    if not parts:
        reason = (
            f"No local ties to {seat.name} on record: you do not live in {seat.region} and have no verified "
            "milestones there."
        )
        return Factor("local_ties", label, 0.0, reason, figures, warning=True)
    reason = f"Ties to {seat.name}: " + "; ".join(parts) + "."
    return Factor("local_ties", label, score, reason, figures)


def context_factor(seat: SeatFacts, medians: Medians) -> Factor:
    """BME and young-adult shares beside the national median: shown, never scored."""
    figures = (
        ("Minority ethnic (BME) share", f"{pct(seat.bme_pct)} (national median {pct(medians.bme_pct)})"),
        (
            f"Aged {seat.young_adult_band}",
            f"{pct(seat.young_adult_pct)} (national median {pct(medians.young_adult_pct)})",
        ),
        ("Aged 65 and over", pct(seat.age_65plus_pct)),
    )
    if seat.bme_pct is None:
        reason = f"Context only, not scored: there are no census figures for {seat.name}."
    else:
        reason = (
            f"Context only, not scored: {pct(seat.bme_pct)} of residents are from minority ethnic groups "
            f"(national median {pct(medians.bme_pct)}) and {pct(seat.young_adult_pct)} are aged {seat.young_adult_band} "
            f"(median {pct(medians.young_adult_pct)})."
        )
    return Factor("context", "Context (not scored)", None, reason, figures)


# -- The check -------------------------------------------------------------------------------


def band_for(factors: Iterable[Factor]) -> tuple[str, float]:
    """The band and overall score. A strong warning (referendum misalignment) makes the fit
    poor whatever else; any other warning caps it at caution; otherwise the weighted mean of the
    scored factors decides: good from 60, caution from 35, else poor."""
    factors = list(factors)
    scored = [(f, WEIGHTS[f.name]) for f in factors if f.score is not None and f.name in WEIGHTS]
    total_weight = sum(w for _, w in scored)
    score = round(sum(f.score * w for f, w in scored) / total_weight, 1) if total_weight else 0.0
    return _band(score, any(f.strong for f in factors), any(f.warning for f in factors)), score


def _band(score: float, strong: bool, warned: bool) -> str:
    """A strong warning makes it poor; otherwise the score decides, and a warning caps it at
    caution."""
    if strong:
        return "poor"
    band = "good" if score >= GOOD_FROM else "caution" if score >= CAUTION_FROM else "poor"
    return "caution" if band == "good" and warned else band


def check(
    candidate: CandidateFacts,
    seat: SeatFacts,
    thresholds: Thresholds,
    medians: Medians,
    prepared: _PreparedTies | None = None,
) -> FitResult:
    """The full check of one candidate against one seat. ``prepared`` (from ``rank``) saves
    indexing the candidate's ties again for every seat."""
    factors = (
        referendum_factor(candidate, seat, thresholds),
        winnability_factor(seat, thresholds),
        local_ties_factor(candidate, seat, prepared),
        context_factor(seat, medians),
    )
    band, score = band_for(factors)
    warnings = tuple(f.reason for f in factors if f.warning)
    return FitResult(band=band, score=score, factors=factors, warnings=warnings)


BAND_ORDER = {band: i for i, band in enumerate(BANDS)}


# -- Ranking every seat ----------------------------------------------------------------------
#
# A ranking gives the same results as ``check`` run on every seat (a test compares them), with
# less work. The referendum, winnability and context factors depend on the seat, the stance and
# the thresholds only, never on anything else about the candidate: ``prepare_seats`` works them
# out once for every seat of a boundary set (the services keep them beside the seat figures), so
# that ranking a candidate only counts their local ties, seat by seat, and sorts. The sentences
# of the local-ties factor are written only for the rows that are read (see ``RankedFit``).


@dataclass(frozen=True)
class SeatBase:
    """What a check of one seat needs that is the same for every candidate of one stance."""

    seat: SeatFacts
    referendum: Factor
    winnability: Factor
    name_cf: str
    # The seat's name and county, casefolded, as ``local_ties_factor`` matches boroughs in them.
    seat_text: str
    region_cf: str
    # The weighted scores of the scored factors before local ties, in ``band_for``'s order, and
    # the total weight with local ties added (local ties is always scored).
    terms: tuple[float, ...]
    total_weight: float
    strong: bool
    warned: bool
    # The band and score when the candidate has no tie at all to the seat (most seats).
    untied: tuple[str, float]


def _band_from(
    terms: tuple[float, ...], total_weight: float, strong: bool, warned: bool, ties_score: float, ties_warning: bool
) -> tuple[str, float]:
    """``band_for`` of a seat's factors (``SeatBase``) with a local-ties factor of this score and
    warning, computed in the same order (so the same floating-point figures)."""
    score = round(sum((*terms, ties_score * WEIGHTS["local_ties"])) / total_weight, 1)
    return _band(score, strong, warned or ties_warning), score


def prepare_seat(seat: SeatFacts, stance: str, thresholds: Thresholds) -> SeatBase:
    """The factors of one seat that do not depend on who the candidate is, only on the stance.
    The context factor (never scored, never a warning) is written only when a row is read."""
    factors = (referendum_factor(CandidateFacts(stance=stance), seat, thresholds), winnability_factor(seat, thresholds))
    scored = [(f, WEIGHTS[f.name]) for f in factors if f.score is not None]
    terms = tuple(f.score * w for f, w in scored)
    total_weight = sum((*(w for _, w in scored), WEIGHTS["local_ties"]))
    strong = any(f.strong for f in factors)
    warned = any(f.warning for f in factors)
    name_cf = seat.name.casefold()
    return SeatBase(
        seat=seat,
        referendum=factors[0],
        winnability=factors[1],
        name_cf=name_cf,
        seat_text=f"{name_cf} | {seat.county.casefold()}" if seat.county else name_cf,
        region_cf=seat.region.casefold(),
        terms=terms,
        total_weight=total_weight,
        strong=strong,
        warned=warned,
        # No ties: a local-ties score of 0 with its warning.
        untied=_band_from(terms, total_weight, strong, warned, 0.0, True),
    )


@dataclass(frozen=True)
class PreparedSeats:
    """Every seat of a ranking prepared for one stance, with look-ups by code, name and region."""

    stance: str
    thresholds: Thresholds
    medians: Medians
    bases: tuple[SeatBase, ...]
    by_code: Mapping[str, tuple[int, ...]]
    by_name: Mapping[str, tuple[int, ...]]
    by_region: Mapping[str, tuple[int, ...]]
    # Every seat's ``seat_text`` on one line each, and where each line starts: a whole-word
    # borough pattern is searched once over all of them (a pattern without a line break never
    # matches across lines). None when a seat's text has a line break of its own.
    text: str | None
    starts: tuple[int, ...]

    def only(self, seat_ids: Iterable[int]) -> PreparedSeats:
        """The same, keeping only the seats with these ids (a filtered ranking)."""
        wanted = set(seat_ids)
        return _index(self.stance, self.thresholds, self.medians, [b for b in self.bases if b.seat.seat_id in wanted])


def _index(stance: str, thresholds: Thresholds, medians: Medians, bases: list[SeatBase]) -> PreparedSeats:
    starts = []
    at = 0
    for base in bases:
        starts.append(at)
        at += len(base.seat_text) + 1
    return PreparedSeats(
        stance=stance,
        thresholds=thresholds,
        medians=medians,
        bases=tuple(bases),
        by_code=_group((b.seat.code, i) for i, b in enumerate(bases)),
        by_name=_group((b.name_cf, i) for i, b in enumerate(bases)),
        by_region=_group((b.region_cf, i) for i, b in enumerate(bases)),
        text=None if any("\n" in b.seat_text for b in bases) else "\n".join(b.seat_text for b in bases),
        starts=tuple(starts),
    )


def prepare_seats(seats: Iterable[SeatFacts], stance: str, thresholds: Thresholds, medians: Medians) -> PreparedSeats:
    """The candidate-independent part of checking every seat for this stance: the same for every
    candidate who gives it (no personal data in it), so it may be kept and shared."""
    if stance not in STANCES:
        raise ValueError(f"unknown stance {stance!r}")
    return _index(stance, thresholds, medians, [prepare_seat(seat, stance, thresholds) for seat in seats])


def _seats_matching(pattern: re.Pattern, seats: PreparedSeats) -> set[int]:
    """The indexes of the seats whose name or county contains the whole-word pattern."""
    if seats.text is None or "\n" in pattern.pattern:
        return {i for i, b in enumerate(seats.bases) if pattern.search(b.seat_text)}
    starts = seats.starts
    return {bisect_right(starts, m.start()) - 1 for m in pattern.finditer(seats.text)}


class RankedFit:
    """One seat's result in a ranking: the band and score at once; the factors and warnings (the
    same as ``check`` gives) written when first read. Equal to the ``FitResult`` of ``check``."""

    __slots__ = ("band", "score", "_base", "_candidate", "_prepared", "_medians", "_full")

    def __init__(
        self,
        band: str,
        score: float,
        base: SeatBase,
        candidate: CandidateFacts,
        prepared: _PreparedTies,
        medians: Medians,
    ):
        self.band = band
        self.score = score
        self._base = base
        self._candidate = candidate
        self._prepared = prepared
        self._medians = medians
        self._full: FitResult | None = None

    def result(self) -> FitResult:
        """The full ``FitResult``, as ``check`` gives it."""
        if self._full is None:
            base = self._base
            factors = (
                base.referendum,
                base.winnability,
                local_ties_factor(self._candidate, base.seat, self._prepared),
                context_factor(base.seat, self._medians),
            )
            self._full = FitResult(
                band=self.band,
                score=self.score,
                factors=factors,
                warnings=tuple(f.reason for f in factors if f.warning),
            )
        return self._full

    @property
    def factors(self) -> tuple[Factor, ...]:
        return self.result().factors

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.result().warnings

    def factor(self, name: str) -> Factor:
        return self.result().factor(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RankedFit):
            other = other.result()
        if isinstance(other, FitResult):
            return self.result() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RankedFit(band={self.band!r}, score={self.score!r}, seat={self._base.seat.code!r})"


def _speaking_ties(p: _PreparedTies) -> frozenset[int]:
    """The milestones whose community names a language the candidate speaks (as whole words)."""
    return frozenset(
        i for i, text in enumerate(p.communities) if text and any(pattern.search(text) for _, pattern in p.languages)
    )


def _ties_summary(
    base: SeatBase, p: _PreparedTies, speaking: frozenset[int], seat_set: set[int], home_borough: bool
) -> tuple[float, bool]:
    """The score and warning of ``local_ties_factor`` (same rules, no sentences), given the
    candidate's milestones in the seat (by code, name or borough), whether their home borough
    is in it, and ``_speaking_ties``."""
    region_set = set(p.by_region.get(base.region_cf, ())) - seat_set
    home_region = p.home_region == base.region_cf
    score = 0.0
    if seat_set:
        score += 60.0 if len(seat_set) >= 3 else 45.0
    if home_borough:
        score += 30.0
    if home_region:
        score += 20.0
    if region_set:
        score += min(20.0, 10.0 * len(region_set))
    if speaking and not (speaking.isdisjoint(seat_set) and speaking.isdisjoint(region_set)):
        score += 10.0
    if not (seat_set or home_borough or home_region or region_set or score):
        return 0.0, True
    return min(score, 100.0), False


def rank_prepared(candidate: CandidateFacts, seats: PreparedSeats) -> list[tuple[SeatFacts, RankedFit]]:
    """Every prepared seat checked for the candidate, best first: by band, then score, then name.
    The candidate's stance must be the one the seats were prepared for."""
    if candidate.stance != seats.stance:
        raise ValueError("the seats were prepared for another stance")
    p = _prepare(candidate)
    speaking = _speaking_ties(p)
    bases = seats.bases
    # The seats the candidate may have a tie to; every other seat has none.
    tied: dict[int, set[int]] = {}
    for code, indexes in p.by_code.items():
        for i in seats.by_code.get(code, ()):
            tied.setdefault(i, set()).update(indexes)
    for name, indexes in p.by_seat_name.items():
        for i in seats.by_name.get(name, ()):
            tied.setdefault(i, set()).update(indexes)
    for pattern, indexes in p.by_borough:
        for i in _seats_matching(pattern, seats):
            tied.setdefault(i, set()).update(indexes)
    home = _seats_matching(p.home_borough, seats) if p.home_borough is not None else set()
    for i in home:
        tied.setdefault(i, set())
    for region in {*p.by_region, p.home_region}:
        for i in seats.by_region.get(region, ()) if region else ():
            tied.setdefault(i, set())
    rows = []
    for i, base in enumerate(bases):
        if i in tied:
            ties_score, ties_warning = _ties_summary(base, p, speaking, tied[i], i in home)
            band, score = _band_from(base.terms, base.total_weight, base.strong, base.warned, ties_score, ties_warning)
        else:
            band, score = base.untied
        rows.append((BAND_ORDER[band], -score, base.seat.name, i, band, score))
    rows.sort()
    medians = seats.medians
    return [
        (bases[i].seat, RankedFit(band, score, bases[i], candidate, p, medians)) for _, _, _, i, band, score in rows
    ]


def rank(
    candidate: CandidateFacts, seats: Iterable[SeatFacts], thresholds: Thresholds, medians: Medians
) -> list[tuple[SeatFacts, RankedFit]]:
    """Every seat checked, best first: by band, then score, then name. Each result equals
    ``check(candidate, seat, thresholds, medians)``."""
    return rank_prepared(candidate, prepare_seats(seats, candidate.stance, thresholds, medians))


def national_medians(seats: Iterable[SeatFacts]) -> Medians:
    """Medians over the seats that have the figure (NI seats have no census figures)."""
    seats = list(seats)

    def med(values):
        values = [v for v in values if v is not None]
        return round(statistics.median(values), 1) if values else None

    return Medians(
        bme_pct=med(s.bme_pct for s in seats),
        young_adult_pct=med(s.young_adult_pct for s in seats),
        leave_pct=med(s.leave_pct for s in seats),
    )
