"""A small SVG writer for the charts of the dashboards: the same figures matplotlib drew, without its cost.

Drawing one box plot of 1,200 points through matplotlib's SVG canvas took about 90 ms of CPU (tick locators of
log axes, text layout of every label, one element per marker), most of a cold method comparison. A box plot is
simple enough to write directly: axes, decade (or 1-2-5) ticks, one box per group with its median and 1.5 IQR
whiskers as matplotlib draws them, the points spread over it, n under each box, the title and the axis label
with its unit. Text stays text, so the page's words are in the chart.

The other charts (``svg_scatter``, ``svg_trend``, ``svg_control``) are written with the pieces below: an ``Axis``
that places values (log or linear) and chooses its ticks, marker shapes drawn with SVG ``<marker>`` on the
vertices of one path per group (the path's vertices are the data points, in pixels), and ``document`` with the
title and description a screen reader reads.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np

from ..core.numbers import superscript_exponent

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


# -- pieces of the other charts --------------------------------------------------------------------------------

FONT = 'font-family="DejaVu Sans, sans-serif" font-size="11"'


def document(width: int, height: int, title: str, description: str, parts: list[str]) -> str:
    """The SVG text: its title and description first (what a screen reader says), a white page, the parts."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="title desc" {FONT}>\n'
        f'<title id="title">{escape(title)}</title>\n<desc id="desc">{escape(description)}</desc>\n'
        f'<rect width="{width}" height="{height}" fill="white"/>'
    )
    return "\n".join([head, *parts, "</svg>"])


def _decade_label(exponent: int, mantissa: int = 1) -> str:
    power = "10" + str(exponent).translate(SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa}×{power}"


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Powers of ten within [low, high] (every other one, or fewer, past 8 decades); a range narrower than two
    decades gets 1-2-5, then every whole multiple, of its decades, as matplotlib labels a short log axis."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    if last - first >= 1:
        step = max(1, math.ceil((last - first + 1) / 8))
        return [(10.0**k, _decade_label(k)) for k in range(first, last + 1, step)]
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1, 2, 5), tuple(range(1, 10))):
        ticks = [(m * 10.0**k, _decade_label(k, m)) for k in decades for m in mantissas if low <= m * 10.0**k <= high]
        if len(ticks) >= 3:
            break
    return ticks


def linear_ticks(low: float, high: float, *, whole: bool = False) -> list[tuple[float, str]]:
    """1-2-5 steps within [low, high], five to ten of them; ``whole`` keeps whole numbers (run order)."""
    raw = (high - low) / 8
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1) if whole else step
    count = int(math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9)) + 1
    values = [(math.ceil(low / step - 1e-9) + i) * step for i in range(count)]
    return [(value, superscript_exponent(format(value, ".4g")) if value else "0") for value in values]


@dataclass
class Axis:
    """Values between ``low`` and ``high`` placed between pixels ``start`` and ``end`` (on a y axis start is
    the bottom), on a log10 scale when ``log``."""

    low: float
    high: float
    log: bool
    start: float
    end: float
    whole: bool = False
    ticks: list = field(init=False)

    def __post_init__(self):
        scaled = (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)
        self._origin, self._span = scaled[0], (scaled[1] - scaled[0]) or 1.0
        self.ticks = log_ticks(self.low, self.high) if self.log else linear_ticks(self.low, self.high, whole=self.whole)

    @classmethod
    def fit(cls, values, *, log: bool, start: float, end: float, pad: float = 0.05, headroom: float = 0.0, **more):
        """The axis that shows every value with ``pad`` of its span to spare (more above: ``headroom``)."""
        values = np.asarray(values, dtype=float)
        low, high = (np.log10(values.min()), np.log10(values.max())) if log else (values.min(), values.max())
        if high - low < 1e-9:  # one value: a decade (or ±10 %) around it
            spread = 0.5 if log else (abs(low) * 0.1 or 1.0)
            low, high = low - spread, high + spread
        span = high - low
        low, high = low - pad * span, high + (pad + headroom) * span
        return cls(10.0**low, 10.0**high, log, start, end, **more) if log else cls(low, high, log, start, end, **more)

    def at(self, values):
        """Pixel place of one value or of an array of them."""
        values = np.asarray(values, dtype=float)
        scaled = np.log10(values) if self.log else values
        places = self.start + (scaled - self._origin) / self._span * (self.end - self.start)
        return float(places) if places.ndim == 0 else places


