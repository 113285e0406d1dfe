"""Dashboard charts drawn on the server as SVG with matplotlib (Agg-free SVG canvas, no display needed).

Server-side SVG rather than a JavaScript chart library, as for the size-distribution plots: the pages
work without scripts, print as they look, the charts are produced by the same pandas frames the tables
and CSV files come from, and no chart library has to be vendored. Groups differ by marker shape (and
line style), not colour alone, and rule violations carry their rule name as a text label; every chart
sits next to a table of its numbers.

Charts are returned as ``data:`` URIs for an ``<img>``: group names are typed by users, and an image
cannot run anything a crafted name might smuggle into markup. Drawing costs a noticeable fraction of a
second, so a chart is cached under a hash of exactly what it shows.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math

import numpy as np
import pandas as pd
from django.core.cache import cache
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from . import compute, svg
from .figures import PURITY, YIELD, short_label
from .westgard import REJECT, WARNING

# Distinguishable without colour, in this order: filled and open shapes alternate.
MARKERS = (("o", "full"), ("s", "none"), ("^", "full"), ("D", "none"), ("v", "full"), ("P", "none"), ("X", "full"))
COLOURS = ("#1f4e79", "#b35900", "#2e7d32", "#6a1b9a", "#8d6e63", "#00838f", "#c62828")
# Levey–Jennings point styles by Westgard level: the shape tells the verdict, the colour only repeats it.
LEVEL_STYLES = {
    None: {"marker": "o", "fillstyle": "none", "color": "0.45", "label": "baseline (not judged)"},
    "accept": {"marker": "o", "fillstyle": "full", "color": "#1f4e79", "label": "in control"},
    WARNING: {"marker": "^", "fillstyle": "none", "color": "#b35900", "label": "warning"},
    REJECT: {"marker": "X", "fillstyle": "full", "color": "#c62828", "label": "reject"},
}
CACHE_SECONDS = 24 * 3600
# Above this many points a chart's markers are embedded as one bitmap (axes, lines and text stay vector):
# thousands of SVG markers would make a page of megabytes that draws slowly and shows nothing more.
VECTOR_POINTS = 1000
RASTER_DPI = 150
# The title's place on the axes' top edge, where matplotlib would put it on a log y axis (it has no offset text
# such as "1e10" to clear): given, it spares measuring every tick label of the y axis once more per chart.
# Charts with a linear y axis keep the automatic place, which moves above the offset text.
TITLE_AT_TOP = {"y": 1.0}
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "evlims",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _cached(kind: str, content, draw) -> str:
    key = f"evlims:chart:{kind}:" + hashlib.sha256(json.dumps(content, default=str).encode()).hexdigest()
    uri = cache.get(key)
    if uri is None:
        uri = draw()
        cache.set(key, uri, CACHE_SECONDS)
    return uri


def _figure(width=6.4, height=3.6, bottom=0.15):
    # Fixed margins: a layout engine would measure every label first and double the drawing time.
    figure = Figure(figsize=(width, height))
    # Room on the left for log tick labels such as 6×10¹⁰ next to the axis title.
    figure.subplots_adjust(left=0.15, right=0.97, bottom=bottom, top=0.9)
    return figure, figure.add_subplot()


def _uri(figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasSVG(figure).print_figure(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(index: int) -> dict:
    marker, fill = MARKERS[index % len(MARKERS)]
    return {"marker": marker, "fillstyle": fill, "color": COLOURS[index % len(COLOURS)]}


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
    return _cached("scatter", content, lambda: _draw_scatter(content))


def _draw_scatter(content) -> str:
    with rc_context(RC):
        figure, axes = _figure(height=4.0)
        raster = sum(len(xs) for _, xs, _ in content) > VECTOR_POINTS
        for index, (name, xs, ys) in enumerate(content):
            style = _style(index)
            label = f"{name} (n={len(xs)})"
            axes.plot(xs, ys, linestyle="none", markersize=6, label=label, rasterized=raster, **style)
        axes.set_xscale("log")
        axes.set_yscale("log")
        for band in compute.purity_bands():
            if math.isfinite(band.lower):
                axes.axhline(band.lower, color="0.6", linewidth=0.8, linestyle=(0, (3, 3)))
                axes.annotate(
                    f"{band.purity_class.replace('_', ' ')} from {band.lower:.1e}",
                    xy=(1, band.lower),
                    xycoords=("axes fraction", "data"),
                    xytext=(-2, 2),
                    textcoords="offset points",
                    horizontalalignment="right",
                    color="0.35",
                    fontsize=7,
                )
        axes.set_xlabel(short_label(YIELD) + " (log)")
        axes.set_ylabel(short_label(PURITY) + " (log)")
        axes.set_title("Yield against purity, by protocol", loc="left", **TITLE_AT_TOP)
        axes.legend(frameon=False, fontsize=7, loc="best")
        return _uri(figure)


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
    return _cached("trend", [title, content], lambda: _draw_trend(title, content))


def _draw_trend(title: str, content) -> str:
    with rc_context(RC):
        figure, axes = _figure(height=3.0)
        positions = np.arange(len(content))
        means = np.array([row[1] for row in content])
        # An SD is drawn only where one exists (n ≥ 2) and would not cross zero on the log axis.
        errors = np.array([row[2] if row[2] is not None and row[2] < row[1] else 0.0 for row in content])
        axes.errorbar(positions, means, yerr=errors, color="#1f4e79", marker="o", linestyle="-", capsize=3)
        for position, (_, mean, _, n) in zip(positions, content, strict=True):
            axes.annotate(f"n={n}", (position, mean), xytext=(4, 4), textcoords="offset points", fontsize=7)
        axes.set_yscale("log")
        axes.set_xticks(positions, [row[0] for row in content], rotation=0 if len(content) < 8 else 45)
        axes.set_title(title, loc="left", **TITLE_AT_TOP)
        return _uri(figure)


def _limit_line(k: int) -> dict:
    """Mean solid, ±1 SD dotted, ±2 SD dashed, ±3 SD dash-dot: the limits read apart in grey scale."""
    return {"linestyle": {0: "-", 1: (0, (1, 2)), 2: (0, (4, 2)), 3: "-."}[abs(k)]}


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
            [int(seq), float(value), level, list(rules or ())]
            for seq, value, level, rules in points[["sequence", "value", "level", "violated_rules"]].itertuples(
                index=False
            )
        ],
    }
    return _cached("levey-jennings", content, lambda: _draw_levey_jennings(content))


def _draw_levey_jennings(content) -> str:
    with rc_context(RC):
        figure, axes = _figure(width=7.2, height=4.2, bottom=0.24)
        figure.subplots_adjust(right=0.9)
        points = content["points"]
        axes.plot([p[0] for p in points], [p[1] for p in points], color="0.7", linewidth=0.8, zorder=1)
        for level, style in LEVEL_STYLES.items():
            chosen = [p for p in points if p[2] == level]
            if chosen:
                axes.plot(
                    [p[0] for p in chosen],
                    [p[1] for p in chosen],
                    linestyle="none",
                    markersize=7 if level in (WARNING, REJECT) else 5,
                    zorder=3,
                    **style,
                )
        for sequence, value, _, rules in points:
            if rules:
                axes.annotate(
                    " ".join(rules),
                    (sequence, value),
                    xytext=(0, 8),
                    textcoords="offset points",
                    fontsize=7,
                    horizontalalignment="center",
                    fontweight="bold",
                )
        for k, y in ((int(k), y) for k, y in content["limits"].items()):
            axes.axhline(y, color="black" if k == 0 else "0.55", linewidth=1.0 if k == 0 else 0.7, **_limit_line(k))
            axes.annotate(
                ("geometric mean" if content.get("log") else "mean") if k == 0 else f"{k:+d} SD",
                xy=(1, y),
                xycoords=("axes fraction", "data"),
                xytext=(3, -3),
                textcoords="offset points",
                fontsize=7,
            )
        axes.set_xlabel("Run order (control point)")
        axes.set_ylabel(content["title"].rsplit(" · ", 1)[-1])
        title = content["title"] + (" (provisional limits)" if content.get("provisional") else "")
        # Below the plot, so the legend never hides a point; headroom above for the rule labels.
        figure.legend(frameon=False, fontsize=7, loc="lower center", ncols=4)
        if content.get("log"):
            axes.set_yscale("log")
            bottom, top = axes.get_ylim()
            axes.set_ylim(bottom, top * (top / bottom) ** 0.08)
            axes.set_title(title, loc="left", **TITLE_AT_TOP)
        else:
            bottom, top = axes.get_ylim()
            axes.set_ylim(bottom, top + 0.08 * (top - bottom))
            axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
            axes.set_title(title, loc="left")
        return _uri(figure)
