"""Charts drawn on the server as inline SVG: no JavaScript, no library, nothing
loaded from elsewhere.

Each chart is an image for sighted readers (role="img", a <title> and a <desc>);
the page puts the same numbers in a <table> next to it for everyone else. In a
right-to-left page the charts are mirrored: time runs from right to left, bars
grow leftwards and the value axis sits on the right. Numbers and dates arrive
formatted (digits per campaign), so this module knows nothing of Flask or Babel.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Format = Callable[[int], str]


@dataclass(frozen=True)
class Series:
    """One coloured set of values; ``key`` picks the colour (CSS .series-<key>)."""

    key: str
    label: str
    values: Sequence[int]


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Round tick values from 0 to at least ``maximum``: steps of 1, 2 or 5 × 10ⁿ."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Svg:
    """Collects SVG elements; knows which way the page reads."""

    def __init__(self, chart_id: str, title: str, description: str, width: int, height: int, rtl: bool):
        self.rtl = rtl
        self.direction = "rtl" if rtl else "ltr"
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" direction="{self.direction}" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        ]

    def anchor(self, side: str) -> str:
        """text-anchor for text whose physical ``side`` ("left", "right", "middle")
        sits at x, whatever the reading direction."""
        if side == "middle":
            return "middle"
        return "start" if (side == "left") != self.rtl else "end"

    def text(self, x: float, y: float, content: str, side: str, css: str = "") -> None:
        css_attr = f' class="{css}"' if css else ""
        self.parts.append(
            f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{self.anchor(side)}" direction="{self.direction}"'
            f"{css_attr}>{escape(content)}</text>"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, css: str) -> None:
        self.parts.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" class="{css}"/>')

    def rect(self, x: float, y: float, w: float, h: float, css: str, tooltip: str) -> None:
        self.parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" class="{css}">'
            f"<title>{escape(tooltip)}</title></rect>"
        )

    def markup(self) -> Markup:
        return Markup("".join(self.parts) + "</svg>")


def _truncate(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _value_axis(svg: _Svg, width: int, height: int, max_value: float, fmt: Format):
    """Draw the gridlines and value labels of a vertical axis (on the reading side's
    start). Returns the plot's horizontal extent, its baseline and the value→y map."""
    axis_w, end_pad, top_pad, bottom_pad = 56, 16, 14, 40
    x0, x1 = (end_pad, width - axis_w) if svg.rtl else (axis_w, width - end_pad)
    y_bottom, y_top = height - bottom_pad, top_pad
    ticks = nice_ticks(max_value)
    top_value = ticks[-1]

    def y(value: float) -> float:
        return y_bottom - (value / top_value) * (y_bottom - y_top)

    for tick in ticks:
        svg.line(x0, y(tick), x1, y(tick), "grid" if tick else "axis")
        if svg.rtl:
            svg.text(x1 + 6, y(tick) + 4, fmt(tick), "left", "tick")
        else:
            svg.text(x0 - 6, y(tick) + 4, fmt(tick), "right", "tick")
    return x0, x1, y_bottom, y


def column_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    rtl: bool,
    width: int = 720,
    height: int = 280,
) -> Markup:
    """Stacked columns over time (one column per category, e.g. per day), with a
    value axis and labelled time axis."""
    svg = _Svg(chart_id, title, description, width, height, rtl)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    x0, x1, y_bottom, y = _value_axis(svg, width, height, max(totals, default=0), fmt)
    n = max(1, len(categories))
    band = (x1 - x0) / n
    bar_w = max(1.0, band * 0.72)
    every = max(1, math.ceil(n / max(1, int((x1 - x0) // 72))))
    for i, category in enumerate(categories):
        start = x1 - (i + 1) * band if rtl else x0 + i * band
        base = 0
        for s in series:
            value = s.values[i]
            if value:
                svg.rect(start + (band - bar_w) / 2, y(base + value), bar_w, y(base) - y(base + value),
                         f"bar series-{s.key}", f"{category} · {s.label}: {fmt(value)}")
            base += value
        if i % every == 0:
            svg.text(start + band / 2, y_bottom + 18, category, "middle", "tick")
    return svg.markup()


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Series,
    fmt: Format,
    rtl: bool,
    width: int = 720,
    height: int = 240,
) -> Markup:
    """A running total over time, e.g. confirmed signatures to date."""
    svg = _Svg(chart_id, title, description, width, height, rtl)
    x0, x1, y_bottom, y = _value_axis(svg, width, height, max(series.values, default=0), fmt)
    n = max(1, len(categories))
    band = (x1 - x0) / n
    points = []
    every = max(1, math.ceil(n / max(1, int((x1 - x0) // 72))))
    for i, category in enumerate(categories):
        cx = (x1 - (i + 0.5) * band) if rtl else (x0 + (i + 0.5) * band)
        points.append((cx, y(series.values[i])))
        if i % every == 0:
            svg.text(cx, y_bottom + 18, category, "middle", "tick")
    if points:
        path = " ".join(f"{_f(px)},{_f(py)}" for px, py in points)
        svg.parts.append(f'<polyline points="{path}" class="line series-{series.key}"/>')
        if n <= 45:
            for (px, py), category, value in zip(points, categories, series.values):
                svg.parts.append(
                    f'<circle cx="{_f(px)}" cy="{_f(py)}" r="3" class="dot series-{series.key}">'
                    f"<title>{escape(category)} · {escape(series.label)}: {escape(fmt(value))}</title></circle>"
                )
    return svg.markup()


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    rtl: bool,
    width: int = 560,
    row_height: int = 30,
) -> Markup:
    """Horizontal bars, one row per label. With several series the bars overlap,
    largest first (e.g. signatures, and inside them the confirmed ones)."""
    n = len(labels)
    top_pad, bottom_pad = 8, 8
    height = top_pad + max(1, n) * row_height + bottom_pad
    svg = _Svg(chart_id, title, description, width, height, rtl)
    label_w, value_w = 170, 70
    maximum = max((v for s in series for v in s.values), default=0) or 1
    span = width - label_w - value_w - 16

    for i, label in enumerate(labels):
        top = top_pad + i * row_height
        mid = top + row_height / 2
        if rtl:
            svg.text(width - 8, mid + 4, _truncate(label, 24), "right", "label")
        else:
            svg.text(8, mid + 4, _truncate(label, 24), "left", "label")
        bar_h = row_height * 0.62
        widest = 0.0
        for depth, s in enumerate(series):
            value = s.values[i]
            w = span * value / maximum
            widest = max(widest, w)
            h = bar_h if depth == 0 else bar_h * 0.55
            y = mid - h / 2
            x = (width - label_w - w) if rtl else label_w
            if value:
                svg.rect(x, y, max(w, 1.0), h, f"bar series-{s.key}", f"{label} · {s.label}: {fmt(value)}")
        values = " / ".join(fmt(s.values[i]) for s in series)
        if rtl:
            svg.text(width - label_w - widest - 6, mid + 4, values, "right", "value")
        else:
            svg.text(label_w + widest + 6, mid + 4, values, "left", "value")
    return svg.markup()