def frame(x: Axis, y: Axis, x_label: str, y_label: str, *, rotate_x: bool = False) -> list[str]:
    """The two axes with their ticks, tick labels and titles (the figure with its unit)."""
    left, bottom = x.start, y.start
    parts = [
        f'<line x1="{left}" y1="{y.end}" x2="{left}" y2="{bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{x.end}" y2="{bottom}" stroke="black"/>',
        f'<text transform="translate(16 {(y.start + y.end) / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>",
        f'<text x="{(x.start + x.end) / 2:.1f}" y="{bottom + (62 if rotate_x else 36)}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
    ]
    for value, label in y.ticks:
        at = y.at(value)
        parts.append(f'<line class="y-tick" x1="{left - 4}" y1="{at:.2f}" x2="{left}" y2="{at:.2f}" stroke="black"/>')
        parts.append(f'<text class="y-tick" x="{left - 7}" y="{at + 4:.2f}" text-anchor="end">{escape(label)}</text>')
    for value, label in x.ticks:
        at = x.at(value)
        parts.append(
            f'<line class="x-tick" x1="{at:.2f}" y1="{bottom}" x2="{at:.2f}" y2="{bottom + 4}" stroke="black"/>'
        )
        place = f'x="{at:.2f}" y="{bottom + 16}" text-anchor="middle"'
        if rotate_x:
            place = f'transform="translate({at:.2f} {bottom + 12}) rotate(-45)" text-anchor="end"'
        parts.append(f'<text class="x-tick" {place}>{escape(label)}</text>')
    return parts


# Marker outlines about (0, 0), radius 4 px: drawn on every vertex of a group's path, so a path's vertices are the
# group's points. (outline, drawn by stroke only)
SHAPES = {
    "circle": ("M-3.5 0a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0z", False),
    "square": ("M-3.2 -3.2h6.4v6.4h-6.4z", False),
    "triangle": ("M0 -4.2l3.9 6.6h-7.8z", False),
    "diamond": ("M0 -4.4l4 4.4l-4 4.4l-4 -4.4z", False),
    "triangle-down": ("M0 4.2l3.9 -6.6h-7.8z", False),
    "plus": ("M-4 0h8M0 -4v8", True),
    "cross": ("M-3.6 -3.6l7.2 7.2M-3.6 3.6l7.2 -7.2", True),
}


def marker_def(name: str, shape: str, colour: str, *, filled: bool, scale: float = 1.0) -> str:
    outline, stroked = SHAPES[shape]
    fill = "none" if stroked else (colour if filled else "white")
    width = 2.2 if stroked else 1.2
    return (
        f'<marker id="{name}" markerUnits="userSpaceOnUse" viewBox="-6 -6 12 12" markerWidth="{12 * scale:g}" '
        f'markerHeight="{12 * scale:g}" overflow="visible"><path d="{outline}" fill="{fill}" stroke="{colour}" '
        f'stroke-width="{width}"/></marker>'
    )


def marked_path(marker: str, xs, ys, *, group: str = "") -> str:
    """One path through the points whose every vertex carries ``marker`` (the first point is repeated so the
    path has a segment: a lone point is drawn too). The path itself is not painted."""
    vertices = "L".join(f"{x:.2f} {y:.2f}" for x, y in zip(xs, ys, strict=True))
    first = vertices.split("L", 1)[0]
    url = f"url(#{marker})"
    return (
        f'<path class="points" data-group="{escape(group, {chr(34): "&quot;"})}" d="M{first}L{vertices}" '
        f'fill="none" stroke="none" marker-mid="{url}" marker-end="{url}"/>'
    )


def legend_columns(entries: list[tuple[str, str]], width: float, most: int) -> int:
    """As many columns as the longest entry leaves room for (about 6.5 px a character at 11 px), at most ``most``."""
    longest = max((len(words) for _, words in entries), default=0) * 6.5 + 28
    return max(1, min(most, int(width // longest)))


def legend(entries: list[tuple[str, str]], left: float, top: float, width: float, columns: int) -> list[str]:
    """(marker id, words) entries in rows of ``columns`` below the plot: the legend never hides a point."""
    parts = []
    column_width = width / columns
    for index, (marker, words) in enumerate(entries):
        x = left + (index % columns) * column_width
        y = top + (index // columns) * 16
        parts.append(marked_path(marker, [x + 6], [y - 4]).replace('class="points"', 'class="legend-mark"'))
        parts.append(f'<text class="legend" x="{x + 16:.1f}" y="{y:.1f}">{escape(words)}</text>')
    return parts
