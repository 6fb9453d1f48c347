"""The shared SVG charts (d2w.core.charts): structure, accessibility, escaping, empty input,
determinism, and no inline style (the Content-Security-Policy forbids it)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from d2w.core import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))  # noqa: S314 - our own markup


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def assert_accessible(root: ET.Element, title: str) -> None:
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title_el, desc_el = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title_el is not None and title_el.text == title
    assert desc_el is not None and desc_el.text
    assert root.get("aria-labelledby") == title_el.get("id")
    assert root.get("aria-describedby") == desc_el.get("id")
    assert root.get("viewBox", "").startswith("0 0 ")


def assert_no_style(root: ET.Element) -> None:
    for el in root.iter():
        assert "style" not in el.attrib, el.tag
        assert el.tag != f"{NS}style"
        assert not any(k.startswith("on") for k in el.attrib), el.attrib


ALL_CHARTS = [
    lambda title: charts.bar_chart(title, [("Labour", 45.2), ("Conservative", 30)], unit="%"),
    lambda title: charts.line_chart(title, ["2015", "2017"], [("Labour", [40.0, 45.0])], unit="%"),
    lambda title: charts.scatter_chart(title, [(10, 20, "A", "Labour")], x_label="x", y_label="y"),
]


def test_party_codes_match_the_seat_data():
    from d2w.seats.models import PARTIES

    assert set(charts.PARTY_COLOURS) == set(PARTIES) == set(charts.PARTY_NAMES)
    assert charts.PARTY_NAMES["lab"] == "Labour" and charts.PARTY_NAMES["con"] == "Conservative"
    assert len(set(charts.PARTY_COLOURS.values())) == len(PARTIES)


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_party_colours_have_text_contrast_on_white():
    for party, colour in charts.PARTY_COLOURS.items():
        ratio = 1.05 / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, (party, colour, round(ratio, 2))


@pytest.mark.parametrize("make", ALL_CHARTS, ids=["bar", "line", "scatter"])
def test_every_chart_is_accessible_and_styleless(make):
    root = parse(make("A chart"))
    assert_accessible(root, "A chart")
    assert_no_style(root)


@pytest.mark.parametrize("make", ALL_CHARTS, ids=["bar", "line", "scatter"])
def test_same_input_same_bytes_and_distinct_ids(make):
    assert str(make("One")) == str(make("One"))
    assert parse(make("One")).find(f"{NS}title").get("id") != parse(make("Two")).find(f"{NS}title").get("id")


def test_bar_chart_labels_values_and_lengths():
    svg = charts.bar_chart(
        "Share of the vote",
        [("Labour", 50.0), ("Conservative", 25.0), ("Green", 0)],
        unit="%",
        desc="2019, Aldershot.",
        colours=["#c8102e", "#0a5ab5"],
    )
    root = parse(svg)
    shown = texts(root)
    for text in ("Labour", "50%", "Conservative", "25%", "Green", "0%"):
        assert text in shown
    rects = root.findall(f".//{NS}rect")
    assert len(rects) == 2  # no bar for zero
    assert float(rects[0].get("width")) == pytest.approx(2 * float(rects[1].get("width")), rel=0.01)
    assert [r.get("fill") for r in rects] == ["#c8102e", "#0a5ab5"]
    desc = root.find(f"{NS}desc").text
    assert desc.startswith("2019, Aldershot.") and "Labour: 50%" in desc
    # Each bar names itself for pointer users too.
    assert "Labour: 50%" in [t.text for t in root.iter(f"{NS}title")]


def test_bar_chart_max_value_fixes_the_scale():
    half = parse(charts.bar_chart("t", [("a", 50)], max_value=100))
    full = parse(charts.bar_chart("t", [("a", 50)]))
    assert float(half.find(f".//{NS}rect").get("width")) == pytest.approx(
        float(full.find(f".//{NS}rect").get("width")) / 2, rel=0.01
    )


def test_bar_chart_handles_zeros_negatives_and_nan():
    root = parse(charts.bar_chart("Nothing yet", [("a", 0), ("b", 0.0), ("c", -3), ("d", math.nan)], unit="seats"))
    assert root.findall(f".//{NS}rect") == []
    assert {"0 seats", "-3 seats", "n/a"} <= set(texts(root))


def test_numbers_are_formatted_for_reading():
    assert charts.format_value(1234) == "1,234"
    assert charts.format_value(12.345, "%") == "12.3%"
    assert charts.format_value(3, "seats") == "3 seats"
    assert charts.format_value(None) == "n/a" and charts.format_value(math.inf) == "n/a"


@pytest.mark.parametrize(
    "svg",
    [
        charts.bar_chart("Empty", []),
        charts.line_chart("Empty", [], []),
        charts.line_chart("Empty", ["2015"], [("Labour", [None])]),
        charts.scatter_chart("Empty", [], x_label="x", y_label="y"),
    ],
)
def test_empty_input_draws_a_message(svg):
    root = parse(svg)
    assert_accessible(root, "Empty")
    assert "No data to show" in texts(root)
    assert "No data to show" in root.find(f"{NS}desc").text


def test_labels_are_escaped():
    evil = '<script>alert("x")</script> & "quotes"'
    for svg in (
        charts.bar_chart(evil, [(evil, 1)], desc=evil),
        charts.line_chart(evil, [evil], [(evil, [1.0])], desc=evil, colours={evil: "#000000"}),
        charts.scatter_chart(evil, [(1, 2, evil, evil)], x_label=evil, y_label=evil, desc=evil),
    ):
        assert "<script>" not in str(svg)
        root = parse(svg)  # still well-formed XML
        assert root.find(f"{NS}title").text == evil
        assert any(evil in t for t in texts(root)) or any(evil in (t.text or "") for t in root.iter(f"{NS}title"))
        assert_no_style(root)


def test_line_chart_gaps_legend_markers_and_values():
    svg = charts.line_chart(
        "Party shares",
        ["2015", "2017", "2019"],
        [("Labour", [40.0, None, 45.5]), ("Conservative", [39.0, 41.0, 44.0])],
        unit="%",
    )
    root = parse(svg)
    polylines = root.findall(f".//{NS}polyline")
    # Labour's gap leaves it no line (two lone points); Conservative has one line of 3 points.
    assert len(polylines) == 1 and len(polylines[0].get("points").split()) == 3
    assert polylines[0].get("stroke") == charts.PARTY_COLOURS["con"]  # party names get party colours
    shown = texts(root)
    for text in ("40%", "45.5%", "39%", "41%", "44%", "Labour", "Conservative", "2015", "2019"):
        assert text in shown, text
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert "Labour, 2019: 45.5%" in titles and "Labour, 2017: n/a" not in titles
    assert "Labour: 2015 40%, 2019 45.5%" in root.find(f"{NS}desc").text


def test_line_chart_y_max_and_colours():
    root = parse(charts.line_chart("t", ["a", "b"], [("s", [10, 20])], y_max=100, colours={"s": "#123456"}, unit="%"))
    assert "100%" in texts(root)
    assert root.find(f".//{NS}polyline").get("stroke") == "#123456"


def test_line_chart_value_labels_do_not_overlap():
    root = parse(charts.line_chart("t", ["2019"], [(f"s{i}", [10.0 + i * 0.1]) for i in range(5)], unit="%"))
    values = [t for t in root.iter(f"{NS}text") if t.get("fill") not in ("#ffffff",) and "%" in (t.text or "")]
    ys = sorted(float(t.get("y")) for t in values if t.get("font-weight") == "600")
    assert len(ys) == 5
    assert all(b - a >= 12 for a, b in zip(ys, ys[1:], strict=False))


def test_scatter_points_legend_and_titles():
    points = [(10.0, 60.0, "Seat A", "Labour"), (50.0, 40.0, "Seat B", "Labour"), (5.0, 55.0, "Seat C", "Conservative")]
    root = parse(
        charts.scatter_chart(
            "BME against winner's share", points, x_label="BME share (%)", y_label="Winner's share (%)", y_max=100
        )
    )
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert "Seat A (Labour): 10, 60" in titles and "Seat C (Conservative): 5, 55" in titles
    shown = texts(root)
    assert "Labour (2)" in shown and "Conservative (1)" in shown
    assert "BME share (%)" in shown and "Winner's share (%)" in shown and "100" in shown
    # Groups differ by shape as well as colour.
    labour = root.find(f".//{NS}circle")
    assert labour.get("fill") == charts.PARTY_COLOURS["lab"]
    assert any(p.get("fill") == charts.PARTY_COLOURS["con"] for p in root.iter(f"{NS}rect"))
    assert "3 points" in root.find(f"{NS}desc").text


def test_scatter_leaves_out_missing_and_clamps_outliers():
    root = parse(
        charts.scatter_chart(
            "t",
            [(None, 1, "gone", "g"), (math.nan, 1, "gone", "g"), (150, 50, "edge", "g")],
            x_label="x",
            y_label="y",
            x_max=100,
            y_max=100,
        )
    )
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert not any(t and t.startswith("gone") for t in titles)
    marks = [c for c in root.iter(f"{NS}circle") if c.get("fill-opacity")]
    assert len(marks) == 1
    axis = [float(line.get("x2")) for line in root.iter(f"{NS}line") if line.get("stroke") == charts.AXIS]
    assert float(marks[0].get("cx")) == pytest.approx(max(axis))


def test_one_font_family_attribute():
    """Reports swap the font of a chart by replacing its one font-family attribute."""
    for make in ALL_CHARTS:
        text = str(make("t"))
        assert text.count("font-family=") == 1
