"""Small charts drawn on the server as SVG text: no JavaScript, no CDN, nothing inline that the
Content-Security-Policy refuses (presentation attributes only, never `style`).

Plain Python, no Django: labels and numbers in, an SVG string out. Every label is escaped
here, so the caller may mark the result safe. The viewBox is fixed (600 × 260 user units);
the browser scales the picture to its panel, so 13-unit text stays readable in a two-column
layout at 1400 px.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape as _html_escape

WIDTH = 600
HEIGHT = 260
# Room for the value axis on the left, the category labels below, the legend on top.
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 44
FONT = 13
TEXT = "#222222"
GRID = "#d0d0d0"
# Okabe–Ito: told apart by people with the common colour-vision deficiencies, and each dark
# enough against white to carry meaning without its label.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")

Number = int | float | Decimal


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]
    colour: str = ""


# Characters XML cannot carry (controls, lone surrogates): a label never needs them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str, quote: bool = True) -> str:
    return _html_escape(_NOT_XML.sub("", text), quote=quote)


def _number(value: Number | None) -> float:
    """Missing or negative amounts draw as nothing: a bar never grows downwards."""
    if value is None:
        return 0.0
    return max(float(value), 0.0)


def _attr(text) -> str:
    return escape(str(text), quote=True)


def _text(x: float, y: float, label, *, anchor: str = "middle", size: int = FONT) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{TEXT}">{escape(str(label))}</text>'
    )


def _open(title: str, extra_height: int = 0) -> str:
    height = HEIGHT + extra_height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="dashboard-chart" role="img" aria-label="{_attr(title)}" '
        f'font-family="system-ui, sans-serif"><title>{escape(str(title))}</title>'
    )


def _empty(title: str, message: str) -> str:
    return _open(title) + _text(WIDTH / 2, HEIGHT / 2, message) + "</svg>"


def _colour(series: Series, index: int) -> str:
    return _attr(series.colour or PALETTE[index % len(PALETTE)])


def _legend(series: Sequence[Series]) -> str:
    parts, x = [], LEFT
    for i, s in enumerate(series):
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{_colour(s, i)}"/>')
        parts.append(_text(x + 16, 19, s.name, anchor="start", size=12))
        x += 28 + 8 * len(str(s.name))
    return "".join(parts)


def _grid(top_value: float, fmt) -> str:
    """Three horizontal lines (0, half, top) with their values on the left."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for share in (0, 0.5, 1):
        y = TOP + plot_h * (1 - share)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, fmt(top_value * share), anchor="end", size=11))
    return "".join(parts)


def _tip(label, name: str, value: float) -> str:
    return f"{label} · {name}: {value:,.2f}" if name else f"{label}: {value:,.2f}"


def short_number(value: float) -> str:
    """Axis numbers: 1.2M, 35k, 7."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[Number],
    *,
    title: str,
    value_labels: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    empty: str = "No data",
) -> str:
    """One bar per label, the largest value reaching the top of the plot."""
    return stacked_bar_chart(
        labels,
        [Series("", values)],
        title=title,
        totals=value_labels,
        bar_colours=colours,
        empty=empty,
    )


def stacked_bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    totals: Sequence[str] | None = None,
    bar_colours: Sequence[str] | None = None,
    empty: str = "No data",
) -> str:
    """Each label's bar stacks every series' value on it; the tallest stack reaches the top.
    `totals` are written above the bars; `bar_colours` colours a single series bar by bar."""
    n = len(labels)
    stacks = [sum(_number(s.values[i]) for s in series if i < len(s.values)) for i in range(n)]
    if not n or max(stacks, default=0) <= 0:
        return _empty(title, empty)
    top = max(stacks)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = min(slot * 0.7, 90)
    named = [s for s in series if s.name]
    parts = [_open(title), _grid(top, short_number), _legend(named) if named else ""]
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = TOP + plot_h
        for j, s in enumerate(series):
            value = _number(s.values[i]) if i < len(s.values) else 0.0
            h = plot_h * value / top
            if h <= 0:
                continue
            colour = _attr(bar_colours[i]) if bar_colours and len(series) == 1 else _colour(s, j)
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(_tip(label, s.name, value))}</title></rect>'
            )
            base -= h
        if totals and i < len(totals):
            parts.append(_text(x + bar_w / 2, base - 5, totals[i], size=12))
        parts.append(_text(LEFT + slot * i + slot / 2, HEIGHT - BOTTOM + 18, label))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt=short_number,
    max_labels: int = 6,
    empty: str = "No data",
) -> str:
    """One line per series over the labels (oldest first). Only about `max_labels` category
    labels are written, the first and the last always, so long ranges stay legible."""
    n = len(labels)
    points = [_number(v) for s in series for v in s.values]
    if not n or not points:
        return _empty(title, empty)
    top = max(points) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / (n - 1) if n > 1 else 0

    def x_at(i: int) -> float:
        return LEFT + (step * i if n > 1 else plot_w / 2)

    parts = [_open(title), _grid(top, fmt), _legend([s for s in series if s.name])]
    for j, s in enumerate(series):
        coords = [
            f"{x_at(i):.1f},{TOP + plot_h * (1 - _number(v) / top):.1f}"
            for i, v in enumerate(s.values[:n])
            if v is not None
        ]
        if not coords:
            continue
        colour = _colour(s, j)
        parts.append(
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5"/>'
        )
        for c in coords:
            cx, cy = c.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    every = max(1, -(-n // max_labels))  # ceil(n / max_labels)
    shown = {i for i in range(0, n, every)} | {n - 1}
    for i in sorted(shown):
        if i == n - 1 or n - 1 - i >= every / 2:  # keep the last label clear of its neighbour
            parts.append(_text(x_at(i), HEIGHT - BOTTOM + 18, labels[i], size=12))
    parts.append("</svg>")
    return "".join(parts)
