"""A small SVG writer for the box plots of the dashboards: the same figures matplotlib drew, without its cost.

Drawing one box plot of 1,200 points through matplotlib's SVG canvas took about 90 ms of CPU (tick locators of
log axes, text layout of every label, one element per marker), most of a cold method comparison. A box plot is
simple enough to write directly: axes, decade (or 1-2-5) ticks, one box per group with its median and 1.5 IQR
whiskers as matplotlib draws them, the points spread over it, n under each box, the title and the axis label
with its unit. Text stays text, so the page's words are in the chart.
"""

from __future__ import annotations

import base64
import math
from xml.sax.saxutils import escape

import numpy as np

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 96, 622, 40, 282
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _ticks(low: float, high: float, log: bool) -> list[tuple[float, str]]:
    if log:
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        step = max(1, math.ceil((last - first) / 8))
        return [(10.0**k, "10" + str(k).translate(SUPERSCRIPT)) for k in range(first, last + 1, step)]
    if high <= low:
        high = low + 1
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    count = int(math.ceil((high - start) / step)) + 1
    return [(start + i * step, f"{start + i * step:g}") for i in range(count)]


def _box(points: list[float]) -> tuple[float, float, float, float, float]:
    """Quartiles and the whiskers' ends: the furthest points within 1.5 IQR of the box, as matplotlib draws."""
    values = np.asarray(points, dtype=float)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    spread = 1.5 * (q3 - q1)
    low = values[values >= q1 - spread].min()
    high = values[values <= q3 + spread].max()
    return float(low), float(q1), float(median), float(q3), float(high)


def box_plot_svg(title: str, y_label: str, groups: list, *, log: bool, colours) -> str:
    """``groups``: [name, points] pairs. Returns the SVG text."""
    every = [value for _, points in groups for value in points]
    low, high = min(every), max(every)
    ticks = _ticks(low, high, log)
    bottom_value, top_value = min(low, ticks[0][0]), max(high, ticks[-1][0])
    if log:
        scale_low, scale_high = math.log10(bottom_value), math.log10(top_value)
    else:
        scale_low, scale_high = bottom_value, top_value
    span = (scale_high - scale_low) or 1.0

    def y(value: float) -> float:
        scaled = math.log10(value) if log else value
        return BOTTOM - (scaled - scale_low) / span * (BOTTOM - TOP)

    slot = (RIGHT - LEFT) / len(groups)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="DejaVu Sans, sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="{TOP - 14}" font-size="12">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="black"/>',
        f'<text transform="translate(18 {(TOP + BOTTOM) / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>",
    ]
    for value, label in ticks:
        at = y(value)
        parts.append(f'<line x1="{LEFT - 4}" y1="{at:.1f}" x2="{LEFT}" y2="{at:.1f}" stroke="black"/>')
        parts.append(f'<text x="{LEFT - 7}" y="{at + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    for index, (name, points) in enumerate(groups):
        centre = LEFT + slot * (index + 0.5)
        half = min(slot * 0.25, 60)
        colour = colours[index % len(colours)]
        whisker_low, q1, median, q3, whisker_high = _box(points)
        parts += [
            f'<line x1="{centre:.1f}" y1="{y(whisker_low):.1f}" x2="{centre:.1f}" y2="{y(q1):.1f}" stroke="black"/>',
            f'<line x1="{centre:.1f}" y1="{y(q3):.1f}" x2="{centre:.1f}" y2="{y(whisker_high):.1f}" stroke="black"/>',
            f'<line x1="{centre - half / 2:.1f}" y1="{y(whisker_low):.1f}" x2="{centre + half / 2:.1f}" '
            f'y2="{y(whisker_low):.1f}" stroke="black"/>',
            f'<line x1="{centre - half / 2:.1f}" y1="{y(whisker_high):.1f}" x2="{centre + half / 2:.1f}" '
            f'y2="{y(whisker_high):.1f}" stroke="black"/>',
            f'<rect x="{centre - half:.1f}" y="{y(q3):.1f}" width="{2 * half:.1f}" '
            f'height="{max(y(q1) - y(q3), 0.5):.1f}" fill="none" stroke="black"/>',
            f'<line x1="{centre - half:.1f}" y1="{y(median):.1f}" x2="{centre + half:.1f}" y2="{y(median):.1f}" '
            'stroke="black" stroke-width="1.6"/>',
        ]
        # A fixed spread instead of random jitter keeps the drawing identical between requests.
        offsets = np.linspace(-0.24, 0.24, len(points)) * half * 2 if len(points) > 1 else np.zeros(1)
        path = "".join(f"M{centre + dx:.1f} {y(value):.1f}h0" for dx, value in zip(offsets, points, strict=True))
        parts.append(f'<path d="{path}" stroke="{colour}" stroke-width="6" stroke-linecap="round" opacity="0.8"/>')
        parts.append(f'<text x="{centre:.1f}" y="{BOTTOM + 16}" text-anchor="middle">{escape(name)}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{BOTTOM + 30}" text-anchor="middle">n={len(points)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
