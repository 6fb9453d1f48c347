"""Reading and checking the seat data files. Plain functions: no Flask import.

Every cell of both files is checked before anything is written: types, ranges, party codes,
regions, the number of rows and the uniqueness of codes. A file with any problem is refused
with the file, the line and the column at fault (``SeatDataError``); the caller writes only a
directory that passed, in one transaction (see ``d2w.seats.services.import_seats``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from d2w.core.regions import canonical_region
from d2w.seats.models import CONSTITUENCY_TYPES, COUNTRIES, LEAVE_BASES, NOTIONAL_ELECTIONS, PARTIES

FILE_2010 = "constituencies_2010.csv"
FILE_2024 = "constituencies_2024.csv"
EXPECTED_ROWS = 650
MAX_PROBLEMS_SHOWN = 20
# Rounding tolerances: shares are rounded to 2 dp, census shares to 3 dp (Scotland's 2022
# census groups differ from its total by up to 0.02 pp after disclosure control).
SHARE_SUM_TOLERANCE = 0.1
ETHNIC_SUM_TOLERANCE = 0.05
TURNOUT_TOLERANCE = 0.02

CENSUS_SOURCES_2024 = ("ONS Census 2021", "NRS Scotland's Census 2022")
CENSUS_SOURCE_2011 = "Census 2011 (ONS and NRS, via the BES)"

RESULT_FIELDS = ("winner", "winner_mp", "second", "majority", "majority_pct", "electorate", "valid_votes")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class SeatDataError(ValueError):
    """The seat data were refused; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s)")
        super().__init__("The seat data were not imported:\n" + "\n".join(shown))


@dataclass
class ParsedResult:
    election: str
    values: dict  # SeatResult columns (not seat_id)
    shares: dict[str, float]  # party code -> share of valid votes (%)


@dataclass
class ParsedSeat:
    line: int
    values: dict  # Seat columns
    results: list[ParsedResult] = field(default_factory=list)


@dataclass
class ParsedFile:
    boundary_set: str
    file: str
    seats: list[ParsedSeat]


# ---------------------------------------------------------------------------------------------
# Cells


