"""Size-distribution plots, drawn on the server as SVG with matplotlib.

Server-side SVG rather than a JavaScript chart library: pages work without scripts, print as they
look, and nothing more has to be vendored. Each series gets its own line style and marker shape, so a
plot reads in grey scale, and the pages put the same numbers in a table (``coarse_table``) next to it.

The SVG is returned as a ``data:`` URI for an ``<img>``: sample names come from uploaded files, and an
image cannot run anything a crafted name might smuggle into the markup.
"""

import base64
import hashlib
import io
import json
from dataclasses import asdict, dataclass

from django.core.cache import cache
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from ...metrics.compute import small_ev_upper_nm

# (line style, marker): distinguishable without colour, in this order.
SERIES_STYLES = (("-", None), ("--", "o"), (":", "s"), ("-.", "^"), ((0, (5, 1, 1, 1)), "D"), ((0, (1, 3)), "v"))
MARKERS_PER_SERIES = 12
# The x axis stops where this share of all particles is reached, so a long empty tail does not
# squash the peak into the left edge.
SHOWN_SHARE = 0.995
TABLE_BIN_NM = 50
CACHE_SECONDS = 24 * 3600
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "evlims",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class Series:
    label: str
    bin_center_nm: list[float]
    concentration_per_ml: list[float]


def _x_limit(series: list[Series], cutoff: float) -> float:
    """Far enough right to show nearly every particle and the small-EV cut-off."""
    limit = 0.0
    for item in series:
        total = sum(item.concentration_per_ml)
        running = 0.0
        for centre, value in zip(item.bin_center_nm, item.concentration_per_ml, strict=True):
            running += value
            if total and running >= SHOWN_SHARE * total:
                limit = max(limit, centre)
                break
        else:
            limit = max(limit, max(item.bin_center_nm, default=0.0))
    return max(limit * 1.1, cutoff * 1.25)


def size_distribution_svg(series: list[Series], *, title: str = "") -> str | None:
    """A data URI of the plot, or None when no series has a bin to draw.

    Drawing takes a noticeable fraction of a second and stored distributions never change, so plots are
    cached under a hash of exactly what they show.
    """
    series = [item for item in series if item.bin_center_nm]
    if not series:
        return None
    cutoff = small_ev_upper_nm()
    content = json.dumps([title, cutoff, [asdict(item) for item in series]], separators=(",", ":"))
    key = "evlims:size-plot:" + hashlib.sha256(content.encode()).hexdigest()
    uri = cache.get(key)
    if uri is None:
        uri = _draw(series, title, cutoff)
        cache.set(key, uri, CACHE_SECONDS)
    return uri


def _draw(series: list[Series], title: str, cutoff: float) -> str:
    with rc_context(RC):
        # Fixed margins: a layout engine would measure every label first and double the drawing time.
        figure = Figure(figsize=(6.4, 3.2))
        figure.subplots_adjust(left=0.11, right=0.98, bottom=0.15, top=0.88)
        axes = figure.add_subplot()
        for index, item in enumerate(series):
            linestyle, marker = SERIES_STYLES[index % len(SERIES_STYLES)]
            axes.plot(
                item.bin_center_nm,
                item.concentration_per_ml,
                linestyle=linestyle,
                marker=marker,
                markevery=max(1, len(item.bin_center_nm) // MARKERS_PER_SERIES),
                markersize=4,
                linewidth=1.4,
                color="black" if index == 0 else None,
                label=item.label,
            )
        axes.axvline(cutoff, color="0.45", linewidth=0.8, linestyle=(0, (2, 2)))
        axes.annotate(
            f"small EVs < {cutoff:g} nm",
            xy=(cutoff, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-3, -10),
            textcoords="offset points",
            horizontalalignment="right",
            color="0.3",
        )
        axes.set_xlim(0, _x_limit(series, cutoff))
        axes.set_ylim(bottom=0)
        axes.set_xlabel("Size (nm, bin centre)")
        axes.set_ylabel("Concentration (particles/mL per bin)")
        axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        if title:
            axes.set_title(title, loc="left")
        if len(series) > 1:
            axes.legend(frameon=False)
        buffer = io.BytesIO()
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def coarse_table(bin_center_nm, concentration_per_ml, width_nm: float = TABLE_BIN_NM) -> list[dict]:
    """The distribution summed into ``width_nm`` ranges with their share of all particles: the plot's numbers,
    short enough to read. Ranges after the last one holding particles are left out."""
    sums: dict[int, float] = {}
    for centre, value in zip(bin_center_nm, concentration_per_ml, strict=True):
        sums[int(centre // width_nm)] = sums.get(int(centre // width_nm), 0.0) + value
    total = sum(sums.values())
    if not sums or not total:
        return []
    last = max(index for index, value in sums.items() if value > 0)
    return [
        {
            "from_nm": index * width_nm,
            "to_nm": (index + 1) * width_nm,
            "concentration_per_ml": sums.get(index, 0.0),
            "percent": 100 * sums.get(index, 0.0) / total,
        }
        for index in range(0, last + 1)
    ]
