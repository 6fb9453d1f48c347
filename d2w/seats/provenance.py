"""Where the seat figures come from, written from ``../shared/data/seats/PROVENANCE.md``.

The importer stores these in ``data_sources`` and ``seat_figure_sources`` so that every seat
page can name the source and licence of each figure. The wording follows PROVENANCE.md: a
licence is given only as the file states it (note L), never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_L = (
    "None of the House of Commons Library or ONS CSVs states a licence inside the file, so none is "
    "claimed. The Commons Library normally publishes under the Open Parliament Licence v3.0 and ONS "
    "under the Open Government Licence v3.0; both need checking on the publishers' own pages before "
    "anything is republished."
)

LEAVE_CAVEAT = (
    "The Leave figures are not official results except in Northern Ireland: GB counting was by local "
    "authority, and most GB figures are Chris Hanretty's modelled estimates; a known ward-level figure "
    "is used where he used one."
)
NI_CENSUS_CAVEAT = (
    "No Northern Ireland census data by constituency was found, for either boundary set: NI seats "
    "have no census figures, and medians cover the GB seats."
)
CAVEATS = (
    LEAVE_CAVEAT,
    NI_CENSUS_CAVEAT,
    "The 2011 census figures are at second hand: they come through the British Election Study "
    "compilation (A3), not straight from ONS/NRS; the national totals check out exactly.",
    "Minority (BME) shares exclude White minorities (White Irish, Gypsy or Irish Traveller, Polish, "
    "Other White): they are the share of usual residents not in any White group.",
    "No 2010 general election results are included.",
)


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    publisher: str
    licence: str
    notes: str = ""


REPO_A = "evanodell/parlitools (snapshot 004b4ee1, 2023-05-04; package MIT, data made by the publishers named)"
REPO_B = "ralphascott/UKGE24_wpc_census_summaries (snapshot d3726428, 2024-08-22; repository CC BY-SA 4.0)"
CC_BY_SA = (
    "Taken from Ralph Scott's repository, licensed CC BY-SA 4.0: anything derived from it, including "
    "the 2024-boundary figures, should credit that repository and be shared under the same licence."
)

SOURCES: tuple[Source, ...] = (
    Source(
        "A1",
        "Final estimates of the Leave vote share in the EU referendum",
        "Chris Hanretty (Google sheet and Medium post, 2017; Journal of Elections, Public Opinion and "
        "Parties 27(4), 2017, doi:10.1080/17457289.2017.1287081). Known (ward-level) figures from "
        "M. Rosenbaum, BBC News, 2017, and from council data.",
        "none stated",
        f"From {REPO_A}.",
    ),
    Source(
        "A2",
        "NI EU referendum counts by parliamentary constituency",
        "BBC News NI (bbc.co.uk/news/uk-northern-ireland-36616830)",
        "none stated",
        f"From {REPO_A}.",
    ),
    Source(
        "A3",
        "British Election Study 2017 constituency results file v1.0",
        "Fieldhouse, Green, Evans, Schmitt, van der Eijk, Mellon & Prosser (2017); its 2011 census "
        "variables come from the House of Commons Library's Census 2011 constituency results (ONS and "
        "NRS tables KS101, KS102, KS201)",
        "none stated in file; the BES asks users to cite it",
        f"From {REPO_A}.",
    ),
    Source(
        "A4",
        "GE2015 results by candidate",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_A}. {NOTE_L}",
    ),
    Source(
        "A5",
        "GE2017 results by candidate",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_A}. {NOTE_L}",
    ),
    Source(
        "A6",
        "GE2017 results by constituency",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_A}. {NOTE_L}",
    ),
    Source(
        "A7",
        "GE2019 results by candidate (briefing CBP-8749)",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_A}. {NOTE_L}",
    ),
    Source(
        "A8",
        "GE2019 results by constituency",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_A}. {NOTE_L}",
    ),
    Source(
        "A9",
        "2015 UK general election results data, constituency sheet (electorate, valid votes)",
        "Electoral Commission",
        "none stated in file",
        f"From {REPO_A}.",
    ),
    Source(
        "B1",
        "GE2024 results by constituency (briefing CBP-10009)",
        "House of Commons Library",
        "none stated in file (see note L)",
        f"From {REPO_B}. {CC_BY_SA} {NOTE_L}",
    ),
    Source(
        "B2",
        "Notional 2016 EU referendum Leave estimates for the 2024 constituencies",
        "Chris Hanretty (Google sheet cited in the repository's README)",
        "none stated",
        f"From {REPO_B}. {CC_BY_SA}",
    ),
    Source(
        "B3",
        "Census 2021, ethnic group (6 categories) by post-2019 Westminster constituency",
        "Office for National Statistics (create a custom dataset tool)",
        "none stated in file (see note L)",
        f"From {REPO_B}. {CC_BY_SA} {NOTE_L}",
    ),
    Source(
        "B4",
        "Census 2021, age (18 categories) by post-2019 Westminster constituency",
        "Office for National Statistics (create a custom dataset tool)",
        "none stated in file (see note L)",
        f"From {REPO_B}. {CC_BY_SA} {NOTE_L}",
    ),
    Source(
        "B5",
        "Scotland's Census 2022, table UV201 (ethnic group) by UK Parliamentary Constituency 2024",
        "National Records of Scotland",
        "Crown copyright 2024 (in file)",
        f"From {REPO_B}. {CC_BY_SA}",
    ),
    Source(
        "B6",
        "Scotland's Census 2022, table UV103 (age by single year), one sheet per constituency",
        "National Records of Scotland",
        "Crown copyright 2024 (in file)",
        f"From {REPO_B}. {CC_BY_SA}",
    ),
    Source(
        "B7",
        "Notional 2019 results on the 2024 boundaries",
        "Colin Rallings & Michael Thrasher (BBC/PA spreadsheet)",
        "none stated",
        f"From {REPO_B}. {CC_BY_SA}",
    ),
    Source(
        "B8",
        "2024 UK General Election Census Constituency Summaries File v1.1",
        "Ralph Scott's compilation",
        "CC BY-SA 4.0 (repository)",
        f"From {REPO_B}. Used only to cross-check; none of its values are copied.",
    ),
)


@dataclass(frozen=True)
class FigureSource:
    boundary_set: str
    figure: str  # a Seat column, or "results_<election>" for a result and its party shares
    keys: tuple[str, ...]
    note: str


FIGURES: tuple[FigureSource, ...] = (
    # 2010–2023 boundaries (PROVENANCE.md section 2)
    FigureSource("2010", "name", ("A1", "A6"), "A1's spelling for the 632 GB seats; A6 for the 18 NI seats."),
    FigureSource("2010", "region", ("A6",), "Country, region, county and type as in the Library's 2017 results file."),
    FigureSource(
        "2010",
        "leave_pct",
        ("A1", "A2"),
        "Hanretty's figure to use: the known ward-level result where he used one, else his modelled "
        "estimate (GB); actual counts by constituency (NI).",
    ),
    FigureSource("2010", "leave_estimate_pct", ("A1",), "Hanretty's pure model estimate; GB only."),
    FigureSource(
        "2010",
        "leave_known_pct",
        ("A1", "A2"),
        "Known figure: BBC/Rosenbaum or council data (128 GB seats); NI counts (18 seats).",
    ),
    FigureSource("2010", "population", ("A3",), "Census 2011 usual residents (KS101), via the BES; GB only."),
    FigureSource(
        "2010",
        "bme_pct",
        ("A3",),
        "100 − White share (Census 2011, KS201, via the BES): excludes White minorities; GB only.",
    ),
    FigureSource(
        "2010", "ethnic_groups", ("A3",), "Asian, Black, Mixed and Other shares (Census 2011, KS201, via the BES)."
    ),
    FigureSource(
        "2010",
        "white_british_pct",
        ("A3",),
        "White British/English/Scottish/Northern Irish (Census 2011, via the BES).",
    ),
    FigureSource("2010", "young_adult_pct", ("A3",), "Aged 18–29, share of all usual residents (Census 2011, KS102)."),
    FigureSource("2010", "age_65plus_pct", ("A3",), "Aged 65 and over, share of all usual residents (KS102)."),
    FigureSource(
        "2010",
        "results_2015",
        ("A4", "A9"),
        "Candidate votes summed by party (A4); electorate from the Electoral Commission (A9).",
    ),
    FigureSource(
        "2010",
        "results_2017",
        ("A5", "A6"),
        "Candidate votes summed by party (A5); electorate and result from the constituency file (A6).",
    ),
    FigureSource(
        "2010",
        "results_2019",
        ("A7", "A8"),
        "Candidate votes summed by party (A7); electorate and result from the constituency file (A8).",
    ),
    # 2024 boundaries (PROVENANCE.md section 4)
    FigureSource("2024", "name", ("B1",), "Name, country, region and type from the Library's GE2024 results."),
    FigureSource("2024", "region", ("B1",), "As in the Library's GE2024 results file."),
    FigureSource(
        "2024",
        "leave_pct",
        ("B2",),
        "Hanretty's modelled estimate for the 2024 boundaries; GB only (no NI figure was found).",
    ),
    FigureSource("2024", "leave_estimate_pct", ("B2",), "Hanretty's modelled estimate; GB only."),
    FigureSource(
        "2024",
        "population",
        ("B3", "B5"),
        "Census 2021 (England and Wales, ONS) or Scotland's Census 2022 (NRS); GB only.",
    ),
    FigureSource(
        "2024",
        "bme_pct",
        ("B3", "B5"),
        "(Total − White) ÷ total: excludes White minorities. Scotland's figure is from the 2022 census.",
    ),
    FigureSource(
        "2024",
        "ethnic_groups",
        ("B3", "B5"),
        "Asian, Black, Mixed and Other shares; Scotland's Black = African + Caribbean or Black.",
    ),
    FigureSource(
        "2024",
        "young_adult_pct",
        ("B4", "B6"),
        "Aged 20–29 (18–29 cannot be built from the E&W age bands), share of all residents.",
    ),
    FigureSource("2024", "age_65plus_pct", ("B4", "B6"), "Aged 65 and over, share of all residents."),
    FigureSource(
        "2024",
        "results_2019n",
        ("B7",),
        "Rallings & Thrasher's notional 2019 result on the 2024 boundaries (a reconstruction, not a count).",
    ),
    FigureSource(
        "2024",
        "results_2024",
        ("B1",),
        "The Library's GE2024 results; 'other' includes independents and the Speaker.",
    ),
)
