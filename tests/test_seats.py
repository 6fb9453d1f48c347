"""Seats: the import of the real seat data (both boundary sets), its checks, and provenance;
the analysis (``flask d2w seats analyse`` and its pure functions) and the shared queries
(filters, medians, look-ups). The pages are tested in test_seats_browser.py.

These tests read the real files from the SEAT_DATA_DIR setting's default
(``../shared/data/seats``); they fail, never skip, when the directory is missing.
"""

from __future__ import annotations

import shutil
import statistics
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from config import load_settings
from d2w.core.extensions import db
from d2w.seats import loader, provenance
from d2w.seats.models import DataSource, Seat, SeatFigureSource, SeatPartyShare, SeatResult

# ---------------------------------------------------------------------------------------------
# The role matrix of the seats routes, in the same shape as MATRIX in test_access.py: every
# signed-in role browses seats and opens a seat's page; only staff (admins too) see the analysis.

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


SEATS_MATRIX: dict = {
    "seats.index": ("GET", "/seats/", row(L, 200, 200, 200, 200)),
    "seats.detail": ("GET", "/seats/{seat}", row(L, 200, 200, 200, 200)),
    "seats.analysis": ("GET", "/seats/analysis", row(L, 403, 403, 200, 200)),
}


def seats_placeholders(app, people) -> dict:
    """The objects SEATS_MATRIX's paths name: {seat} is Aldershot on the 2010 boundaries (needs
    the ``seat_data`` fixture)."""
    with app.app_context():
        seat_id = db.session.scalar(select(Seat.id).where(Seat.boundary_set == "2010", Seat.ons_code == "E14000530"))
    assert seat_id is not None, "seats_placeholders needs the seat_data fixture"
    return {"seat": seat_id}


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers

SEAT_TABLES = ("data_sources", "seat_figure_sources", "seats", "seat_results", "seat_party_shares")


@pytest.fixture(scope="session")
def seat_data_dir() -> Path:
    folder = Path(load_settings("testing", environ={})["SEAT_DATA_DIR"])
    if not all((folder / name).is_file() for name in (loader.FILE_2010, loader.FILE_2024)):
        pytest.fail(
            f"The seat data are missing: expected {loader.FILE_2010} and {loader.FILE_2024} in {folder} "
            "(the SEAT_DATA_DIR default, ../shared/data/seats). The seat tests need the real data.",
            pytrace=False,
        )
    return folder


@pytest.fixture
def run_import(app):
    runner = app.test_cli_runner()

    def _run(folder: Path | None = None):
        args = ["d2w", "seats", "import"] + ([str(folder)] if folder else [])
        return runner.invoke(args=args)

    return _run


@pytest.fixture
def imported(app, seat_data_dir, run_import):
    result = run_import()
    assert result.exit_code == 0, result.output
    return result


def dump(app) -> dict[str, list[tuple]]:
    """Every row of every seat table, in id order."""
    with app.app_context():
        out = {}
        for name in SEAT_TABLES:
            table = db.metadata.tables[name]
            out[name] = [tuple(r) for r in db.session.execute(select(table).order_by(table.c.id))]
        return out


