"""Server-side SVG charts that look the same in a page (Chromium) and in a PDF (WeasyPrint).

Pure functions, no Flask: each returns ``Markup`` holding one inline ``<svg>``.

* No ``style`` attribute and no ``<style>`` element (the site's Content-Security-Policy forbids
  inline style): only SVG presentation attributes (``fill``, ``stroke``, ``font-size``...).
* Accessible: ``role="img"``, a ``<title>`` and a ``<desc>`` (the caller's description followed by
  a plain-text summary of the data) tied to the ``<svg>`` by ``aria-labelledby`` and
  ``aria-describedby``; every value is written as text beside its mark, and series and groups
  are told apart by marker shape and a legend as well as by colour.
* Deterministic: the same input always gives the same bytes. Element ids are derived from a
  hash of the input, so two different charts on one page never share an id.
* The chart draws no visible title: show one beside it (a ``<figcaption>``, a heading).

Every label and value is escaped. ``NaN`` and infinite values are treated as missing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from markupsafe import Markup, escape

# ---------------------------------------------------------------------------------------------
# Parties (the codes of ``d2w.seats.models.PARTIES``). Every colour has at least 4.5:1 contrast
# on white, so it can colour text as well as marks.

PARTY_COLOURS: dict[str, str] = {
    "con": "#0a5ab5",
    "lab": "#c8102e",
    "ld": "#b35c00",
    "snp": "#8a7400",
    "pc": "#006e5f",
    "green": "#2e7d32",
    "ukip": "#6d1f7e",
    "brexit": "#007c8a",
    "reform": "#00708f",
    "dup": "#a33a24",
    "sf": "#1f5e4f",
    "sdlp": "#3a7d1f",
    "uup": "#2b5ea8",
    "alliance": "#8c6d00",
    "tuv": "#0c3a6a",
    "speaker": "#4f4f4f",
    "ind": "#6b5b73",
    "other": "#707070",
}

PARTY_NAMES: dict[str, str] = {
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
    "speaker": "Speaker",
    "ind": "Independent",
    "other": "Other",
}

_COLOUR_BY_NAME = {PARTY_NAMES[code]: colour for code, colour in PARTY_COLOURS.items()}

# Used for series and groups that are not parties, in turn (all 4.5:1 or more on white).
DEFAULT_COLOURS = ("#3b1f6e", "#0a5ab5", "#b35c00", "#2e7d32", "#c8102e", "#007c8a", "#6d1f7e", "#4f4f4f")
BAR_COLOUR = "#3b1f6e"

INK = "#1d1d28"
MUTED = "#4f5461"
GRID = "#d5d7e0"
AXIS = "#4f5461"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
FONT_SIZE = 13
SMALL = 12
CHAR_WIDTH = 0.6  # average width of a character, as a share of the font size (an estimate)

SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down", "plus")


# ---------------------------------------------------------------------------------------------
# Helpers


def _num(value: float) -> str:
    """A coordinate: one decimal at most, no trailing zeros, never "-0"."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attrs(**attrs) -> str:
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = _num(value)
        out.append(f' {name}="{escape(str(value))}"')
    return "".join(out)


def _el(tag: str, content: str | None = None, **attrs) -> str:
    if content is None:
        return f"<{tag}{_attrs(**attrs)}/>"
    return f"<{tag}{_attrs(**attrs)}>{content}</{tag}>"


