"""The density plot of an FCS file as inline SVG: events binned on two axes (log scale), shaded by count, with the
gates drawn on it. The plot carries its data range in ``data-`` attributes, so flow-gates.js can turn a
rectangle dragged on it into gate bounds in the axes' units."""

import math

from django.utils.html import escape

from ..core.numbers import power_of_ten

WIDTH, HEIGHT = 520, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 12, 12, 48
# A perceptually ordered ramp (viridis' ends and middle), from few events to many.
RAMP = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
GATE_COLOURS = ["#d62728", "#ff7f0e", "#e377c2", "#17becf", "#8c564b", "#7f7f7f"]


def _colour(fraction: float) -> str:
    position = max(0.0, min(1.0, fraction)) * (len(RAMP) - 1)
    low = int(position)
    high = min(low + 1, len(RAMP) - 1)
    t = position - low
    r, g, b = (round(RAMP[low][i] + (RAMP[high][i] - RAMP[low][i]) * t) for i in range(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def axis_title(name: str, units: str) -> str:
    return f"{name}, {units}"


def _ticks(low: float, high: float, log: bool) -> list[tuple[float, str]]:
    if log:
        return [(float(k), f"10{_superscript(k)}") for k in range(math.ceil(low), math.floor(high) + 1)]
    step = 10 ** math.floor(math.log10(max(high - low, 1e-12)))
    start = math.ceil(low / step) * step
    return [(start + i * step, power_of_ten(start + i * step)) for i in range(int((high - start) / step) + 1)][:12]


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def density_svg(grid: dict, gates: list[dict], *, title: str) -> str:
    """The plot, or an empty string when the grid holds no events."""
    if not grid or not grid.get("counts"):
        return ""
    xe, ye, counts = grid["x_edges"], grid["y_edges"], grid["counts"]
    x_log, y_log = grid.get("log", [True, True])
    x0, x1, y0, y1 = xe[0], xe[-1], ye[0], ye[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(value):
        return LEFT + (value - x0) / (x1 - x0) * plot_w

    def py(value):
        return TOP + plot_h - (value - y0) / (y1 - y0) * plot_h

    top = max(max(row) for row in counts) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="flow-density" role="img" '
        f'aria-label="{escape(title)}" data-x="{escape(grid["x"])}" data-y="{escape(grid["y"])}" '
        f'data-x0="{x0}" data-x1="{x1}" data-y0="{y0}" data-y1="{y1}" data-xlog="{int(x_log)}" '
        f'data-ylog="{int(y_log)}" data-left="{LEFT}" data-top="{TOP}" data-width="{plot_w}" data-height="{plot_h}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#f8f9fa" stroke="#adb5bd"/>',
    ]
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count:
                shade = _colour(math.log1p(count) / math.log1p(top))
                x, y = px(xe[i]), py(ye[j + 1])
                w, h = px(xe[i + 1]) - x, py(ye[j]) - y
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w + 0.3:.1f}" height="{h + 0.3:.1f}" fill="{shade}"/>'
                )
    for value, text in _ticks(x0, x1, x_log):
        parts.append(
            f'<text x="{px(value):.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle">{text}</text>'
        )
    for value, text in _ticks(y0, y1, y_log):
        parts.append(f'<text x="{LEFT - 6}" y="{py(value) + 4:.1f}" font-size="11" text-anchor="end">{text}</text>')
    x_title = escape(axis_title(grid["x"], grid.get("x_units", "")))
    y_title = escape(axis_title(grid["y"], grid.get("y_units", "")))
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle">{x_title}</text>')
    parts.append(
        f'<text transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" font-size="12" text-anchor="middle">'
        f"{y_title}</text>"
    )
    parts.extend(_gate_shapes(grid, gates, px, py, (x0, x1, y0, y1)))
    parts.append(
        '<rect class="flow-drag" x="0" y="0" width="0" height="0" fill="none" stroke="#000" stroke-dasharray="4 3"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _scaled(value, log, fallback):
    if value is None:
        return fallback
    if log:
        return math.log10(value) if value > 0 else fallback
    return value


def _gate_shapes(grid, gates, px, py, bounds):
    x0, x1, y0, y1 = bounds
    x_log, y_log = grid.get("log", [True, True])
    shapes = []
    for number, gate in enumerate(gates):
        colour = GATE_COLOURS[number % len(GATE_COLOURS)]
        if gate.get("x") == grid["x"] and gate.get("y") in (grid["y"], "", None):
            left, right = _scaled(gate.get("x_min"), x_log, x0), _scaled(gate.get("x_max"), x_log, x1)
            low, high = (y0, y1)
            if gate.get("y"):
                low, high = _scaled(gate.get("y_min"), y_log, y0), _scaled(gate.get("y_max"), y_log, y1)
        elif gate.get("x") == grid["y"] and not gate.get("y"):
            left, right = x0, x1
            low, high = _scaled(gate.get("x_min"), y_log, y0), _scaled(gate.get("x_max"), y_log, y1)
        else:
            continue
        left, right = max(left, x0), min(right, x1)
        low, high = max(low, y0), min(high, y1)
        if left >= right or low >= high:
            continue
        x, y = px(left), py(high)
        shapes.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{px(right) - x:.1f}" height="{py(low) - y:.1f}" fill="none" '
            f'stroke="{colour}" stroke-width="2"><title>{escape(gate["name"])}</title></rect>'
            f'<text x="{x + 4:.1f}" y="{y + 14:.1f}" font-size="12" fill="{colour}" font-weight="bold">'
            f"{escape(gate['name'])}</text>"
        )
    return shapes