def copy_data(seat_data_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "seats"
    folder.mkdir()
    for name in (loader.FILE_2010, loader.FILE_2024):
        shutil.copyfile(seat_data_dir / name, folder / name)
        (folder / name).chmod(0o644)
    return folder


def set_cell(path: Path, line: int, column: str, value: str) -> str:
    """Change one cell of a CSV (line 1 is the header); returns the old value."""
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    index = rows[0].index(column)
    old = rows[line - 1][index]
    rows[line - 1][index] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return old


# ---------------------------------------------------------------------------------------------
# Import


def test_import_loads_both_boundary_sets(app, imported):
    assert "650 on the 2010 boundaries, 650 on the 2024 boundaries" in imported.output
    with app.app_context():
        by_set = dict(db.session.execute(select(Seat.boundary_set, func.count()).group_by(Seat.boundary_set)).all())
        assert by_set == {"2010": 650, "2024": 650}
        countries = Counter(db.session.execute(select(Seat.boundary_set, Seat.country)).all())
        assert countries == {
            ("2010", "England"): 533,
            ("2010", "Scotland"): 59,
            ("2010", "Wales"): 40,
            ("2010", "Northern Ireland"): 18,
            ("2024", "England"): 543,
            ("2024", "Scotland"): 57,
            ("2024", "Wales"): 32,
            ("2024", "Northern Ireland"): 18,
        }
        elections = dict(
            db.session.execute(select(SeatResult.election, func.count()).group_by(SeatResult.election)).all()
        )
        assert elections == {"2015": 650, "2017": 650, "2019": 650, "2019n": 650, "2024": 650}
        notional = set(db.session.scalars(select(SeatResult.election).where(SeatResult.notional)))
        assert notional == {"2019n"}
        # 13 listed parties (+ brexit in 2019) per result on the 2010 set, 13 on the 2024 set.
        assert db.session.scalar(select(func.count()).select_from(SeatPartyShare)) == 650 * (13 + 13 + 14) + 650 * 26
        assert db.session.scalar(select(func.count()).select_from(DataSource)) == len(provenance.SOURCES) == 17


def test_regions_are_canonical(seat_data, app):
    with app.app_context():
        regions = Counter(db.session.execute(select(Seat.boundary_set, Seat.region)).all())
    # The 2010 file says "East"; both sets use the canonical "East of England".
    assert regions[("2010", "East of England")] == 58
    assert regions[("2024", "East of England")] == 61
    assert not any(region == "East" for _, region in regions)


def test_seat_figures_are_stored_as_given(seat_data, app):
    with app.app_context():
        seat = db.session.scalar(select(Seat).where(Seat.boundary_set == "2010", Seat.ons_code == "E14000530"))
        assert (seat.name, seat.county, seat.constituency_type) == ("Aldershot", "Hampshire", "borough")
        assert (seat.leave_pct, seat.leave_estimate_pct, seat.leave_known_pct) == (57.898, 58.097, 57.898)
        assert seat.leave_basis == "known_bbc_rosenbaum"
        assert (seat.population, seat.bme_pct, seat.white_british_pct) == (103922, 14.467, 81.252)
        assert (seat.young_adult_pct, seat.young_adult_band, seat.age_65plus_pct) == (16.984, "18–29", 12.681)
        ni = db.session.scalar(select(Seat).where(Seat.boundary_set == "2024", Seat.ons_code == "N05000001"))
        assert ni.name == "Belfast East" and ni.population is None and ni.bme_pct is None and ni.leave_pct is None
        assert ni.census_source is None and ni.young_adult_band == "20–29"
        new = db.session.scalar(select(Seat).where(Seat.boundary_set == "2024", Seat.ons_code == "E14001063"))
        assert (new.leave_pct, new.leave_basis, new.census_source) == (57.866, "estimate", "ONS Census 2021")
        result = db.session.scalar(
            select(SeatResult).where(SeatResult.seat_id == new.id, SeatResult.election == "2024")
        )
        assert (result.winner, result.winner_mp, result.second, result.result) == (
            "lab",
            "Alex Baker",
            "con",
            "Lab gain from Con",
        )
        assert (result.majority, result.electorate, result.valid_votes, result.turnout_pct) == (
            5683,
            78553,
            48544,
            61.8,
        )
        shares = dict(
            db.session.execute(
                select(SeatPartyShare.party, SeatPartyShare.share_pct).where(SeatPartyShare.result_id == result.id)
            ).all()
        )
        assert shares["lab"] == 40.71 and shares["reform"] == 16.91 and shares["other"] == 0.58
        notional = db.session.scalar(
            select(SeatResult).where(SeatResult.seat_id == new.id, SeatResult.election == "2019n")
        )
        assert notional.notional and notional.winner_mp is None and notional.valid_votes is None


def test_importing_twice_gives_an_identical_database(app, imported, run_import):
    before = dump(app)
    assert len(before["seats"]) == 1300
    again = run_import()
    assert again.exit_code == 0, again.output
    assert "seats: 0 added, 0 changed, 1300 unchanged" in again.output
    assert "party shares: 0 added, 0 changed, 42900 unchanged" in again.output
    assert dump(app) == before


def test_a_changed_value_is_updated_in_place(app, imported, run_import, seat_data_dir, tmp_path):
    before = dump(app)
    folder = copy_data(seat_data_dir, tmp_path)
    assert set_cell(folder / loader.FILE_2010, 2, "ge2017_winner_mp", "Leo  Docherty MP") == "Leo Docherty"
    result = run_import(folder)
    assert result.exit_code == 0, result.output
    assert "results: 0 added, 1 changed" in result.output
    after = dump(app)
    for table in SEAT_TABLES:
        if table != "seat_results":
            assert after[table] == before[table], table
    changed = [(b, a) for b, a in zip(before["seat_results"], after["seat_results"], strict=True) if a != b]
    assert len(changed) == 1
    old, new = changed[0]
    assert old[0] == new[0]  # same id
    assert "Leo Docherty MP" in new and "Leo Docherty" in old


@pytest.mark.parametrize(
    "file,line,column,value,message",
    [
        (loader.FILE_2010, 17, "bme_pct_2011", "lots", "“lots” is not a number"),
        (loader.FILE_2010, 40, "leave_2016_pct", "140", "140 is not between 0 and 100"),
        (loader.FILE_2010, 100, "ge2017_winner", "labour", "“labour” is not one of"),
        (loader.FILE_2010, 5, "region", "Atlantis", "“Atlantis” is not a UK nation or region"),
        (loader.FILE_2010, 3, "ons_code", "E14000530", "E14000530 is also on line 2"),
        (loader.FILE_2010, 9, "ge2019_majority", "-5", "is not a whole number"),
        (loader.FILE_2024, 300, "ge2024_lab_pct", "", "is empty"),
        (loader.FILE_2024, 650, "ons_code", "N06000001", "is not an ONS code of the 2024 boundaries"),
        (loader.FILE_2024, 12, "ge2024_con_pct", "99", "the party shares add up to"),
        (loader.FILE_2024, 20, "country", "Mercia", "“Mercia” is not one of"),
    ],
)
def test_a_broken_csv_is_refused_with_its_row_and_column(
    app, run_import, seat_data_dir, tmp_path, file, line, column, value, message
):
    """Checked on an empty database to keep the suite quick; the test below shows that a refused
    file leaves an already loaded database exactly as it was."""
    before = dump(app)
    folder = copy_data(seat_data_dir, tmp_path)
    # A harmless change elsewhere too, to show that nothing is half-loaded.
    set_cell(folder / loader.FILE_2010, 2, "name", "Aldershot (changed)")
    set_cell(folder / file, line, column, value)
    result = run_import(folder)
    assert result.exit_code != 0
    where = f"{file}, line {line}, column {column.replace('con_pct', '*_pct')}"
    assert where in result.output, result.output
    assert message in result.output
    assert "not imported" in result.output
    assert dump(app) == before


def test_a_broken_file_leaves_a_loaded_database_unchanged(app, imported, run_import, seat_data_dir, tmp_path):
    before = dump(app)
    folder = copy_data(seat_data_dir, tmp_path)
    set_cell(folder / loader.FILE_2010, 2, "name", "Aldershot (changed)")
    set_cell(folder / loader.FILE_2024, 12, "ge2024_con_pct", "99")
    result = run_import(folder)
    assert result.exit_code != 0
    assert dump(app) == before


def test_a_broken_file_on_an_empty_database_writes_nothing(app, run_import, seat_data_dir, tmp_path):
    folder = copy_data(seat_data_dir, tmp_path)
    set_cell(folder / loader.FILE_2024, 650, "pct_age_65plus_2021", "12.5%")
    result = run_import(folder)
    assert result.exit_code != 0
    assert "constituencies_2024.csv, line 650, column pct_age_65plus_2021: “12.5%” is not a number" in result.output
    assert all(rows == [] for rows in dump(app).values())


def test_a_missing_row_file_or_column_is_refused(app, run_import, seat_data_dir, tmp_path):
    folder = copy_data(seat_data_dir, tmp_path)
    path = folder / loader.FILE_2010
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    header = (folder / loader.FILE_2024).read_text(encoding="utf-8").replace("census_2021_source", "census_source", 1)
    (folder / loader.FILE_2024).write_text(header, encoding="utf-8")
    result = run_import(folder)
    assert result.exit_code != 0
    assert "constituencies_2010.csv: has 649 seats; expected 650" in result.output
    assert "constituencies_2024.csv, line 1, column census_2021_source: is missing from the header" in result.output
    assert "constituencies_2024.csv, line 1, column census_source: is not a column of this file" in result.output
    (folder / loader.FILE_2024).unlink()
    result = run_import(folder)
    assert f"constituencies_2024.csv: was not found in {folder}" in result.output
    result = run_import(tmp_path / "nowhere")
    assert result.exit_code != 0 and "is not a directory" in result.output
    assert all(rows == [] for rows in dump(app).values())


def test_loader_checks_files_without_a_database(seat_data_dir):
    files = loader.load_directory(seat_data_dir)
    assert [(f.boundary_set, len(f.seats)) for f in files] == [("2010", 650), ("2024", 650)]
    data = (seat_data_dir / loader.FILE_2010).read_bytes()
    spec = loader.SPECS[0]
    _, problems = loader.parse_file(data.replace(b"Aldershot,England", b"Aldershot,Englund", 1), spec)
    assert [str(p) for p in problems] == [
        "constituencies_2010.csv, line 2, column country: “Englund” is not one of: England, Scotland, Wales, Northern Ireland"
    ]
    _, problems = loader.parse_file(b"\xff\xfe not text", spec)
    assert "is not UTF-8 text" in str(problems[0])
    _, problems = loader.parse_file(data.replace(b"\n", b'\n"', 1), spec)
    assert problems and problems[0].line == 2


def test_database_constraints_hold_the_ranges(app, imported):
    with app.app_context():
        seat_id = db.session.scalar(select(Seat.id).limit(1))
        for statement in (
            sa.update(Seat).where(Seat.id == seat_id).values(bme_pct=120.0),
            sa.update(Seat).where(Seat.id == seat_id).values(boundary_set="2030"),
            sa.update(Seat).where(Seat.id == seat_id).values(region="East"),
            sa.update(SeatResult).where(SeatResult.seat_id == seat_id).values(winner="labour"),
            sa.update(SeatResult).where(SeatResult.seat_id == seat_id).values(notional=True),
            sa.update(SeatPartyShare).values(share_pct=-1.0),
        ):
            with pytest.raises(sa.exc.IntegrityError):
                db.session.execute(statement)
                db.session.flush()
            db.session.rollback()


# ---------------------------------------------------------------------------------------------
# The figures agree with PROVENANCE.md


def _winners(election: str, boundary_set: str, *where) -> Counter:
    rows = db.session.scalars(
        select(SeatResult.winner)
        .join(Seat, Seat.id == SeatResult.seat_id)
        .where(Seat.boundary_set == boundary_set, SeatResult.election == election, *where)
    )
    return Counter(rows)


def test_seat_totals_match_the_official_results(seat_data, app):
    with app.app_context():
        w2017 = _winners("2017", "2010")
        assert (w2017["con"], w2017["lab"], w2017["snp"], w2017["ld"], w2017["dup"], w2017["sf"]) == (
            317,
            262,
            35,
            12,
            10,
            7,
        )
        w2015 = _winners("2015", "2010")
        assert (w2015["con"], w2015["lab"], w2015["snp"], w2015["ukip"]) == (330, 232, 56, 1)
        w2019 = _winners("2019", "2010")
        assert (w2019["con"], w2019["lab"], w2019["snp"], w2019["ld"]) == (365, 202, 48, 11)
        w2024 = _winners("2024", "2024")
        assert (w2024["lab"], w2024["con"], w2024["ld"], w2024["snp"], w2024["reform"], w2024["tuv"]) == (
            411,
            121,
            72,
            9,
            5,
            1,
        )
        n2019 = _winners("2019n", "2024")
        assert (n2019["con"], n2019["lab"], n2019["snp"], n2019["ld"]) == (372, 200, 48, 8)


def test_high_bme_seats_in_2017_match_provenance_section_6(seat_data, app):
    """PROVENANCE.md section 6: 75 seats (2010 boundaries) with bme_pct ≥ 30; in 2017 Labour
    won 70 and the Conservatives 5 (Harrow East, Hendon, Finchley and Golders Green, Cities of
    London and Westminster, Uxbridge and South Ruislip)."""
    with app.app_context():
        high = (Seat.bme_pct >= 30,)
        assert _winners("2017", "2010", *high) == Counter({"lab": 70, "con": 5})
        con = db.session.execute(
            select(Seat.name, Seat.bme_pct)
            .join(SeatResult, SeatResult.seat_id == Seat.id)
            .where(Seat.boundary_set == "2010", SeatResult.election == "2017", SeatResult.winner == "con", *high)
            .order_by(Seat.bme_pct.desc())
        ).all()
        assert [(name, round(pct, 1)) for name, pct in con] == [
            ("Harrow East", 60.8),
            ("Hendon", 45.1),
            ("Finchley and Golders Green", 33.5),
            ("Cities of London and Westminster", 31.5),
            ("Uxbridge and South Ruislip", 30.2),
        ]
        at_50 = _winners("2017", "2010", Seat.bme_pct >= 50)
        assert at_50 == Counter({"lab": 26, "con": 1})
        # The 75th most diverse seat is Enfield Southgate at 30.04 % (spelt as in Hanretty's sheet).
        last = db.session.execute(
            select(Seat.name, Seat.bme_pct)
            .where(Seat.boundary_set == "2010", Seat.bme_pct.is_not(None))
            .order_by(Seat.bme_pct.desc())
            .offset(74)
        ).first()
        assert last.name == "Enfield, Southgate" and round(last.bme_pct, 2) == 30.04


def test_medians_and_leave_counts_match_provenance(seat_data, app):
    with app.app_context():
        gb = list(
            db.session.scalars(select(Seat.bme_pct).where(Seat.boundary_set == "2010", Seat.bme_pct.is_not(None)))
        )
        assert len(gb) == 632
        assert round(statistics.median(gb), 2) == 5.63
        england = list(
            db.session.scalars(select(Seat.bme_pct).where(Seat.boundary_set == "2010", Seat.country == "England"))
        )
        assert round(statistics.median(england), 2) == 6.86
        under_40 = select(func.count()).where(Seat.boundary_set == "2010", Seat.leave_pct < 40)
        assert db.session.scalar(under_40) == 106
        est_under_40 = select(func.count()).where(Seat.boundary_set == "2010", Seat.leave_estimate_pct < 40)
        assert db.session.scalar(est_under_40) == 97
        croydon = db.session.execute(
            select(SeatResult.majority, SeatResult.winner)
            .join(Seat, Seat.id == SeatResult.seat_id)
            .where(Seat.boundary_set == "2010", Seat.name == "Croydon Central")
            .order_by(SeatResult.election)
        ).all()
        # Con (2015, majority 165) -> Lab (2017, majority 5,652).
        assert [tuple(r) for r in croydon[:2]] == [(165, "con"), (5652, "lab")]


def test_provenance_is_stored_for_every_figure(seat_data, app):
    with app.app_context():
        sources = {s.key: s for s in db.session.scalars(select(DataSource))}
        assert set(sources) == {f"A{i}" for i in range(1, 10)} | {f"B{i}" for i in range(1, 9)}
        assert sources["B5"].licence == "Crown copyright 2024 (in file)"
        assert "CC BY-SA 4.0" in sources["B3"].notes
        assert sources["A4"].licence == "none stated in file (see note L)"
        rows = db.session.scalars(select(SeatFigureSource)).all()
        figures = {(r.boundary_set, r.figure): set() for r in rows}
        for r in rows:
            figures[(r.boundary_set, r.figure)].add(r.source.key)
        assert figures[("2010", "leave_pct")] == {"A1", "A2"}
        assert figures[("2024", "bme_pct")] == {"B3", "B5"}
        for boundary_set in ("2010", "2024"):
            for figure in ("name", "leave_pct", "bme_pct", "young_adult_pct", "age_65plus_pct", "population"):
                assert (boundary_set, figure) in figures, (boundary_set, figure)
        assert {e for (bs, f) in figures if f.startswith("results_") for e in [f[8:]]} == {
            "2015",
            "2017",
            "2019",
            "2019n",
            "2024",
        }
        leave_note = db.session.scalar(
            select(SeatFigureSource.note)
            .where(SeatFigureSource.boundary_set == "2010", SeatFigureSource.figure == "leave_pct")
            .limit(1)
        )
        assert "modelled estimate" in leave_note
    assert "modelled estimates" in provenance.LEAVE_CAVEAT and "Northern Ireland" in provenance.NI_CENSUS_CAVEAT


# ---------------------------------------------------------------------------------------------
# Analysis: `flask d2w seats analyse` and the pure calculations


def _csv_high_bme_2017(seat_data_dir: Path, threshold: float) -> list[dict]:
    """The seats at or above the threshold, counted straight from the CSV (no app code)."""
    import csv

    with (seat_data_dir / loader.FILE_2010).open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["bme_pct_2011"] and float(r["bme_pct_2011"]) >= threshold]
    rows.sort(key=lambda r: (-float(r["bme_pct_2011"]), r["ons_code"]))
    return rows


