"""The Levey–Jennings chart of one control series, written as SVG directly (``svg`` has the pieces).

Points in run order joined by a grey line; each point's shape tells its Westgard level (the colour only repeats
it) and a point that broke rules carries their names above it. The mean (geometric on a log axis) is a solid line
and ±1, ±2 and ±3 SD are dotted, dashed and dash-dotted, so the limits read apart in grey scale; each is named at
the right edge. The legend (the levels shown) sits below the plot, so it never hides a point; the axis is log
with decade ticks for a log-normal figure.
"""

from __future__ import annotations

import numpy as np

from . import svg
from .westgard import REJECT, WARNING

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 96, 620, 40, 330
# Point styles by Westgard level: (marker shape, filled, colour, the legend's words).
LEVEL_STYLES = {
    None: ("circle", False, "#737373", "baseline (not judged)"),
    "accept": ("circle", True, "#1f4e79", "in control"),
    WARNING: ("triangle", False, "#b35900", "warning"),
    REJECT: ("cross", True, "#c62828", "reject"),
}
# Mean solid, ±1 SD dotted, ±2 SD dashed, ±3 SD dash-dot.
DASHES = {0: "", 1: ' stroke-dasharray="1 2"', 2: ' stroke-dasharray="4 2"', 3: ' stroke-dasharray="6 2 1 2"'}
HEADROOM = 0.08  # above the highest point or limit, for the rule names


def limit_words(k: int, log: bool) -> str:
    if k == 0:
        return "geometric mean" if log else "mean"
    return f"{k:+d} SD"


def levey_jennings_svg(content: dict) -> str:
    """``content`` as ``charts.levey_jennings_chart`` builds it: title, log, provisional, limits {"k": value}
    and points [sequence, value, level, rules]. Returns the SVG text."""
    points = content["points"]
    # A log-normal series with no point above zero (never seen, but not worth a 500) is drawn on a linear axis.
    log = bool(content.get("log")) and any(p[1] > 0 for p in points)
    limits = {int(k): float(value) for k, value in content["limits"].items()}
    sequences = np.array([p[0] for p in points], dtype=float)
    values = np.array([p[1] for p in points], dtype=float)
    shown = values[values > 0] if log else values
    everything = np.concatenate([shown, [v for v in limits.values() if v > 0 or not log]])
    y = svg.Axis.fit(everything, log=log, start=BOTTOM, end=TOP, headroom=HEADROOM)
    x = svg.Axis.fit(sequences, log=False, start=LEFT, end=RIGHT, whole=True)
    y_label = content["title"].rsplit(" · ", 1)[-1] + (" (log)" if log else "")
    title = content["title"] + (" (provisional limits)" if content.get("provisional") else "")
    places_x, places_y = x.at(sequences), y.at(np.where(values > 0, values, np.nan) if log else values)
    drawn = ~np.isnan(places_y)
    styles = {level: style for level, style in LEVEL_STYLES.items() if any(p[2] == level for p in points)}
    defs = [
        svg.marker_def(f"level-{i}", shape, colour, filled=filled)
        for i, (shape, filled, colour, _) in enumerate(styles.values())
    ]
    parts = [
        "<defs>" + "".join(defs) + "</defs>",
        f'<text x="{LEFT}" y="{TOP - 16}" font-size="12">{svg.escape(title)}</text>',
        *svg.frame(x, y, "Run order (control point)", y_label),
    ]
    for k, value in sorted(limits.items()):
        if log and value <= 0:
            continue
        at = y.at(value)
        colour, width = ("black", 1.0) if k == 0 else ("#8c8c8c", 0.7)
        parts.append(
            f'<line class="limit" data-k="{k}" data-value="{float(value)!r}" x1="{LEFT}" y1="{at:.2f}" x2="{RIGHT}" '
            f'y2="{at:.2f}" stroke="{colour}" stroke-width="{width}"{DASHES[abs(k)]}/>'
        )
        parts.append(f'<text class="limit" x="{RIGHT + 4}" y="{at + 3:.2f}" font-size="9">{limit_words(k, log)}</text>')
    run = "L".join(f"{px:.2f} {py:.2f}" for px, py in zip(places_x[drawn], places_y[drawn], strict=True))
    if run:
        parts.append(f'<path d="M{run}" stroke="#b3b3b3" stroke-width="0.8" fill="none"/>')
    for index, level in enumerate(styles):
        chosen = np.array([p[2] == level for p in points]) & drawn
        parts.append(svg.marked_path(f"level-{index}", places_x[chosen], places_y[chosen], group=styles[level][3]))
    for (_, _, _, rules), px, py, ok in zip(points, places_x, places_y, drawn, strict=True):
        if rules and ok:
            parts.append(
                f'<text class="rules" x="{px:.2f}" y="{py - 9:.2f}" text-anchor="middle" font-size="9" '
                f'font-weight="bold">{svg.escape(" ".join(rules))}</text>'
            )
    entries = [(f"level-{i}", style[3]) for i, style in enumerate(styles.values())]
    parts += svg.legend(entries, LEFT, BOTTOM + 62, RIGHT - LEFT, svg.legend_columns(entries, RIGHT - LEFT, 4))
    description = (
        f"{len(points)} control points in run order, {y_label} up"
        + (", with the mean and ±1, ±2 and ±3 SD limits as lines" if limits else ", without limits yet")
        + "; each point's shape gives its Westgard verdict and broken rules are named above it. "
        "The numbers are in the table of points."
    )
    return svg.document(WIDTH, HEIGHT, title, description, parts)
