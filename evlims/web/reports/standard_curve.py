"""The standard curve of a BCA plate, drawn on the server as SVG with matplotlib like the other plots: the
standards' points, the fitted model, R², and the samples placed on it.

Every figure drawn is one the parser stored (``standard_curve`` and ``samples`` of the parsed plate, the
``standard_curve`` of a protein result): each standard's mean blank-corrected absorbance, the curve from the stored
coefficients (A = a0 + a1·c [+ a2·c²]) over the standards' range only, and each sample at its stored
blank-corrected absorbance and in-well concentration (its stored protein figure divided by its dilution). A
sample outside the standards' range has no concentration (the parser never extrapolates): it is drawn at the
edge of the range it fell beyond, with another marker, and said "out of range" in the text and the table.

The SVG is a ``data:`` URI for an ``<img>`` (sample labels are typed by people), cached under a hash of what
it shows; ``summary`` is the same content in words, for screen readers and print.
"""

import base64
import io

from django.core.cache import cache
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from ...core.canonical import canonical_hash
from ...instruments.particles import in_cell_per_ml

MODEL_WORDS = {"linear": "linear fit", "quadratic": "quadratic fit"}
CURVE_STEPS = 80
CACHE_SECONDS = 24 * 3600
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "evlims",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _value(coefficients: list[float], concentration: float) -> float:
    return sum(coefficient * concentration**power for power, coefficient in enumerate(coefficients))


def equation(curve: dict) -> str:
    """The fitted model as the lab writes it: A = 0.0506 + 0.000717·c (c in µg/mL, A blank-corrected)."""
    terms = []
    for power, coefficient in enumerate(curve.get("coefficients") or []):
        figure = f"{abs(coefficient):.4g}"
        term = figure if power == 0 else f"{figure}·c" if power == 1 else f"{figure}·c²"
        sign = "−" if coefficient < 0 else "+"
        terms.append(("−" if coefficient < 0 else "") + term if not terms else f" {sign} {term}")
    return "A = " + "".join(terms) if terms else ""


def _placed(samples: list[dict], low: float, high: float) -> list[dict]:
    placed = []
    for sample in samples or []:
        signal = sample.get("blank_corrected_absorbance")
        if signal is None:
            continue
        protein, dilution = sample.get("protein_ug_per_ml"), sample.get("dilution_factor") or 1.0
        out = bool(sample.get("out_of_range")) or protein is None
        position = sample.get("range_position") or ("within" if not out else "outside")
        in_well = None if out else in_cell_per_ml(protein, dilution)
        placed.append(
            {
                "name": str(sample.get("name", "")),
                "signal": signal,
                "in_well": in_well,
                "drawn_at": (low if position == "below" else high) if out else in_well,
                "protein_ug_per_ml": None if out else protein,
                "dilution_factor": dilution,
                "out_of_range": out,
                "position": position,
            }
        )
    return placed


def standard_curve_figure(
    curve: dict | None, samples: list[dict] | None = None, *, wavelength_nm: float | None = None
) -> dict | None:
    """What a page shows of a stored standard curve: the plot (``uri``), its title, the model in words, R², the
    equation, a text summary and the samples placed on it. None when the curve has no standards to draw."""
    curve = curve or {}
    points = [p for p in curve.get("points") or [] if p.get("blank_corrected_absorbance") is not None]
    coefficients = curve.get("coefficients") or []
    if not points or not coefficients:
        return None
    low, high = (curve.get("range_ug_per_ml") or [points[0]["ug_per_ml"], points[-1]["ug_per_ml"]])[:2]
    model = MODEL_WORDS.get(curve.get("model"), f"{curve.get('model')} fit")
    placed = _placed(samples or [], low, high)
    content = {
        "model": model,
        "coefficients": coefficients,
        "range": [low, high],
        "points": [[p["ug_per_ml"], p["blank_corrected_absorbance"]] for p in points],
        "samples": [[s["name"], s["drawn_at"], s["signal"], s["out_of_range"]] for s in placed],
        "r_squared": curve.get("r_squared"),
        "absorbance": f"Absorbance at {wavelength_nm:g} nm, blank-corrected"
        if wavelength_nm
        else "Absorbance, blank-corrected",
    }
    key = "evlims:standard-curve:" + canonical_hash(content)
    uri = cache.get(key)
    if uri is None:
        uri = _draw(content)
        cache.set(key, uri, CACHE_SECONDS)
    r_squared = curve.get("r_squared")
    return {
        "uri": uri,
        "title": f"BCA standard curve ({model})",
        "model": model,
        "equation": equation(curve),
        "r_squared": r_squared,
        "range": [low, high],
        "points": points,
        "samples": placed,
        "summary": _summary(model, curve, points, placed, low, high),
    }


def _summary(model, curve, points, placed, low, high) -> str:
    r_squared = curve.get("r_squared")
    fit = f"R² {r_squared:.4f}" if r_squared is not None else "R² not defined"
    words = [
        f"Standard curve, {model}: {equation(curve)} ({fit}), from {len(points)} standard concentrations "
        f"between {low:g} and {high:g} µg/mL."
    ]
    for sample in placed:
        if sample["out_of_range"]:
            words.append(
                f"{sample['name']}: blank-corrected absorbance {sample['signal']:.4f}, out of range "
                f"({sample['position']} the standards); no concentration."
            )
        else:
            words.append(
                f"{sample['name']}: blank-corrected absorbance {sample['signal']:.4f}, "
                f"{sample['in_well']:.1f} µg/mL in the well, {sample['protein_ug_per_ml']:.1f} µg/mL "
                f"after ×{sample['dilution_factor']:g} dilution."
            )
    return " ".join(words)


def _draw(content: dict) -> str:
    low, high = content["range"]
    coefficients = content["coefficients"]
    with rc_context(RC):
        figure = Figure(figsize=(6.4, 3.8))
        figure.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.88)
        axes = figure.add_subplot()
        xs = [low + (high - low) * step / CURVE_STEPS for step in range(CURVE_STEPS + 1)]
        axes.plot(xs, [_value(coefficients, x) for x in xs], color="black", linewidth=1.2, label=content["model"])
        axes.plot(
            [x for x, _ in content["points"]],
            [y for _, y in content["points"]],
            linestyle="none",
            marker="o",
            markersize=6,
            color="#1f4e79",
            label="standards (mean of replicate wells)",
        )
        within = [s for s in content["samples"] if not s[3]]
        outside = [s for s in content["samples"] if s[3]]
        if within:
            axes.plot(
                [s[1] for s in within],
                [s[2] for s in within],
                linestyle="none",
                marker="s",
                fillstyle="none",
                markersize=7,
                color="#b35900",
                label="samples (in the well)",
            )
        if outside:
            axes.plot(
                [s[1] for s in outside],
                [s[2] for s in outside],
                linestyle="none",
                marker="X",
                markersize=7,
                color="#c62828",
                label="samples out of range",
            )
        for name, x, y, out in content["samples"]:
            axes.annotate(
                f"{name} (out of range)" if out else name,
                xy=(x, y),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                color="0.25",
            )
        r_squared = content["r_squared"]
        title = f"BCA standard curve, {content['model']}"
        axes.set_title(title + (f", R² = {r_squared:.4f}" if r_squared is not None else ""), loc="left")
        axes.set_xlabel("Protein in the well (µg/mL)")
        axes.set_ylabel(content["absorbance"])
        axes.legend(frameon=False, fontsize=7, loc="upper left")
        buffer = io.BytesIO()
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
