"""Dashboard charts drawn on the server as SVG, written directly (``svg`` and its sibling writers).

Server-side SVG rather than a JavaScript chart library, as for the size-distribution plots: the pages
work without scripts, print as they look, the charts are produced by the same pandas frames the tables
and CSV files come from, and no chart library has to be vendored. Groups differ by marker shape (and
line style), not colour alone, and rule violations carry their rule name as a text label; every chart
sits next to a table of its numbers. The charts were drawn with matplotlib until it cost most of a cold
dashboard (docs/performance.md, "Every chart written directly"); they are now written element by element.

Charts are returned as ``data:`` URIs for an ``<img>``: group names are typed by users, and an image
cannot run anything a crafted name might smuggle into markup. A chart is cached under a hash of exactly
what it shows.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from django.core.cache import cache

from . import compute, svg, svg_control, svg_scatter, svg_trend
from .figures import PURITY, YIELD, short_label

COLOURS = ("#1f4e79", "#b35900", "#2e7d32", "#6a1b9a", "#8d6e63", "#00838f", "#c62828")
CACHE_SECONDS = 24 * 3600


def _cached(kind: str, content, draw) -> str:
    key = f"evlims:chart:{kind}:" + hashlib.sha256(json.dumps(content, default=str).encode()).hexdigest()
    uri = cache.get(key)
    if uri is None:
        uri = draw()
        cache.set(key, uri, CACHE_SECONDS)
    return uri


def _positive(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Rows a log axis can show: every figure present and above zero."""
    keep = np.ones(len(frame), dtype=bool)
    for column in columns:
        keep &= frame[column].gt(0).fillna(False).to_numpy(dtype=bool)
    return frame.loc[keep]


def yield_purity_scatter(frame: pd.DataFrame) -> str | None:
    """Particles per mL input (x) against particles per µg (y), log axes, one marker shape per protocol,
    with the purity class bounds of thresholds.yaml as labelled lines. None when nothing can be drawn."""
    shown = _positive(frame, (YIELD, PURITY))
    if shown.empty:
        return None
    groups = [(str(protocol), rows) for protocol, rows in shown.groupby("protocol", sort=True, dropna=False)]
    content = [[name, rows[YIELD].tolist(), rows[PURITY].tolist()] for name, rows in groups]
    bands = [(band.purity_class.replace("_", " "), band.lower) for band in compute.purity_bands()]
    return _cached("scatter-svg", [content, bands], lambda: svg.data_uri(_scatter(content, bands)))


def _scatter(content, bands) -> str:
    return svg_scatter.scatter_svg(
        content,
        bands,
        title="Yield against purity, by protocol",
        x_label=short_label(YIELD) + " (log)",
        y_label=short_label(PURITY) + " (log)",
        colours=COLOURS,
    )


def box_plot(frame: pd.DataFrame, figure_name: str, by: str, *, by_label: str = "", log: bool = True) -> str | None:
    """One box per group of ``by`` (whiskers 1.5 IQR), every point drawn over it and n under each box."""
    shown = _positive(frame, (figure_name,)) if log else frame.loc[frame[figure_name].notna()]
    if shown.empty:
        return None
    groups = [
        [str(key) if not pd.isna(key) else "(not recorded)", rows[figure_name].tolist()]
        for key, rows in shown.groupby(by, sort=True, dropna=False)
    ]
    title = f"{short_label(figure_name)} by {by_label or by.replace('_', ' ')}"
    y_label = title.split(" by ")[0] + (" (log)" if log else "")
    return _cached(
        "box-svg",
        [title, log, groups],
        lambda: svg.data_uri(svg.box_plot_svg(title, y_label, groups, log=log, colours=COLOURS)),
    )


def trend_chart(trend: pd.DataFrame, figure_name: str) -> str | None:
    """Monthly mean ± SD of one figure (from ``selectors.monthly_trend``), n written at each point."""
    rows = trend.loc[(trend["metric"] == figure_name) & trend["mean"].gt(0).fillna(False)]
    if rows.empty:
        return None
    content = [
        [str(month), float(mean), None if pd.isna(sd) else float(sd), int(n)]
        for month, mean, sd, n in rows[["month", "mean", "sd", "n"]].itertuples(index=False)
    ]
    title = f"{short_label(figure_name)}: monthly mean ± SD"
    y_label = short_label(figure_name) + " (log)"
    return _cached("trend-svg", [title, content], lambda: svg.data_uri(svg_trend.trend_svg(title, y_label, content)))


def levey_jennings_chart(chart) -> str | None:
    """Points in run order with mean and ±1/2/3 SD lines; each point's shape shows its Westgard level and a
    violating point is labelled with the names of the rules it broke. A log-normal figure is drawn on a log y
    axis with its geometric limits; provisional limits say so in the title."""
    points = chart.points
    if points.empty:
        return None
    content = {
        "title": f"{chart.material.name} · {chart.protocol} · {chart.figure_label}",
        "log": bool(chart.log_scale),
        "provisional": bool(chart.provisional),
        "limits": {str(k): v for k, v in chart.limits.items()},
        "points": [
            # A baseline point has no verdict: None, whatever pandas stored for it (None or NaN).
            [int(seq), float(value), level if isinstance(level, str) else None, list(rules or ())]
            for seq, value, level, rules in points[["sequence", "value", "level", "violated_rules"]].itertuples(
                index=False
            )
        ],
    }
    return _cached("levey-jennings-svg", content, lambda: svg.data_uri(svg_control.levey_jennings_svg(content)))
