"""Charts as inline SVG drawn on the server: no JavaScript, printable, readable without a network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#0b6bcb", "#2e7d32", "#c62828", "#b26a00", "#6a1b9a", "#00838f", "#5d4037")
WIDTH, HEIGHT = 640, 266
#: BOTTOM holds two staggered rows of axis labels and the legend.
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 72
LABEL_SIZE = 11
#: Space kept between two labels on one row.
LABEL_GAP = 6


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str = ""


def _colors(series: Sequence[Series]) -> list[str]:
    return [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step:
            return step
    return value


def _frame(labels: Sequence[str], y_max: float, unit: str, title: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e3e7ec"/>')
        text = f"{value:g}{unit}"
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7785">{text}</text>')
    parts += _axis_labels(labels)
    return parts


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    """A label's width in user units, generously: CJK, full-width characters and dashes one em, others 0.62 em."""
    return sum(size if ord(ch) >= 0x2000 else size * 0.62 for ch in text)


def label_layout(labels: Sequence[str]) -> tuple[int, int]:
    """(rows, every): labels on one row, or staggered on two, and every how many one is shown, so that no two
    labels on a row come closer than LABEL_GAP (their boxes never overlap)."""
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    widest = max((text_width(label) for label in labels), default=0) + LABEL_GAP
    if widest <= step:
        return 1, 1
    return 2, max(1, math.ceil(widest / (2 * step)))


def _axis_labels(labels: Sequence[str]) -> list[str]:
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    rows, every = label_layout(labels)
    parts = []
    for shown, i in enumerate(range(0, len(labels), every)):
        x = LEFT + step * (i + 0.5)
        # A CJK font's line box is about 1.5 em tall: rows 1.6 em apart, the first clear of the 0 tick.
        y = HEIGHT - BOTTOM + 24 + (18 * (shown % 2) if rows == 2 else 0)
        parts.append(f'<text class="axis-label" x="{x:.1f}" y="{y}" text-anchor="middle" font-size="{LABEL_SIZE}" '
                     f'fill="#3a4754">{escape(labels[i])}</text>')
    return parts


def _legend(series: Sequence[Series], colors: list[str]) -> list[str]:
    parts, x = [], LEFT
    for s, color in zip(series, colors, strict=True):
        parts.append(f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 7}" font-size="11" fill="#3a4754">{escape(s.name)}</text>')
        x += 24 + 12 * len(s.name)
    return parts


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, y_max: float | None = None,
               unit: str = "") -> Markup:
    values = [v for s in series for v in s.values if v is not None]
    top = y_max or _nice_max(max(values, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    colors = _colors(series)
    parts = _frame(labels, top, unit, title)
    for s, color in zip(series, colors, strict=True):
        points = [(LEFT + step * (i + 0.5), TOP + plot_h - plot_h * min(v, top) / top)
                  for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), v in zip(points, [v for v in s.values if v is not None], strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(s.name)} '
                         f'{v:g}{unit}</title></circle>')
    parts += _legend(series, colors)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, stacked: bool = False,
              y_max: float | None = None, unit: str = "") -> Markup:
    if stacked:
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    else:
        totals = [v or 0 for s in series for v in s.values]
    top = y_max or _nice_max(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    colors = _colors(series)
    parts = _frame(labels, top, unit, title)
    group_w = step * 0.7
    bar_w = group_w if stacked else group_w / max(len(series), 1)
    for i, label in enumerate(labels):
        base = TOP + plot_h
        for j, (s, color) in enumerate(zip(series, colors, strict=True)):
            value = s.values[i] or 0
            h = plot_h * min(value, top) / top
            x = LEFT + step * i + (step - group_w) / 2 + (0 if stacked else j * bar_w)
            y = base - h
            if value:
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                             f'fill="{color}"><title>{escape(label)} {escape(s.name)} {value:g}{unit}</title></rect>')
            if stacked:
                base = y
    parts += _legend(series, colors)
    parts.append("</svg>")
    return Markup("".join(parts))
