"""The yield–purity scatter of the method comparison, written as SVG directly (``svg`` has the pieces).

Through matplotlib this chart cost about 130 ms of CPU on a cold view (log locators, a legend placed by search,
a rasterised layer above 1,000 points). It is log–log: particles per mL input across, particles per µg protein
up, decade ticks on both; one marker shape (filled and open alternate) and colour per protocol, named in the
legend below the plot with its n; the purity class bounds of thresholds.yaml as dashed lines, each labelled
with its class and bound.

Many points: above ``VECTOR_POINTS`` the markers of a protocol are snapped to a ``MERGE_PX`` grid and a place
already marked is not marked again. A 7-px marker moved by at most 1.5 px looks the same, and a pile of markers
on one place shows no more than one; the chart stays a few hundred kB at any lab size, while a bitmap of the
points (what matplotlib embedded) would cost an image encoder on every cold view. The legend's n still counts
every preparation, and the numbers are in the page's table and CSV.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.numbers import superscript_exponent
from . import svg

WIDTH = 640
LEFT, RIGHT, TOP, PLOT_BOTTOM = 96, 622, 40, 312
LEGEND_COLUMNS = 3
# Distinguishable without colour, in this order: filled and open shapes alternate.
MARKERS = (
    ("circle", True),
    ("square", False),
    ("triangle", True),
    ("diamond", False),
    ("triangle-down", True),
    ("plus", False),
    ("cross", True),
)
VECTOR_POINTS = 1000
MERGE_PX = 3.0


def marker_of(index: int) -> tuple[str, bool]:
    return MARKERS[index % len(MARKERS)]


def merged(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The places of a group's markers on a ``MERGE_PX`` grid, each once, in the order first met."""
    cells = np.round(np.column_stack([xs, ys]) / MERGE_PX)
    _, first = np.unique(cells, axis=0, return_index=True)
    first.sort()
    return cells[first, 0] * MERGE_PX, cells[first, 1] * MERGE_PX


def scatter_svg(
    groups: list, bands, *, title: str, x_label: str, y_label: str, colours, vector_points: int = VECTOR_POINTS
) -> str:
    """``groups``: [name, xs, ys] with every value above zero; ``bands``: (words, lower bound) of the purity
    classes, drawn where they fall on the y axis. Returns the SVG text."""
    every_x = np.concatenate([np.asarray(xs, dtype=float) for _, xs, _ in groups])
    every_y = np.concatenate([np.asarray(ys, dtype=float) for _, _, ys in groups])
    bounds = [(words, lower) for words, lower in bands if math.isfinite(lower) and lower > 0]
    x = svg.Axis.fit(every_x, log=True, start=LEFT, end=RIGHT)
    y = svg.Axis.fit(np.concatenate([every_y, [lower for _, lower in bounds]]), log=True, start=PLOT_BOTTOM, end=TOP)
    entries = [(f"m{index}", f"{name} (n={len(xs)})") for index, (name, xs, _) in enumerate(groups)]
    columns = svg.legend_columns(entries, RIGHT - LEFT, LEGEND_COLUMNS)
    height = PLOT_BOTTOM + 56 + 16 * math.ceil(len(groups) / columns)
    merge = len(every_x) > vector_points
    parts = [f'<text x="{LEFT}" y="{TOP - 16}" font-size="12">{svg.escape(title)}</text>']
    parts += svg.frame(x, y, x_label, y_label)
    for words, lower in bounds:
        at = y.at(lower)
        shown = f"{words} from {superscript_exponent(format(lower, '.1e'))}"
        parts.append(
            f'<line class="band" data-value="{float(lower)!r}" x1="{LEFT}" y1="{at:.2f}" x2="{RIGHT}" y2="{at:.2f}" '
            'stroke="#999" stroke-width="0.8" stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text class="band" x="{RIGHT - 2}" y="{at - 3:.2f}" text-anchor="end" fill="#595959" font-size="9" '
            'stroke="white" stroke-width="3" paint-order="stroke">'
            f"{svg.escape(shown)}</text>"
        )
    for index, (name, xs, ys) in enumerate(groups):
        shape, filled = marker_of(index)
        marker = f"m{index}"
        colour = colours[index % len(colours)]
        parts.insert(0, svg.marker_def(marker, shape, colour, filled=filled))
        places_x, places_y = x.at(np.asarray(xs, dtype=float)), y.at(np.asarray(ys, dtype=float))
        if merge:
            places_x, places_y = merged(places_x, places_y)
        parts.append(svg.marked_path(marker, places_x, places_y, group=name))
    parts += svg.legend(entries, LEFT, PLOT_BOTTOM + 56, RIGHT - LEFT, columns)
    parts.insert(0, "<defs>")
    parts.insert(len(groups) + 1, "</defs>")
    description = (
        f"{len(every_x)} preparations of {len(groups)} protocol{'s' if len(groups) != 1 else ''}, "
        f"{x_label} across and {y_label} up, both on log axes; "
        + ("the purity class bounds are dashed lines. " if bounds else "")
        + (f"Markers closer than {MERGE_PX:g} px are drawn once. " if merge else "")
        + "The numbers are in the table of preparations."
    )
    return svg.document(WIDTH, height, title, description, parts)