def _finite(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_value(value: float | None, unit: str = "") -> str:
    """How a value is written on a chart: "45.2%", "1,234", "12.5 seats"; "n/a" if missing."""
    number = _finite(value)
    if number is None:
        return "n/a"
    text = f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"
    if not unit:
        return text
    return text + unit if unit == "%" else f"{text} {unit}"


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def _truncate(text: str, width: float, size: float = FONT_SIZE) -> str:
    if _text_width(text, size) <= width:
        return text
    keep = max(1, int(width / (size * CHAR_WIDTH)) - 1)
    return text[:keep].rstrip() + "…"


def _uid(kind: str, *parts) -> str:
    digest = hashlib.sha256(repr((kind, parts)).encode("utf-8")).hexdigest()[:10]
    return f"chart-{kind}-{digest}"


def _nice_step(span: float, ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def _nice_max(largest: float, given: float | None) -> tuple[float, float]:
    """The axis maximum and the tick step: the given maximum, or a round number above the data."""
    if given is not None and _finite(given) is not None and given > 0:
        return float(given), _nice_step(float(given))
    if largest <= 0:
        return 1.0, 0.25
    step = _nice_step(largest)
    top = math.ceil(largest / step) * step
    return top, step


def _ticks(top: float, step: float) -> list[float]:
    count = int(math.floor(top / step + 1e-9))
    values = [round(i * step, 10) for i in range(count + 1)]
    if values[-1] < top - 1e-9:
        values.append(top)
    return values


def _colour_for(name: str, index: int, colours: dict[str, str] | None) -> str:
    if colours and name in colours:
        return colours[name]
    if name in PARTY_COLOURS:
        return PARTY_COLOURS[name]
    if name in _COLOUR_BY_NAME:
        return _COLOUR_BY_NAME[name]
    return DEFAULT_COLOURS[index % len(DEFAULT_COLOURS)]


def _marker(shape: str, x: float, y: float, r: float, fill: str, *, stroke: str = "#ffffff", opacity=None) -> str:
    common = {"fill": fill, "stroke": stroke, "stroke_width": 1.2, "fill_opacity": opacity}
    if shape == "circle":
        return _el("circle", cx=float(x), cy=float(y), r=float(r), **common)
    if shape == "square":
        s = r * 0.9
        return _el("rect", x=float(x - s), y=float(y - s), width=float(2 * s), height=float(2 * s), **common)
    if shape == "plus":
        a, b = r * 1.1, r * 0.4
        d = (
            f"M{_num(x - b)} {_num(y - a)}h{_num(2 * b)}v{_num(a - b)}h{_num(a - b)}v{_num(2 * b)}"
            f"h{_num(b - a)}v{_num(a - b)}h{_num(-2 * b)}v{_num(b - a)}h{_num(b - a)}v{_num(-2 * b)}"
            f"h{_num(a - b)}Z"
        )
        return _el("path", d=d, **common)
    if shape == "diamond":
        a = r * 1.25
        d = f"M{_num(x)} {_num(y - a)}L{_num(x + a)} {_num(y)}L{_num(x)} {_num(y + a)}L{_num(x - a)} {_num(y)}Z"
        return _el("path", d=d, **common)
    a = r * 1.25
    sign = -1 if shape == "triangle" else 1
    d = (
        f"M{_num(x)} {_num(y + sign * a)}L{_num(x + a)} {_num(y - sign * a * 0.8)}"
        f"L{_num(x - a)} {_num(y - sign * a * 0.8)}Z"
    )
    return _el("path", d=d, **common)


def _svg(kind: str, uid: str, width: float, height: float, title: str, desc: str, body: Iterable[str]) -> Markup:
    title_id, desc_id = f"{uid}-title", f"{uid}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg"{_attrs(class_=f"chart chart-{kind}")}'
        f"{_attrs(viewBox=f'0 0 {_num(width)} {_num(height)}', width=float(width), height=float(height))}"
        f"{_attrs(role='img', aria_labelledby=title_id, aria_describedby=desc_id)}"
        f"{_attrs(font_family=FONT, font_size=FONT_SIZE, fill=INK)}>"
    )
    # str() first: text that arrives as Markup (already "safe") is still escaped, never trusted.
    parts = [
        head,
        _el("title", str(escape(str(title))), id=title_id),
        _el("desc", str(escape(str(desc))), id=desc_id),
    ]
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label and value above went through escape()


def _describe(desc: str, summary: str) -> str:
    desc = " ".join(desc.split())
    if desc and summary:
        return f"{desc} {summary}"
    return desc or summary


def _legend(items: list[tuple[str, str, str]], x0: float, y0: float, max_width: float) -> tuple[list[str], float]:
    """Legend entries (label, colour, shape) wrapped into rows; returns the parts and the height."""
    parts: list[str] = []
    x, y = x0, y0
    row_height = 20
    rows = 1 if items else 0
    for label, colour, shape in items:
        item_width = 22 + _text_width(label, SMALL) + 16
        if x > x0 and x + item_width > x0 + max_width:
            x, y = x0, y + row_height
            rows += 1
        parts.append(
            "<g>"
            + _marker(shape, x + 7, y + 10, 5, colour, stroke=colour)
            + _el("text", str(escape(label)), x=float(x + 18), y=float(y + 14), font_size=SMALL)
            + "</g>"
        )
        x += item_width
    return parts, rows * row_height


def _halo_text(text: str, x: float, y: float, colour: str) -> str:
    """A value label over a white outline, so that it stays legible where it crosses a line
    (drawn twice rather than with ``paint-order``, which not every SVG renderer supports)."""
    common = {"x": float(x), "y": float(y), "font_size": SMALL, "font_weight": "600"}
    halo = _el(
        "text", str(escape(text)), fill="#ffffff", stroke="#ffffff", stroke_width=3, stroke_linejoin="round", **common
    )
    return halo + _el("text", str(escape(text)), fill=colour, **common)


def _empty(kind: str, uid: str, width: int, title: str, desc: str) -> Markup:
    body = [
        _el("rect", x=0.5, y=0.5, width=float(width - 1), height=59.0, fill="#ffffff", stroke=GRID),
        _el("text", "No data to show", x=float(width / 2), y=35.0, text_anchor="middle", fill=MUTED),
    ]
    return _svg(kind, uid, width, 60, title, _describe(desc, "No data to show."), body)


# ---------------------------------------------------------------------------------------------
# Bar chart


def bar_chart(
    title: str,
    bars: list[tuple[str, float]],
    *,
    unit: str = "",
    desc: str = "",
    colours: list[str] | None = None,
    max_value: float | None = None,
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per (label, value), in the order given, each with its label on the
    left and its value written after the bar. ``colours`` colours the bars in turn (default: one
    colour); ``max_value`` fixes the full length of a bar (default: the largest value). Negative
    and missing values draw no bar; their value is still written."""
    width = max(240, int(width))
    bars = [(str(label), value) for label, value in bars]
    uid = _uid("bar", title, bars, unit, desc, colours, max_value, width)
    if not bars:
        return _empty("bar", uid, width, title, desc)
    values = [_finite(v) for _, v in bars]
    texts = [format_value(v, unit) for v in values]
    largest = max([v for v in values if v is not None] + [0.0])
    top = _finite(max_value) if max_value is not None else None
    scale_top = top if top is not None and top > 0 else (largest if largest > 0 else 1.0)

    pad, row_h, bar_h = 8, 28, 18
    label_w = min(max(_text_width(label) for label, _ in bars) + 12, width * 0.42)
    value_w = max(_text_width(t) for t in texts) + 14
    bar_w = max(40.0, width - label_w - value_w - pad)
    height = pad * 2 + row_h * len(bars)

    body = [
        _el("line", x1=float(label_w), y1=float(pad - 2), x2=float(label_w), y2=float(height - pad + 2), stroke=AXIS)
    ]
    summary = []
    for i, ((label, _), value, text) in enumerate(zip(bars, values, texts, strict=True)):
        y = pad + i * row_h
        mid = y + row_h / 2
        colour = colours[i % len(colours)] if colours else BAR_COLOUR
        length = 0.0 if value is None or value <= 0 else min(value, scale_top) / scale_top * bar_w
        shown = _truncate(label, label_w - 12)
        item = [
            _el("title", str(escape(f"{label}: {text}"))),
            _el("text", str(escape(shown)), x=float(label_w - 8), y=float(mid + 4.5), text_anchor="end"),
        ]
        if length > 0:
            item.append(
                _el(
                    "rect",
                    x=float(label_w),
                    y=float(mid - bar_h / 2),
                    width=float(length),
                    height=float(bar_h),
                    fill=colour,
                )
            )
        item.append(
            _el("text", str(escape(text)), x=float(label_w + length + 6), y=float(mid + 4.5), font_weight="600")
        )
        body.append("<g>" + "".join(item) + "</g>")
        summary.append(f"{label}: {text}")
    return _svg("bar", uid, width, height, title, _describe(desc, "; ".join(summary) + "."), body)


# ---------------------------------------------------------------------------------------------
# Line chart


def _spread(items: list[tuple[float, str, str]], low: float, high: float, gap: float) -> list[tuple[float, str, str]]:
    """Move value labels (y, text, colour) apart so that none overlaps, keeping them in range."""
    items = sorted(items)
    ys = [y for y, _, _ in items]
    for i in range(1, len(ys)):
        ys[i] = max(ys[i], ys[i - 1] + gap)
    if ys and ys[-1] > high:
        ys[-1] = high
        for i in range(len(ys) - 2, -1, -1):
            ys[i] = min(ys[i], ys[i + 1] - gap)
    if ys and ys[0] < low:
        shift = low - ys[0]
        ys = [y + shift for y in ys]
    return [(y, text, colour) for y, (_, text, colour) in zip(ys, items, strict=True)]


def line_chart(
    title: str,
    x_labels: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    unit: str = "",
    desc: str = "",
    colours: dict[str, str] | None = None,
    y_max: float | None = None,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """Lines over evenly spaced x labels, one per (name, values); ``None`` leaves a gap. Every
    point has a marker (a different shape per series) with its value written beside it, and a
    legend names the series. ``colours`` maps series names to colours (party codes and party
    names get their party's colour by default); ``y_max`` fixes the top of the axis."""
    width = max(280, int(width))
    height = max(160, int(height))
    x_labels = [str(x) for x in x_labels]
    series = [(str(name), list(values)) for name, values in series]
    uid = _uid("line", title, x_labels, series, unit, desc, colours, y_max, width, height)
    points = [[_finite(v) for v in values[: len(x_labels)]] for _, values in series]
    if not x_labels or not any(v is not None for values in points for v in values):
        return _empty("line", uid, width, title, desc)

    largest = max(v for values in points for v in values if v is not None)
    top, step = _nice_max(max(largest, 0.0), y_max)
    ticks = _ticks(top, step)
    tick_texts = [format_value(t, unit) for t in ticks]
    value_texts = [[format_value(v, unit) if v is not None else "" for v in values] for values in points]
    longest_value = max((_text_width(t, SMALL) for row in value_texts for t in row), default=0)

    styles = [(name, _colour_for(name, i, colours), SHAPES[i % len(SHAPES)]) for i, (name, _) in enumerate(series)]
    left = max(_text_width(t, SMALL) for t in tick_texts) + 14
    right = longest_value + 16
    legend_parts, legend_h = _legend(styles, left, 0, width - left - 8)
    top_pad, x_axis_h = 12, 26
    plot_h = height - top_pad - x_axis_h - legend_h - 10
    if plot_h < 110:
        height += 110 - plot_h
        plot_h = 110
    plot_top, plot_bottom = top_pad, top_pad + plot_h
    plot_left, plot_right = left, width - right
    inner = 24 if len(x_labels) > 1 else 0
    span = plot_right - plot_left - 2 * inner

    def px(i: int) -> float:
        if len(x_labels) == 1:
            return (plot_left + plot_right) / 2
        return plot_left + inner + span * i / (len(x_labels) - 1)

    def py(v: float) -> float:
        return plot_bottom - max(0.0, min(v, top)) / top * plot_h

    body = []
    for tick, text in zip(ticks, tick_texts, strict=True):
        y = py(tick)
        body.append(_el("line", x1=float(plot_left), y1=y, x2=float(plot_right), y2=y, stroke=GRID))
        body.append(
            _el(
                "text",
                str(escape(text)),
                x=float(plot_left - 6),
                y=y + 4,
                text_anchor="end",
                font_size=SMALL,
                fill=MUTED,
            )
        )
    body.append(
        _el(
            "line", x1=float(plot_left), y1=float(plot_bottom), x2=float(plot_right), y2=float(plot_bottom), stroke=AXIS
        )
    )
    for i, label in enumerate(x_labels):
        body.append(
            _el("text", str(escape(label)), x=px(i), y=float(plot_bottom + 18), text_anchor="middle", font_size=SMALL)
        )

    labels_at: dict[int, list[tuple[float, str, str]]] = {}
    summary = []
    for (name, colour, shape), values, texts in zip(styles, points, value_texts, strict=True):
        group = [_el("title", str(escape(name)))]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_num(px(i))},{_num(py(v))}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                group.append(_el("polyline", points=" ".join(seg), fill="none", stroke=colour, stroke_width=2.5))
        described = []
        for i, v in enumerate(values):
            if v is None:
                continue
            text = texts[i]
            group.append(
                "<g>"
                + _el("title", str(escape(f"{name}, {x_labels[i]}: {text}")))
                + _marker(shape, px(i), py(v), 4.5, colour)
                + "</g>"
            )
            labels_at.setdefault(i, []).append((py(v), text, colour))
            described.append(f"{x_labels[i]} {text}")
        body.append("<g>" + "".join(group) + "</g>")
        summary.append(f"{name}: " + (", ".join(described) if described else "no data"))
    for i in sorted(labels_at):
        for y, text, colour in _spread(labels_at[i], plot_top + 4, plot_bottom - 2, SMALL + 1):
            body.append(_halo_text(text, px(i) + 8, y + 4, colour))
    legend_y = plot_bottom + x_axis_h + 4
    body.append(f'<g transform="translate(0 {_num(legend_y)})">' + "".join(legend_parts) + "</g>")
    return _svg("line", uid, width, height, title, _describe(desc, "; ".join(summary) + "."), body)


# ---------------------------------------------------------------------------------------------
# Scatter chart


def scatter_chart(
    title: str,
    points: list[tuple[float, float, str, str]],
    *,
    x_label: str,
    y_label: str,
    desc: str = "",
    colours: dict[str, str] | None = None,
    x_max: float | None = None,
    y_max: float | None = None,
    width: int = 640,
    height: int = 360,
) -> Markup:
    """Points (x, y, label, group) on axes from 0, with a marker shape and colour per group, a
    legend giving each group's number of points, and a ``<title>`` per point naming it. Values
    beyond the axes are drawn at the edge; points with a missing value are left out."""
    width = max(280, int(width))
    height = max(200, int(height))
    clean = []
    for x, y, label, group in points:
        fx, fy = _finite(x), _finite(y)
        if fx is not None and fy is not None:
            clean.append((fx, fy, str(label), str(group)))
    uid = _uid("scatter", title, clean, x_label, y_label, desc, colours, x_max, y_max, width, height)
    if not clean:
        return _empty("scatter", uid, width, title, desc)

    counts: dict[str, int] = {}
    for _, _, _, group in clean:
        counts[group] = counts.get(group, 0) + 1
    order = sorted(counts, key=lambda g: (-counts[g], g))
    styles = {g: (_colour_for(g, i, colours), SHAPES[i % len(SHAPES)]) for i, g in enumerate(order)}

    xtop, xstep = _nice_max(max(max(p[0] for p in clean), 0.0), x_max)
    ytop, ystep = _nice_max(max(max(p[1] for p in clean), 0.0), y_max)
    xticks, yticks = _ticks(xtop, xstep), _ticks(ytop, ystep)
    ytexts = [format_value(t) for t in yticks]
    left = max(_text_width(t, SMALL) for t in ytexts) + 34
    right = 16
    legend_items = [(f"{g} ({counts[g]:,})", styles[g][0], styles[g][1]) for g in order]
    legend_parts, legend_h = _legend(legend_items, left, 0, width - left - right)
    top_pad, x_axis_h = 12, 44
    plot_h = height - top_pad - x_axis_h - legend_h - 8
    if plot_h < 140:
        height += 140 - plot_h
        plot_h = 140
    plot_left, plot_right = left, width - right
    plot_top, plot_bottom = top_pad, top_pad + plot_h
    plot_w = plot_right - plot_left

    def px(v: float) -> float:
        return plot_left + max(0.0, min(v, xtop)) / xtop * plot_w

    def py(v: float) -> float:
        return plot_bottom - max(0.0, min(v, ytop)) / ytop * plot_h

    body = []
    for tick, text in zip(yticks, ytexts, strict=True):
        y = py(tick)
        body.append(_el("line", x1=float(plot_left), y1=y, x2=float(plot_right), y2=y, stroke=GRID))
        body.append(
            _el(
                "text",
                str(escape(text)),
                x=float(plot_left - 6),
                y=y + 4,
                text_anchor="end",
                font_size=SMALL,
                fill=MUTED,
            )
        )
    for tick in xticks:
        x = px(tick)
        body.append(_el("line", x1=x, y1=float(plot_top), x2=x, y2=float(plot_bottom), stroke=GRID))
        body.append(
            _el(
                "text",
                str(escape(format_value(tick))),
                x=x,
                y=float(plot_bottom + 16),
                text_anchor="middle",
                font_size=SMALL,
                fill=MUTED,
            )
        )
    body.append(
        _el(
            "line", x1=float(plot_left), y1=float(plot_bottom), x2=float(plot_right), y2=float(plot_bottom), stroke=AXIS
        )
    )
    body.append(
        _el("line", x1=float(plot_left), y1=float(plot_top), x2=float(plot_left), y2=float(plot_bottom), stroke=AXIS)
    )
    body.append(
        _el(
            "text",
            str(escape(str(x_label))),
            x=float(plot_left + plot_w / 2),
            y=float(plot_bottom + 36),
            text_anchor="middle",
            font_weight="600",
        )
    )
    mid_y = (plot_top + plot_bottom) / 2
    body.append(
        _el(
            "text",
            str(escape(str(y_label))),
            x=12.0,
            y=mid_y,
            text_anchor="middle",
            font_weight="600",
            transform=f"rotate(-90 12 {_num(mid_y)})",
        )
    )
    for x, y, label, group in clean:
        colour, shape = styles[group]
        body.append(
            "<g>"
            + _el("title", str(escape(f"{label} ({group}): {format_value(x)}, {format_value(y)}")))
            + _marker(shape, px(x), py(y), 4.5, colour, opacity=0.85)
            + "</g>"
        )
    legend_y = plot_bottom + x_axis_h
    body.append(f'<g transform="translate(0 {_num(legend_y)})">' + "".join(legend_parts) + "</g>")
    summary = (
        f"{len(clean):,} points; {x_label} across, {y_label} up; "
        + ", ".join(f"{g}: {counts[g]:,}" for g in order)
        + "."
    )
    return _svg("scatter", uid, width, height, title, _describe(desc, summary), body)
