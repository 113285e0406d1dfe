"""The dashboard's monthly trend of one figure, written as SVG directly (``svg`` has the pieces).

Months across (one slot each, labels slanted from eight months on), the monthly mean up on a log axis with
decade ticks, joined by a line; ± SD as a bar with caps where the month has an SD that stays above zero (n ≥ 2
and SD < mean: a bar to zero or below has no place on a log axis), and n written beside each mean.
"""

from __future__ import annotations

import numpy as np

from . import svg

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 96, 622, 40, 236
SLANTED_FROM = 8
COLOUR = "#1f4e79"


def shown_sd(mean: float, sd: float | None) -> float:
    """The SD drawn for a month: none (0) where there is none or where mean − SD would not be above zero."""
    return sd if sd is not None and sd < mean else 0.0


def trend_svg(title: str, y_label: str, rows: list) -> str:
    """``rows``: [month, mean, sd or None, n] in month order, every mean above zero. Returns the SVG text."""
    means = np.array([row[1] for row in rows], dtype=float)
    errors = np.array([shown_sd(row[1], row[2]) for row in rows], dtype=float)
    slanted = len(rows) >= SLANTED_FROM
    bottom = BOTTOM - (26 if slanted else 0)
    y = svg.Axis.fit(np.concatenate([means - errors, means + errors]), log=True, start=bottom, end=TOP, headroom=0.05)
    slot = (RIGHT - LEFT) / len(rows)
    x = svg.Axis(0.0, float(len(rows)), False, LEFT, RIGHT)
    x.ticks = [(index + 0.5, str(row[0])) for index, row in enumerate(rows)]
    places = x.at(np.arange(len(rows)) + 0.5)
    heights = y.at(means)
    parts = [
        "<defs>" + svg.marker_def("mean", "circle", COLOUR, filled=True) + "</defs>",
        f'<text x="{LEFT}" y="{TOP - 16}" font-size="12">{svg.escape(title)}</text>',
        *svg.frame(x, y, "Month", y_label, rotate_x=slanted),
    ]
    for place, mean, error in zip(places, means, errors, strict=True):
        if error:
            low, high = y.at(mean - error), y.at(mean + error)
            cap = min(slot * 0.15, 4)
            parts.append(
                f'<path class="sd" data-mean="{float(mean)!r}" data-sd="{float(error)!r}" '
                f'd="M{place:.2f} {low:.2f}V{high:.2f}'
                f'M{place - cap:.2f} {low:.2f}h{2 * cap:.2f}M{place - cap:.2f} {high:.2f}h{2 * cap:.2f}" '
                f'stroke="{COLOUR}" fill="none"/>'
            )
    line = "L".join(f"{place:.2f} {height:.2f}" for place, height in zip(places, heights, strict=True))
    parts.append(f'<path d="M{line}" stroke="{COLOUR}" stroke-width="1.5" fill="none"/>')
    parts.append(svg.marked_path("mean", places, heights, group="monthly mean"))
    parts += [
        f'<text class="n" x="{place + 4:.2f}" y="{height - 5:.2f}" font-size="9">n={row[3]}</text>'
        for place, height, row in zip(places, heights, rows, strict=True)
    ]
    description = (
        f"Monthly mean of {y_label} from {rows[0][0]} to {rows[-1][0]} on a log axis, with SD bars and n at each "
        "month; the numbers are in the table of figures by month."
    )
    return svg.document(WIDTH, HEIGHT, title, description, parts)