def _scaled_points(xs, ys, box):
    """Map data points (already in plot space) into the SVG box (left, top, width, height)."""
    left, top, width, height = box
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    return lambda x: left + (x - x0) / (x1 - x0) * width, lambda y: top + height - (y - y0) / (y1 - y0) * height


def calibration_svg(calibration) -> str:
    """The bead points of a calibration and its fit, on log-log axes: assigned value against the measured
    median (fluorescence), or the measured median against the bead diameter with the Mie curves of the beads
    and of EVs (scatter)."""
    import numpy as np

    from ..cytometry.calibration import cross_sections

    fit = calibration.fit or {}
    points = fit.get("points") or []
    if len(points) < 2:
        return ""
    if calibration.kind == "fluorescence":
        xs = [math.log10(m) for m, _ in points]
        ys = [math.log10(a) for _, a in points]
        line = [(x, fit["intercept"] + fit["slope"] * x) for x in (min(xs), max(xs))]
        curves = [("#d62728", "", line)]
        x_title, y_title = "Bead median, a.u. (log)", f"Assigned {calibration.units} (log)"
    else:
        grid = np.geomspace(min(d for _, d in points) * 0.7, max(d for _, d in points) * 1.5, 60)
        xs = [math.log10(d) for _, d in points]
        ys = [math.log10(m) for m, _ in points]
        curves = []
        for colour, dash, index in (("#d62728", "", fit["bead_index"]), ("#1f77b4", "5 4", fit["particle_index"])):
            sigma = cross_sections(
                grid, refractive_index=index, medium_index=fit["medium_index"], wavelength_nm=fit["wavelength_nm"]
            )
            curves.append((colour, dash, list(zip(np.log10(grid), np.log10(sigma * fit["factor"]), strict=True))))
        x_title, y_title = "Diameter, nm (log)", "Scatter, a.u. (log)"
    every_x = xs + [x for _, _, c in curves for x, _ in c]
    every_y = ys + [y for _, _, c in curves for _, y in c]
    box = (56, 10, 250, 150)
    px, py = _scaled_points(every_x, every_y, box)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200" class="flow-calibration" role="img" '
        f'aria-label="{escape(str(calibration))}: bead points and fit">',
        f'<rect x="{box[0]}" y="{box[1]}" width="{box[2]}" height="{box[3]}" fill="#f8f9fa" stroke="#adb5bd"/>',
    ]
    for colour, dash, curve in curves:
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in curve)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-dasharray="{dash}"/>')
    for x, y in zip(xs, ys, strict=True):
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="#000"/>')
    parts.append(f'<text x="{box[0] + box[2] / 2}" y="192" font-size="11" text-anchor="middle">{x_title}</text>')
    parts.append(
        f'<text transform="translate(14 {box[1] + box[3] / 2}) rotate(-90)" font-size="11" '
        f'text-anchor="middle">{y_title}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
