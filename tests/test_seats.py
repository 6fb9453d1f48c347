"""Seats: the import of the real seat data (both boundary sets), its checks, and provenance.

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
# The role matrix of the seats routes, in the same shape as MATRIX in test_access.py. Item 1
# (the import) adds no routes yet.

ROLES = ("anon", "candidate", "mentor", "staff", "admin")
L = "login"  # a redirect to the sign-in page


def row(anon, candidate, mentor, staff, admin):
    return dict(zip(ROLES, (anon, candidate, mentor, staff, admin), strict=True))


SEATS_MATRIX: dict = {}


def seats_placeholders(app, people) -> dict:
    """The objects SEATS_MATRIX's paths name (none yet)."""
    return {}


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


def test_regions_are_canonical(app, imported):
    with app.app_context():
        regions = Counter(db.session.execute(select(Seat.boundary_set, Seat.region)).all())
    # The 2010 file says "East"; both sets use the canonical "East of England".
    assert regions[("2010", "East of England")] == 58
    assert regions[("2024", "East of England")] == 61
    assert not any(region == "East" for _, region in regions)


def test_seat_figures_are_stored_as_given(app, imported):
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


def test_seat_totals_match_the_official_results(app, imported):
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


def test_high_bme_seats_in_2017_match_provenance_section_6(app, imported):
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


def test_medians_and_leave_counts_match_provenance(app, imported):
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


def test_provenance_is_stored_for_every_figure(app, imported):
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
