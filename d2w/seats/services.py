"""Seat business verbs. They flush, never commit: the CLI command or view commits once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update

from d2w.core.db import read
from d2w.core.extensions import db
from d2w.seats import cache
from d2w.seats.loader import ParsedFile
from d2w.seats.models import DataSource, Seat, SeatFigureSource, SeatPartyShare, SeatResult
from d2w.seats.provenance import FIGURES, SOURCES

SEAT_COLUMNS = tuple(c.name for c in Seat.__table__.columns if c.name != "id")
RESULT_COLUMNS = tuple(c.name for c in SeatResult.__table__.columns if c.name != "id")


@dataclass
class TableCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0

    def __str__(self) -> str:
        text = f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged"
        return text + (f", {self.removed} removed" if self.removed else "")


@dataclass
class ImportSummary:
    seats_by_boundary_set: dict[str, int] = field(default_factory=dict)
    seats: TableCounts = field(default_factory=TableCounts)
    results: TableCounts = field(default_factory=TableCounts)
    shares: TableCounts = field(default_factory=TableCounts)
    sources: TableCounts = field(default_factory=TableCounts)
    figure_sources: TableCounts = field(default_factory=TableCounts)
    # Seats already in the database that the files no longer list: kept, never deleted here.
    not_in_files: list[str] = field(default_factory=list)


def _upsert(model, existing: dict, wanted: dict, counts: TableCounts) -> None:
    """Insert the wanted rows that are new, update those whose values differ (same ids).

    ``existing`` maps a natural key to (id, values); ``wanted`` maps it to values. One
    executemany per kind of change, whatever the number of rows."""
    new, changed = [], []
    for key, values in wanted.items():
        if key not in existing:
            new.append(values)
            continue
        row_id, old = existing[key]
        if old != values:
            changed.append({"id": row_id, **values})
        else:
            counts.unchanged += 1
    if new:
        # The table, not the ORM entity: one executemany, however the None values fall.
        db.session.execute(insert(model.__table__), new)
    if changed:
        db.session.execute(update(model), changed)
    counts.added += len(new)
    counts.changed += len(changed)


def _sync_provenance(summary: ImportSummary) -> None:
    """The sources and the figure-to-source map, from ``provenance.py``; stale links removed."""
    wanted = {
        (source.key,): {
            "key": source.key,
            "title": source.title,
            "publisher": source.publisher,
            "licence": source.licence,
            "notes": source.notes,
        }
        for source in SOURCES
    }
    _upsert(DataSource, _existing(DataSource, ("key",)), wanted, summary.sources)
    ids = {key: row_id for (key,), row_id in _ids(DataSource, ("key",)).items()}

    key = ("boundary_set", "figure", "source_id")
    existing = _existing(SeatFigureSource, key)
    wanted = {}
    for fig in FIGURES:
        for source_key in fig.keys:
            wanted[(fig.boundary_set, fig.figure, ids[source_key])] = {
                "boundary_set": fig.boundary_set,
                "figure": fig.figure,
                "source_id": ids[source_key],
                "note": fig.note,
            }
    _upsert(SeatFigureSource, existing, wanted, summary.figure_sources)
    stale = [row_id for natural, (row_id, _) in existing.items() if natural not in wanted]
    if stale:
        db.session.execute(delete(SeatFigureSource).where(SeatFigureSource.id.in_(stale)))
        summary.figure_sources.removed = len(stale)


def _existing(model, key: tuple[str, ...]) -> dict:
    """The table's rows as {natural key: (id, {column: value})}, read in one query."""
    table = model.__table__
    names = [c.name for c in table.columns if c.name != "id"]
    out = {}
    for row_id, *values in read(select(table.c.id, *(table.c[n] for n in names))).tuples():
        record = dict(zip(names, values, strict=True))
        out[tuple(record[k] for k in key)] = (row_id, record)
    return out


def _ids(model, key: tuple[str, ...]) -> dict:
    table = model.__table__
    return {tuple(rest): row_id for row_id, *rest in read(select(table.c.id, *(table.c[k] for k in key))).tuples()}


def import_seats(files: list[ParsedFile]) -> ImportSummary:
    """Write checked seat data (``loader.load_directory``) in place: match seats on boundary set
    and ONS code, results on seat and election, shares on result and party; add what is new,
    update what differs, leave everything else alone. Ids never change. A fixed number of
    queries whatever the number of seats."""
    summary = ImportSummary()
    _sync_provenance(summary)

    existing_seats = _existing(Seat, ("boundary_set", "ons_code"))
    wanted_seats = {}
    for parsed in files:
        summary.seats_by_boundary_set[parsed.boundary_set] = len(parsed.seats)
        for seat in parsed.seats:
            wanted_seats[(seat.values["boundary_set"], seat.values["ons_code"])] = {
                c: seat.values[c] for c in SEAT_COLUMNS
            }
    _upsert(Seat, existing_seats, wanted_seats, summary.seats)
    summary.not_in_files = sorted(f"{bs} {code}" for bs, code in existing_seats if (bs, code) not in wanted_seats)
    seat_ids = _ids(Seat, ("boundary_set", "ons_code"))

    wanted_results = {}
    wanted_shares = {}
    for parsed in files:
        for seat in parsed.seats:
            seat_id = seat_ids[(parsed.boundary_set, seat.values["ons_code"])]
            for result in seat.results:
                wanted_results[(seat_id, result.election)] = {
                    "seat_id": seat_id,
                    **{c: result.values[c] for c in RESULT_COLUMNS if c != "seat_id"},
                }
    _upsert(SeatResult, _existing(SeatResult, ("seat_id", "election")), wanted_results, summary.results)
    result_ids = _ids(SeatResult, ("seat_id", "election"))
    for parsed in files:
        for seat in parsed.seats:
            seat_id = seat_ids[(parsed.boundary_set, seat.values["ons_code"])]
            for result in seat.results:
                result_id = result_ids[(seat_id, result.election)]
                for party, share in result.shares.items():
                    wanted_shares[(result_id, party)] = {"result_id": result_id, "party": party, "share_pct": share}
    _upsert(SeatPartyShare, _existing(SeatPartyShare, ("result_id", "party")), wanted_shares, summary.shares)
    db.session.flush()
    from d2w.seatfit.services import clear_cache

    # What this process kept of the old seat data (other workers' copies age out).
    clear_cache()
    cache.clear()
    return summary