def test_analyse_2017_at_30_pct_matches_provenance_and_the_csv(seat_data, app, seat_data_dir):
    import json

    result = app.test_cli_runner().invoke(
        args=[
            "d2w",
            "seats",
            "analyse",
            "--boundaries",
            "2010",
            "--election",
            "2017",
            "--bme-threshold",
            "30",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == [
        "boundaries",
        "election",
        "bme_threshold_pct",
        "seats_at_or_above",
        "by_winner",
        "median_bme_pct",
        "seats",
    ]
    assert (data["boundaries"], data["election"], data["bme_threshold_pct"]) == ("2010", "2017", 30.0)
    # PROVENANCE.md section 6: 75 seats, Labour 70, Conservative 5.
    assert data["seats_at_or_above"] == 75
    assert data["by_winner"] == {"lab": 70, "con": 5}
    assert list(data["by_winner"]) == ["lab", "con"]
    expected = _csv_high_bme_2017(seat_data_dir, 30.0)
    assert len(expected) == 75
    assert Counter(r["ge2017_winner"] for r in expected) == Counter(data["by_winner"])
    assert [s["code"] for s in data["seats"]] == [r["ons_code"] for r in expected]
    assert [s["winner"] for s in data["seats"]] == [r["ge2017_winner"] for r in expected]
    assert data["seats"][0] == {"code": "E14000679", "name": "East Ham", "bme_pct": 76.914, "winner": "lab"}
    assert data["seats"][-1]["name"] == "Enfield, Southgate"
    median = statistics.median(float(r["bme_pct_2011"]) for r in expected)
    assert data["median_bme_pct"] == round(median, 3)
    # Stable: the same bytes twice.
    again = app.test_cli_runner().invoke(
        args=[
            "d2w",
            "seats",
            "analyse",
            "--boundaries",
            "2010",
            "--election",
            "2017",
            "--bme-threshold",
            "30",
            "--json",
        ]
    )
    assert again.output == result.output


def test_analyse_prints_a_table_and_refuses_a_bad_election(seat_data, app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["d2w", "seats", "analyse", "--boundaries", "2010", "--election", "2017", "--bme-threshold", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "27 seats on the 2010 boundaries with a BME share of 50% or more" in result.output
    assert "18 without are left out" in result.output
    assert "Labour" in result.output and "Harrow East" in result.output
    bad = runner.invoke(
        args=["d2w", "seats", "analyse", "--boundaries", "2010", "--election", "2024", "--bme-threshold", "30"]
    )
    assert bad.exit_code != 0
    assert "The 2024 election was not held on the 2010 boundaries: choose one of 2015, 2017, 2019." in bad.output
    bad = runner.invoke(
        args=["d2w", "seats", "analyse", "--boundaries", "2024", "--election", "2017", "--bme-threshold", "30"]
    )
    assert "choose one of 2019n, 2024" in bad.output
    bad = runner.invoke(
        args=["d2w", "seats", "analyse", "--boundaries", "2024", "--election", "2024", "--bme-threshold", "130"]
    )
    assert bad.exit_code != 0 and "130" in bad.output
    notional = runner.invoke(
        args=[
            "d2w",
            "seats",
            "analyse",
            "--boundaries",
            "2024",
            "--election",
            "2019n",
            "--bme-threshold",
            "30",
            "--json",
        ]
    )
    assert notional.exit_code == 0, notional.output


def _row(code, bme, leave, winner, share=50.0):
    from d2w.seats.analysis import SeatRow

    return SeatRow(
        id=int(code[-3:]),
        code=code,
        name=f"Seat {code}",
        country="England" if bme is not None else "Northern Ireland",
        region="London",
        bme_pct=bme,
        leave_pct=leave,
        winner=winner,
        majority_pct=10.0,
        winner_share_pct=share,
    )


def test_bme_analysis_is_pure_and_leaves_out_seats_without_census():
    from d2w.seats import analysis

    rows = [
        _row("E00000001", 30.0, 45.0, "con"),
        _row("E00000002", 45.0, 39.9, "lab"),
        _row("E00000003", 45.0, 60.0, "lab", share=None),
        _row("E00000004", 29.999, 50.0, "lab"),
        _row("N00000005", None, 55.0, "dup"),
    ]
    result = analysis.bme_analysis(rows, 30)
    assert [r.code for r in result.seats] == ["E00000002", "E00000003", "E00000001"]  # share desc, then code
    assert result.by_winner == {"lab": 2, "con": 1}
    assert result.median_bme_pct == 45.0
    assert result.seats_with_census == 4 and [r.code for r in result.seats_without_census] == ["N00000005"]
    assert analysis.bme_analysis(rows, 90).median_bme_pct is None
    # Points leave out missing figures.
    points = analysis.bme_points(rows, {"lab": "Labour", "con": "Conservative"})
    assert [p[2] for p in points] == ["Seat E00000001", "Seat E00000002", "Seat E00000004"]
    assert points[0] == (30.0, 50.0, "Seat E00000001", "Conservative")
    table = analysis.leave_table(rows)
    assert table.bands == ["Under 40%", "40% to under 50%", "50% to under 60%", "60% or more"]
    assert table.counts["Under 40%"] == {"lab": 1, "con": 0, "dup": 0}
    assert table.counts["40% to under 50%"]["con"] == 1
    assert table.counts["50% to under 60%"] == {"lab": 1, "con": 0, "dup": 1}
    assert table.counts["60% or more"]["lab"] == 1
    assert table.total == 5 and sum(table.band_totals.values()) == 5
    assert table.party_totals == {"lab": 3, "con": 1, "dup": 1}
    assert analysis.leave_band(40.0) == "40% to under 50%" and analysis.leave_band(100.0) == "60% or more"
    data = analysis.as_json("2010", "2017", result)
    assert data["seats"][0] == {"code": "E00000002", "name": "Seat E00000002", "bme_pct": 45.0, "winner": "lab"}


def test_analysis_rows_give_the_winners_share(seat_data, app):
    from d2w.seats import queries

    with app.app_context():
        rows = {r.code: r for r in queries.analysis_rows("2010", "2017")}
        assert len(rows) == 650
        aldershot = rows["E14000530"]
        assert (aldershot.winner, aldershot.winner_share_pct) == ("con", 55.06)  # ge2017_con_pct in the CSV
        # The Speaker has no share of his own in the file: no winner's share.
        speaker = [r for r in rows.values() if r.winner == "speaker"]
        assert len(speaker) == 1 and speaker[0].winner_share_pct is None
        with pytest.raises(ValueError):
            queries.analysis_rows("2010", "2024")


# ---------------------------------------------------------------------------------------------
# Queries shared with other pages: filters, medians, look-ups


def test_parse_filters_reads_and_checks_every_argument():
    from d2w.seats.queries import SeatFilters, parse_filters

    assert parse_filters({}) == SeatFilters()
    assert parse_filters({}).boundary_set == "2024" and parse_filters({}).election == "2024"
    f = parse_filters(
        {
            "boundaries": "2010",
            "country": "England",
            "region": "London",
            "leave_min": "40",
            "leave_max": "60%",
            "bme_min": " 30 ",
            "winner": "lab",
            "majority_max": "10.5",
            "q": "  Harrow   East ",
        }
    )
    assert (f.boundary_set, f.election, f.country, f.region, f.winner) == ("2010", "2019", "England", "London", "lab")
    assert (f.leave_min, f.leave_max, f.bme_min, f.bme_max, f.majority_min, f.majority_max) == (
        40.0,
        60.0,
        30.0,
        None,
        None,
        10.5,
    )
    assert f.q == "Harrow East" and f.problems == {} and f.active
    assert parse_filters(f.as_args()) == f
    bad = parse_filters(
        {
            "boundaries": "2030",
            "country": "Mercia",
            "region": "East",
            "winner": "labour",
            "leave_min": "lots",
            "bme_min": "nan",
            "bme_max": "120",
            "majority_min": "20",
            "majority_max": "10",
            "q": "x" * 101,
        }
    )
    assert bad == SeatFilters(majority_min=20.0)
    assert set(bad.problems) == {
        "boundaries",
        "country",
        "region",
        "winner",
        "leave_min",
        "bme_min",
        "bme_max",
        "majority_max",
        "q",
    }
    assert bad.problems["majority_max"] == "The highest majority must not be below the lowest."
    assert bad.problems["leave_min"] == "Enter the lowest Leave share as a number from 0 to 100."


def test_latest_election_and_elections():
    from d2w.seats import queries

    assert queries.latest_election("2010") == "2019" and queries.latest_election("2024") == "2024"
    assert queries.elections_of("2010") == ("2015", "2017", "2019")
    assert queries.elections_of("2024") == ("2019n", "2024")
    with pytest.raises(ValueError):
        queries.latest_election("2030")


def test_filtered_seats_applies_each_filter(seat_data, app):
    from d2w.seats import queries

    def names(**args):
        with app.app_context():
            filters = queries.parse_filters(args)
            assert filters.problems == {}
            stmt = queries.filtered_seats(filters).order_by(Seat.name)
            return [seat.name for seat, _ in db.session.execute(stmt)]

    assert len(names()) == 650 and len(names(boundaries="2010")) == 650
    assert len(names(boundaries="2010", country="Northern Ireland")) == 18
    london = names(region="London")
    assert len(london) == 75 and "Ilford North" in london
    high = names(boundaries="2010", bme_min="30")
    assert len(high) == 75
    # Leave under 40 (2010): 106 seats; "leave_max" is inclusive so stay just below 40.
    assert len(names(boundaries="2010", leave_max="39.9999")) == 106
    reform = names(winner="reform")
    assert len(reform) == 5 and "Clacton" in reform
    marginal = names(boundaries="2010", majority_max="1", winner="con")
    with app.app_context():
        expected = db.session.scalar(
            select(func.count())
            .select_from(SeatResult)
            .join(Seat, Seat.id == SeatResult.seat_id)
            .where(
                Seat.boundary_set == "2010",
                SeatResult.election == "2019",
                SeatResult.winner == "con",
                SeatResult.majority_pct <= 1,
            )
        )
    assert len(marginal) == expected > 0
    assert names(q="harrow e") == ["Harrow East"]
    assert names(q="E14001063") == ["Aldershot"]
    assert names(q="100%_") == []  # LIKE wildcards are taken literally


def test_national_medians(seat_data, app):
    from d2w.seats import queries

    with app.app_context():
        m2010 = queries.national_medians("2010")
        m2024 = queries.national_medians("2024")
        leave_2010 = list(db.session.scalars(select(Seat.leave_pct).where(Seat.boundary_set == "2010")))
        majority_2024 = list(
            db.session.scalars(
                select(SeatResult.majority_pct)
                .join(Seat, Seat.id == SeatResult.seat_id)
                .where(Seat.boundary_set == "2024", SeatResult.election == "2024")
            )
        )
    assert set(m2010) == set(queries.MEDIAN_FIGURES)
    # PROVENANCE.md section 6: median BME share 5.63% over the 632 GB seats.
    assert round(m2010["bme_pct"], 2) == 5.63
    assert m2010["leave_pct"] == round(statistics.median(leave_2010), 3)
    assert m2024["majority_pct"] == round(statistics.median(majority_2024), 3)
    assert all(value is not None for value in m2024.values())


def test_find_seat_and_seat_search(seat_data, app):
    from d2w.seats import queries

    with app.app_context():
        assert queries.find_seat("E14000530", None).name == "Aldershot"
        assert queries.find_seat("e14000530", "2010").boundary_set == "2010"
        assert queries.find_seat("E14000530", "2024") is None
        # By name: both sets have an Aldershot; 2024 is preferred unless a set is given.
        assert queries.find_seat("aldershot", None).boundary_set == "2024"
        assert queries.find_seat("  ALDERSHOT ", "2010").ons_code == "E14000530"
        assert queries.find_seat("Alder", None) is None
        assert queries.find_seat("", None) is None and queries.find_seat("x" * 200, None) is None
        found = queries.seat_search("harrow", "2024")
        assert [s.name for s in found][:2] == ["Harrow East", "Harrow West"]
        both = queries.seat_search("Aldershot", None)
        assert [s.boundary_set for s in both] == ["2024", "2010"]
        assert len(queries.seat_search("a", None, limit=5)) == 5
        assert len(queries.seat_search("a", "2024", limit=10_000)) == 100
        assert queries.seat_search("", None) == [] and queries.seat_search("%", "2024") == []
        assert [s.ons_code for s in queries.seat_search("E1400053", "2010")][0] == "E14000530"
