"""Seats on two boundary sets, their election results and party shares, and where every figure
comes from. Loaded by ``flask d2w seats import`` (see ``d2w/seats/loader.py``); the rules on the
values are database constraints as well as loader checks.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from d2w.core.extensions import db
from d2w.core.regions import REGIONS

BOUNDARY_SETS = ("2010", "2024")
COUNTRIES = ("England", "Scotland", "Wales", "Northern Ireland")
CONSTITUENCY_TYPES = ("borough", "county", "burgh")
LEAVE_BASES = (
    "estimate",
    "known_bbc_rosenbaum",
    "known_council",
    "estimate_known_unused",
    "adjusted_no_known",
    "counted_by_constituency_ni",
)
YOUNG_ADULT_BANDS = ("18–29", "20–29")
# Election codes: general elections on the seat's own boundaries, and "2019n", Rallings and
# Thrasher's notional 2019 result on the 2024 boundaries.
ELECTIONS = ("2015", "2017", "2019", "2019n", "2024")
NOTIONAL_ELECTIONS = ("2019n",)
# Party short codes as in PROVENANCE.md ("lib", the Liberal Party, counts as "other").
PARTIES = (
    "con",
    "lab",
    "ld",
    "snp",
    "pc",
    "green",
    "ukip",
    "brexit",
    "reform",
    "dup",
    "sf",
    "sdlp",
    "uup",
    "alliance",
    "tuv",
    "speaker",
    "ind",
    "other",
)

SEAT_PCT_COLUMNS = (
    "leave_pct",
    "leave_estimate_pct",
    "leave_known_pct",
    "bme_pct",
    "asian_pct",
    "black_pct",
    "mixed_pct",
    "other_ethnic_pct",
    "white_british_pct",
    "young_adult_pct",
    "age_65plus_pct",
)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _pct(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 0 AND {column} <= 100", name=f"{column}_range")


class Seat(db.Model):
    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("boundary_set", "ons_code"),
        CheckConstraint(_in("boundary_set", BOUNDARY_SETS), name="boundary_set_known"),
        CheckConstraint(_in("country", COUNTRIES), name="country_known"),
        CheckConstraint(_in("region", REGIONS), name="region_known"),
        CheckConstraint(_in("constituency_type", CONSTITUENCY_TYPES), name="type_known"),
        CheckConstraint(_in("leave_basis", LEAVE_BASES), name="leave_basis_known"),
        CheckConstraint(_in("young_adult_band", YOUNG_ADULT_BANDS), name="young_band_known"),
        CheckConstraint("name <> '' AND ons_code <> ''", name="names_present"),
        CheckConstraint("population > 0", name="population_positive"),
        *(_pct(column) for column in SEAT_PCT_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    boundary_set: Mapped[str] = mapped_column(String(4))
    ons_code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(40), index=True)
    county: Mapped[str | None] = mapped_column(String(60))
    constituency_type: Mapped[str] = mapped_column(String(10))
    # The figure to use (Hanretty's recommendation: a known figure where he used one, else his
    # estimate; NI: counted by constituency), the pure estimate and the known figure.
    leave_pct: Mapped[float | None] = mapped_column(Float)
    leave_estimate_pct: Mapped[float | None] = mapped_column(Float)
    leave_known_pct: Mapped[float | None] = mapped_column(Float)
    leave_basis: Mapped[str | None] = mapped_column(String(30))
    # Census (2011 on the 2010 boundaries; 2021, or 2022 in Scotland, on the 2024 boundaries).
    # Shares of all usual residents. Empty for Northern Ireland.
    population: Mapped[int | None] = mapped_column(Integer)
    bme_pct: Mapped[float | None] = mapped_column(Float)
    asian_pct: Mapped[float | None] = mapped_column(Float)
    black_pct: Mapped[float | None] = mapped_column(Float)
    mixed_pct: Mapped[float | None] = mapped_column(Float)
    other_ethnic_pct: Mapped[float | None] = mapped_column(Float)
    white_british_pct: Mapped[float | None] = mapped_column(Float)
    young_adult_pct: Mapped[float | None] = mapped_column(Float)
    young_adult_band: Mapped[str] = mapped_column(String(8))
    age_65plus_pct: Mapped[float | None] = mapped_column(Float)
    census_source: Mapped[str | None] = mapped_column(String(60))

    results: Mapped[list[SeatResult]] = relationship(
        back_populates="seat", lazy="raise", order_by="SeatResult.election"
    )


class SeatResult(db.Model):
    __tablename__ = "seat_results"
    __table_args__ = (
        UniqueConstraint("seat_id", "election"),
        CheckConstraint(_in("election", ELECTIONS), name="election_known"),
        CheckConstraint(f"notional = ({_in('election', NOTIONAL_ELECTIONS)})", name="notional_matches_election"),
        CheckConstraint(_in("winner", PARTIES), name="winner_known"),
        CheckConstraint(_in("second", PARTIES), name="second_known"),
        CheckConstraint("majority >= 0", name="majority_not_negative"),
        CheckConstraint("electorate > 0", name="electorate_positive"),
        CheckConstraint("valid_votes >= majority AND valid_votes <= electorate", name="valid_votes_in_range"),
        _pct("majority_pct"),
        _pct("turnout_pct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="CASCADE"))
    election: Mapped[str] = mapped_column(String(5))
    notional: Mapped[bool] = mapped_column(Boolean)
    winner: Mapped[str] = mapped_column(String(10), index=True)
    winner_mp: Mapped[str | None] = mapped_column(String(100))
    second: Mapped[str] = mapped_column(String(10))
    majority: Mapped[int] = mapped_column(Integer)
    majority_pct: Mapped[float] = mapped_column(Float)
    electorate: Mapped[int] = mapped_column(Integer)
    valid_votes: Mapped[int | None] = mapped_column(Integer)
    turnout_pct: Mapped[float | None] = mapped_column(Float)
    result: Mapped[str | None] = mapped_column(String(60))

    seat: Mapped[Seat] = relationship(back_populates="results", lazy="raise")
    shares: Mapped[list[SeatPartyShare]] = relationship(
        back_populates="result", lazy="raise", order_by="SeatPartyShare.share_pct.desc()"
    )


class SeatPartyShare(db.Model):
    __tablename__ = "seat_party_shares"
    __table_args__ = (
        UniqueConstraint("result_id", "party"),
        CheckConstraint(_in("party", PARTIES), name="party_known"),
        _pct("share_pct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("seat_results.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(10))
    # Votes for the party ÷ valid votes × 100; 0 = the party did not stand. "other" is every
    # party not listed in the file (and, in 2024, independents and the Speaker).
    share_pct: Mapped[float] = mapped_column(Float)

    result: Mapped[SeatResult] = relationship(back_populates="shares", lazy="raise")


class DataSource(db.Model):
    """One source file of PROVENANCE.md section 1 (keys A1…A9, B1…B8)."""

    __tablename__ = "data_sources"
    __table_args__ = (CheckConstraint("key <> '' AND title <> ''", name="key_and_title_present"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(4), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str] = mapped_column(Text)
    licence: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")


class SeatFigureSource(db.Model):
    """Where one figure of a boundary set comes from: one row per (figure, source)."""

    __tablename__ = "seat_figure_sources"
    __table_args__ = (
        UniqueConstraint("boundary_set", "figure", "source_id"),
        CheckConstraint(_in("boundary_set", BOUNDARY_SETS), name="boundary_set_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    boundary_set: Mapped[str] = mapped_column(String(4))
    figure: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id"))
    note: Mapped[str] = mapped_column(Text)

    source: Mapped[DataSource] = relationship(lazy="joined", innerjoin=True)