class _Row:
    """One row's cells, recording a Problem for every cell that does not parse."""

    def __init__(self, file: str, line: int, cells: dict[str, str], problems: list[Problem]):
        self.file, self.line, self.cells, self.problems = file, line, cells, problems

    def fail(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, column, message))

    def problems_at(self, column: str) -> bool:
        """Whether this cell already has a problem (so that it is reported once)."""
        return any(p.line == self.line and p.column == column and p.file == self.file for p in self.problems)

    def raw(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def text(self, column: str, *, max_length: int, required: bool = True) -> str | None:
        value = " ".join(self.raw(column).split())
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        if len(value) > max_length:
            self.fail(column, f"is longer than {max_length} characters")
            return None
        return value

    def choice(self, column: str, allowed, *, required: bool = True) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        if value not in allowed:
            self.fail(column, f"“{value[:40]}” is not one of: {', '.join(allowed)}")
            return None
        return value

    def party(self, column: str) -> str | None:
        return self.choice(column, PARTIES)

    def number(self, column: str, *, low: float = 0.0, high: float = 100.0, required: bool = True) -> float | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(column, f"“{value[:40]}” is not a number")
            return None
        if number != number or not (low <= number <= high):  # NaN, inf, out of range
            self.fail(column, f"{value} is not between {low:g} and {high:g}")
            return None
        return number

    def pct(self, column: str, *, required: bool = True) -> float | None:
        return self.number(column, required=required)

    def integer(self, column: str, *, low: int = 0, required: bool = True) -> int | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        if not re.fullmatch(r"\d{1,9}", value):
            self.fail(column, f"“{value[:40]}” is not a whole number")
            return None
        number = int(value)
        if number < low:
            self.fail(column, f"{value} is less than {low}")
            return None
        return number


# ---------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class Election:
    code: str  # "2015", "2019n", ...
    prefix: str  # "ge2015_"
    has_mp: bool
    has_votes: bool  # valid votes and turnout
    has_result: bool  # the result text ("Lab gain from Con")


@dataclass(frozen=True)
class FileSpec:
    file: str
    boundary_set: str
    code_pattern: str
    columns: tuple[str, ...]
    elections: tuple[Election, ...]
    read_seat: Callable[[_Row], dict]


def _census(row: _Row, year: str, young: str) -> dict:
    values = {
        "population": row.integer(f"population_{year}", low=1, required=False),
        "bme_pct": row.pct(f"bme_pct_{year}", required=False),
        "asian_pct": row.pct(f"asian_pct_{year}", required=False),
        "black_pct": row.pct(f"black_pct_{year}", required=False),
        "mixed_pct": row.pct(f"mixed_pct_{year}", required=False),
        "other_ethnic_pct": row.pct(f"other_ethnic_pct_{year}", required=False),
        "young_adult_pct": row.pct(young, required=False),
        "age_65plus_pct": row.pct(f"pct_age_65plus_{year}", required=False),
    }
    return values


def _check_census(row: _Row, values: dict, year: str, columns: dict[str, str]) -> None:
    """Census figures: all present (GB) or all empty (NI, where none were found)."""
    present = {name: values[name] is not None for name in columns}
    ni = values.get("country") == "Northern Ireland"
    for name, column in columns.items():
        if ni and present[name]:
            row.fail(column, "must be empty for a Northern Ireland seat (no NI census data by constituency)")
        elif not ni and not present[name] and not row.problems_at(column):
            row.fail(column, "is empty; every GB seat has census figures")
    groups = [values[g] for g in ("asian_pct", "black_pct", "mixed_pct", "other_ethnic_pct")]
    if (
        values["bme_pct"] is not None
        and None not in groups
        and abs(sum(groups) - values["bme_pct"]) > ETHNIC_SUM_TOLERANCE
    ):
        row.fail(
            f"bme_pct_{year}",
            f"{values['bme_pct']:g} is not the sum of the Asian, Black, Mixed and Other shares ({sum(groups):.3f})",
        )


def _seat_2010(row: _Row) -> dict:
    values = {
        "name": row.text("name", max_length=100),
        "country": row.choice("country", COUNTRIES),
        "region": _region(row),
        "county": row.text("county", max_length=60, required=False),
        "constituency_type": row.choice("constituency_type", CONSTITUENCY_TYPES),
        "leave_pct": row.pct("leave_2016_pct"),
        "leave_estimate_pct": row.pct("leave_2016_hanretty_est_pct", required=False),
        "leave_known_pct": row.pct("leave_2016_known_pct", required=False),
        "leave_basis": row.choice("leave_2016_basis", LEAVE_BASES),
        **_census(row, "2011", "pct_age_18_29_2011"),
        "white_british_pct": row.pct("white_british_pct_2011", required=False),
        "young_adult_band": "18–29",
    }
    bme_pop = row.integer("bme_pop_2011", required=False)
    census = {
        "population": "population_2011",
        "bme_pct": "bme_pct_2011",
        "asian_pct": "asian_pct_2011",
        "black_pct": "black_pct_2011",
        "mixed_pct": "mixed_pct_2011",
        "other_ethnic_pct": "other_ethnic_pct_2011",
        "white_british_pct": "white_british_pct_2011",
        "young_adult_pct": "pct_age_18_29_2011",
        "age_65plus_pct": "pct_age_65plus_2011",
    }
    _check_census(row, values, "2011", census)
    if values["population"] is not None and values["bme_pct"] is not None:
        expected = values["population"] * values["bme_pct"] / 100
        if bme_pop is None or abs(bme_pop - expected) > 1:
            row.fail("bme_pop_2011", f"should be population_2011 × bme_pct_2011 ÷ 100 (about {expected:.0f})")
    ni = values["country"] == "Northern Ireland"
    if values["leave_basis"] is not None:
        if ni != (values["leave_basis"] == "counted_by_constituency_ni"):
            row.fail("leave_2016_basis", "counted_by_constituency_ni is the basis of every NI seat, and only of those")
        known = values["leave_basis"] in ("known_bbc_rosenbaum", "known_council", "counted_by_constituency_ni")
        if known and values["leave_known_pct"] != values["leave_pct"]:
            row.fail("leave_2016_known_pct", "must equal leave_2016_pct when the figure used is the known one")
        if values["leave_basis"] == "estimate" and values["leave_estimate_pct"] != values["leave_pct"]:
            row.fail("leave_2016_hanretty_est_pct", "must equal leave_2016_pct when the figure used is the estimate")
    if not ni and values["leave_estimate_pct"] is None and not row.problems_at("leave_2016_hanretty_est_pct"):
        row.fail("leave_2016_hanretty_est_pct", "is empty; every GB seat has an estimate")
    values["census_source"] = CENSUS_SOURCE_2011 if values["population"] is not None else None
    return values


def _seat_2024(row: _Row) -> dict:
    leave = row.pct("leave_2016_hanretty_est_pct", required=False)
    values = {
        "name": row.text("name", max_length=100),
        "country": row.choice("country", COUNTRIES),
        "region": _region(row),
        "county": None,
        "constituency_type": row.choice("constituency_type", CONSTITUENCY_TYPES),
        "leave_pct": leave,
        "leave_estimate_pct": leave,
        "leave_known_pct": None,
        "leave_basis": "estimate" if leave is not None else None,
        **_census(row, "2021", "pct_age_20_29_2021"),
        "white_british_pct": None,
        "young_adult_band": "20–29",
        "census_source": row.choice("census_2021_source", CENSUS_SOURCES_2024, required=False),
    }
    census = {
        "population": "population_2021",
        "bme_pct": "bme_pct_2021",
        "asian_pct": "asian_pct_2021",
        "black_pct": "black_pct_2021",
        "mixed_pct": "mixed_pct_2021",
        "other_ethnic_pct": "other_ethnic_pct_2021",
        "young_adult_pct": "pct_age_20_29_2021",
        "age_65plus_pct": "pct_age_65plus_2021",
        "census_source": "census_2021_source",
    }
    _check_census(row, values, "2021", census)
    ni = values["country"] == "Northern Ireland"
    if ni and leave is not None:
        row.fail("leave_2016_hanretty_est_pct", "must be empty for a Northern Ireland seat (no 2024-boundary figure)")
    elif not ni and leave is None and not row.problems_at("leave_2016_hanretty_est_pct"):
        row.fail("leave_2016_hanretty_est_pct", "is empty; every GB seat has an estimate")
    return values


def _region(row: _Row) -> str | None:
    raw = row.raw("region")
    if not raw:
        row.fail("region", "is empty")
        return None
    region = canonical_region(raw)
    if region is None:
        row.fail("region", f"“{raw[:40]}” is not a UK nation or region")
    return region


def _result(row: _Row, election: Election, share_columns: dict[str, str]) -> ParsedResult:
    p = election.prefix
    values = {
        "election": election.code,
        "notional": election.code in NOTIONAL_ELECTIONS,
        "winner": row.party(f"{p}winner"),
        "winner_mp": row.text(f"{p}winner_mp", max_length=100) if election.has_mp else None,
        "second": row.party(f"{p}second"),
        "majority": row.integer(f"{p}majority"),
        "majority_pct": row.pct(f"{p}majority_pct"),
        "electorate": row.integer(f"{p}electorate", low=1),
        "valid_votes": row.integer(f"{p}valid_votes", low=1) if election.has_votes else None,
        "turnout_pct": row.pct(f"{p}turnout_pct") if election.has_votes else None,
        "result": row.text(f"{p}result", max_length=60) if election.has_result else None,
    }
    shares = {party: row.pct(column) for party, column in share_columns.items()}
    if values["winner"] and values["winner"] == values["second"]:
        row.fail(f"{p}second", "is the same party as the winner")
    valid, majority, electorate = values["valid_votes"], values["majority"], values["electorate"]
    if valid is not None and majority is not None and majority > valid:
        row.fail(f"{p}majority", f"{majority} is more than the valid votes ({valid})")
    if valid is not None and electorate is not None:
        if valid > electorate:
            row.fail(f"{p}valid_votes", f"{valid} is more than the electorate ({electorate})")
        elif (
            values["turnout_pct"] is not None
            and abs(valid / electorate * 100 - values["turnout_pct"]) > TURNOUT_TOLERANCE
        ):
            row.fail(f"{p}turnout_pct", f"{values['turnout_pct']:g} is not valid votes ÷ electorate × 100")
    if None not in shares.values():
        total = sum(shares.values())
        if abs(total - 100) > SHARE_SUM_TOLERANCE:
            row.fail(f"{p}*_pct", f"the party shares add up to {total:.2f}, not 100")
    return ParsedResult(election.code, values, {k: v for k, v in shares.items() if v is not None})


def _share_columns(columns: tuple[str, ...], election: Election) -> dict[str, str]:
    out = {}
    for column in columns:
        if column.startswith(election.prefix) and column.endswith("_pct"):
            party = column[len(election.prefix) : -len("_pct")]
            if party not in ("majority", "turnout"):
                out[party] = column
    return out


def _header(line: str) -> tuple[str, ...]:
    return tuple(line.split(","))


# The headers exactly as in the files.
COLUMNS_2010 = _header(
    "ons_code,name,country,region,county,constituency_type,leave_2016_pct,leave_2016_hanretty_est_pct,"
    "leave_2016_known_pct,leave_2016_basis,population_2011,bme_pct_2011,bme_pop_2011,white_british_pct_2011,"
    "asian_pct_2011,black_pct_2011,mixed_pct_2011,other_ethnic_pct_2011,pct_age_18_29_2011,pct_age_65plus_2011,"
    "ge2015_winner,ge2015_winner_mp,ge2015_second,ge2015_majority,ge2015_majority_pct,ge2015_electorate,"
    "ge2015_valid_votes,ge2015_turnout_pct,ge2015_con_pct,ge2015_lab_pct,ge2015_ld_pct,ge2015_ukip_pct,"
    "ge2015_green_pct,ge2015_snp_pct,ge2015_pc_pct,ge2015_dup_pct,ge2015_sf_pct,ge2015_sdlp_pct,ge2015_uup_pct,"
    "ge2015_alliance_pct,ge2015_other_pct,ge2017_winner,ge2017_winner_mp,ge2017_second,ge2017_majority,"
    "ge2017_majority_pct,ge2017_electorate,ge2017_valid_votes,ge2017_turnout_pct,ge2017_result,ge2017_con_pct,"
    "ge2017_lab_pct,ge2017_ld_pct,ge2017_ukip_pct,ge2017_green_pct,ge2017_snp_pct,ge2017_pc_pct,ge2017_dup_pct,"
    "ge2017_sf_pct,ge2017_sdlp_pct,ge2017_uup_pct,ge2017_alliance_pct,ge2017_other_pct,ge2019_winner,"
    "ge2019_winner_mp,ge2019_second,ge2019_majority,ge2019_majority_pct,ge2019_electorate,ge2019_valid_votes,"
    "ge2019_turnout_pct,ge2019_result,ge2019_con_pct,ge2019_lab_pct,ge2019_ld_pct,ge2019_brexit_pct,"
    "ge2019_ukip_pct,ge2019_green_pct,ge2019_snp_pct,ge2019_pc_pct,ge2019_dup_pct,ge2019_sf_pct,ge2019_sdlp_pct,"
    "ge2019_uup_pct,ge2019_alliance_pct,ge2019_other_pct"
)

COLUMNS_2024 = _header(
    "ons_code,name,country,region,constituency_type,leave_2016_hanretty_est_pct,population_2021,bme_pct_2021,"
    "asian_pct_2021,black_pct_2021,mixed_pct_2021,other_ethnic_pct_2021,pct_age_20_29_2021,pct_age_65plus_2021,"
    "census_2021_source,ge2019n_winner,ge2019n_second,ge2019n_majority,ge2019n_majority_pct,ge2019n_electorate,"
    "ge2019n_con_pct,ge2019n_lab_pct,ge2019n_ld_pct,ge2019n_brexit_pct,ge2019n_green_pct,ge2019n_snp_pct,"
    "ge2019n_pc_pct,ge2019n_dup_pct,ge2019n_sf_pct,ge2019n_sdlp_pct,ge2019n_uup_pct,ge2019n_alliance_pct,"
    "ge2019n_other_pct,ge2024_winner,ge2024_winner_mp,ge2024_second,ge2024_result,ge2024_majority,"
    "ge2024_majority_pct,ge2024_electorate,ge2024_valid_votes,ge2024_turnout_pct,ge2024_con_pct,ge2024_lab_pct,"
    "ge2024_ld_pct,ge2024_reform_pct,ge2024_green_pct,ge2024_snp_pct,ge2024_pc_pct,ge2024_dup_pct,ge2024_sf_pct,"
    "ge2024_sdlp_pct,ge2024_uup_pct,ge2024_alliance_pct,ge2024_other_pct"
)

SPECS = (
    FileSpec(
        FILE_2010,
        "2010",
        r"(E14|W07|S14|N06)\d{6}",
        COLUMNS_2010,
        (
            Election("2015", "ge2015_", has_mp=True, has_votes=True, has_result=False),
            Election("2017", "ge2017_", has_mp=True, has_votes=True, has_result=True),
            Election("2019", "ge2019_", has_mp=True, has_votes=True, has_result=True),
        ),
        _seat_2010,
    ),
    FileSpec(
        FILE_2024,
        "2024",
        r"(E14|W07|S14|N05)\d{6}",
        COLUMNS_2024,
        (
            Election("2019n", "ge2019n_", has_mp=False, has_votes=False, has_result=False),
            Election("2024", "ge2024_", has_mp=True, has_votes=True, has_result=True),
        ),
        _seat_2024,
    ),
)


def _read_rows(data: bytes, file: str, problems: list[Problem]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file, None, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for raw in reader:
            if not header:
                header = [h.strip() for h in raw]
            elif any(cell.strip() for cell in raw):
                if len(raw) != len(header):
                    problems.append(Problem(file, line, None, f"has {len(raw)} cells; the header has {len(header)}"))
                else:
                    rows.append((line, dict(zip(header, raw, strict=True))))
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(file, line, None, f"could not be read as CSV ({exc})"))
    return header, rows


def parse_file(data: bytes, spec: FileSpec) -> tuple[ParsedFile, list[Problem]]:
    """Check one file; returns what it holds and every problem found (none: it may be loaded)."""
    problems: list[Problem] = []
    header, rows = _read_rows(data, spec.file, problems)
    if problems:
        return ParsedFile(spec.boundary_set, spec.file, []), problems
    missing = [c for c in spec.columns if c not in header]
    unknown = [c for c in header if c not in spec.columns]
    for column in missing:
        problems.append(Problem(spec.file, 1, column, "is missing from the header"))
    for column in unknown:
        problems.append(Problem(spec.file, 1, column or "(blank)", "is not a column of this file"))
    if len(set(header)) != len(header):
        problems.append(Problem(spec.file, 1, None, "names a column twice"))
    if problems:
        return ParsedFile(spec.boundary_set, spec.file, []), problems
    if len(rows) != EXPECTED_ROWS:
        problems.append(Problem(spec.file, None, None, f"has {len(rows)} seats; expected {EXPECTED_ROWS}"))
    share_columns = {e.code: _share_columns(spec.columns, e) for e in spec.elections}
    for election, columns in share_columns.items():
        for party, column in columns.items():
            if party not in PARTIES:
                problems.append(Problem(spec.file, 1, column, f"“{party}” is not a known party code ({election})"))
    seats: list[ParsedSeat] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        row = _Row(spec.file, line, cells, problems)
        code = row.raw("ons_code")
        if not re.fullmatch(spec.code_pattern, code):
            row.fail("ons_code", f"“{code[:20]}” is not an ONS code of the {spec.boundary_set} boundaries")
        elif code in seen:
            row.fail("ons_code", f"{code} is also on line {seen[code]}")
        else:
            seen[code] = line
        values = {"boundary_set": spec.boundary_set, "ons_code": code, **spec.read_seat(row)}
        seat = ParsedSeat(line, values)
        for election in spec.elections:
            seat.results.append(_result(row, election, share_columns[election.code]))
        seats.append(seat)
    return ParsedFile(spec.boundary_set, spec.file, seats), problems


def load_directory(directory: str | Path) -> list[ParsedFile]:
    """Check both files of a seat data directory; raise SeatDataError if anything is wrong."""
    folder = Path(directory)
    if not folder.is_dir():
        raise SeatDataError([Problem(str(folder), None, None, "is not a directory (set D2W_SEAT_DATA_DIR)")])
    problems: list[Problem] = []
    parsed: list[ParsedFile] = []
    for spec in SPECS:
        path = folder / spec.file
        if not path.is_file():
            problems.append(Problem(spec.file, None, None, f"was not found in {folder}"))
            continue
        result, found = parse_file(path.read_bytes(), spec)
        problems.extend(found)
        parsed.append(result)
    if problems:
        raise SeatDataError(problems)
    return parsed
