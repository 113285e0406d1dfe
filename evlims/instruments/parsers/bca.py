"""BCA (bicinchoninic acid) protein assay from a plate grid and a plate map.

Pure functions: blank subtraction, standard-curve fit by least squares (linear, or quadratic for the
known curvature of BCA above ~1000 ug/mL, as the Pierce BCA kit instructions allow), interpolation
of samples. Samples whose signal falls outside the fitted range of the standards are never
extrapolated: they get a null concentration, ``out_of_range`` and their raw signal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import fmean, stdev
from typing import Any

import numpy as np

from ..particles import stock_per_ml
from .errors import ParseError
from .results import PlateGrid

FITS = {"linear": 1, "quadratic": 2}
ROLES = {"standard", "blank", "sample", "empty"}
_WELL_KEYS = {"role", "ug_per_ml", "name", "dilution_factor"}
_WELL = re.compile(r"^([A-Z]{1,2})(\d{1,2})$")


@dataclass(frozen=True)
class WellRole:
    well: str
    role: str
    ug_per_ml: float | None = None
    name: str | None = None
    dilution_factor: float = 1.0


def _expand(key: str, grid: PlateGrid) -> list[str]:
    """'A1' or a rectangle 'A1:B3' (row-major) into well names present on the plate."""
    parts = [part.strip().upper() for part in key.split(":")]
    matches = [_WELL.match(part) for part in parts]
    if len(parts) > 2 or not all(matches):
        raise ParseError(f"'{key}' is not a well or a range like 'A1:H2'", field="plate_map")
    rows = [grid.rows.index(m.group(1)) if m.group(1) in grid.rows else -1 for m in matches]
    columns = [int(m.group(2)) for m in matches]
    if -1 in rows or any(column not in grid.columns for column in columns):
        raise ParseError(f"'{key}' is not on this {len(grid.rows)}x{len(grid.columns)} plate", field="plate_map")
    first_row, last_row = sorted((rows[0], rows[-1]))
    first_column, last_column = sorted((columns[0], columns[-1]))
    return [
        f"{grid.rows[row]}{column}"
        for row in range(first_row, last_row + 1)
        for column in grid.columns
        if first_column <= column <= last_column
    ]


def _positive_number(value: Any, key: str, name: str, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParseError(f"{key}: '{name}' must be a number", field="plate_map")
    if value < 0 or (value == 0 and not allow_zero):
        raise ParseError(f"{key}: '{name}' must be {'non-negative' if allow_zero else 'positive'}", field="plate_map")
    return float(value)


def read_plate_map(plate_map: Any, grid: PlateGrid) -> dict[str, WellRole]:
    """Validate a plate map ``{"wells": {"A1:A2": {"role": "standard", "ug_per_ml": 2000}, ...}}``."""
    if not isinstance(plate_map, dict) or not isinstance(plate_map.get("wells"), dict) or not plate_map["wells"]:
        raise ParseError("the plate map must be an object with a non-empty 'wells' object", field="plate_map")
    roles: dict[str, WellRole] = {}
    for key, spec in plate_map["wells"].items():
        if not isinstance(spec, dict):
            raise ParseError(f"{key}: expected an object such as {{'role': 'blank'}}", field="plate_map")
        unknown = set(spec) - _WELL_KEYS
        if unknown:
            raise ParseError(f"{key}: unknown keys {sorted(unknown)}", field="plate_map")
        role = spec.get("role")
        if role not in ROLES:
            raise ParseError(f"{key}: role must be one of {sorted(ROLES)}, got {role!r}", field="plate_map")
        ug_per_ml = name = None
        dilution = 1.0
        if role == "standard":
            ug_per_ml = _positive_number(spec.get("ug_per_ml"), key, "ug_per_ml", allow_zero=True)
        if role == "sample":
            name = spec.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ParseError(f"{key}: a sample needs a 'name'", field="plate_map")
            if "dilution_factor" in spec:
                dilution = _positive_number(spec["dilution_factor"], key, "dilution_factor", allow_zero=False)
        for well in _expand(key, grid):
            if well in roles:
                raise ParseError(f"well {well} is assigned twice (again by '{key}')", field="plate_map")
            roles[well] = WellRole(well, role, ug_per_ml, name.strip() if name else None, dilution)
    return roles


def _reading(grid: PlateGrid, role: WellRole) -> float:
    value = grid.value(role.well)
    if value is None:
        raise ParseError(f"well {role.well} ({role.role}) has no reading on the plate", field="plate_map")
    return value


def _cv_percent(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = fmean(values)
    return stdev(values) / abs(mean) * 100 if mean else None


def _polynomial(coefficients: list[float], x: float) -> float:
    return sum(coefficient * x**power for power, coefficient in enumerate(coefficients))


def _invert(coefficients: list[float], signal: float, low: float, high: float) -> float:
    if len(coefficients) == 2:
        return (signal - coefficients[0]) / coefficients[1]
    c0, c1, c2 = coefficients
    roots = np.roots([c2, c1, c0 - signal]) if c2 else np.array([(signal - c0) / c1])
    real = [float(root.real) for root in np.atleast_1d(roots) if abs(root.imag) < 1e-9]
    span = (high - low) * 1e-9
    return min(
        real, key=lambda root: 0 if low - span <= root <= high + span else min(abs(root - low), abs(root - high))
    )


def evaluate_plate(grid: PlateGrid, plate_map: Any, fit: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """Fit the standard curve and quantify samples; returns (assay dictionary, warnings)."""
    fit = fit or (plate_map.get("fit") if isinstance(plate_map, dict) else None) or "linear"
    if fit not in FITS:
        raise ParseError(f"fit must be one of {sorted(FITS)}, got {fit!r}", field="fit")
    roles = read_plate_map(plate_map, grid)
    warnings: list[str] = []
    by_role = {role: [item for item in roles.values() if item.role == role] for role in ROLES}
    blank_wells = by_role["blank"] or [item for item in by_role["standard"] if item.ug_per_ml == 0]
    if blank_wells:
        blank_values = [_reading(grid, item) for item in blank_wells]
        blank_mean = fmean(blank_values)
        source = "blank wells" if by_role["blank"] else "zero standard"
    else:
        blank_values, blank_mean, source = [], 0.0, "none"
        warnings.append("The plate map has no blank and no 0 ug/mL standard; absorbances are not blank-corrected.")

    levels: dict[float, list[WellRole]] = {}
    for item in by_role["standard"]:
        levels.setdefault(item.ug_per_ml, []).append(item)
    degree = FITS[fit]
    if len(levels) < degree + 1:
        raise ParseError(
            f"a {fit} fit needs at least {degree + 1} standard concentrations, found {len(levels)}", field="plate_map"
        )
    xs = [item.ug_per_ml for item in by_role["standard"]]
    ys = [_reading(grid, item) - blank_mean for item in by_role["standard"]]
    coefficients = [float(value) for value in np.polynomial.polynomial.polyfit(xs, ys, degree)]
    predicted = [_polynomial(coefficients, x) for x in xs]
    total = sum((y - fmean(ys)) ** 2 for y in ys)
    residual = sum((y - p) ** 2 for y, p in zip(ys, predicted, strict=True))
    r_squared = 1 - residual / total if total else None
    low, high = min(levels), max(levels)
    slopes = [coefficients[1] + (2 * coefficients[2] * x if degree == 2 else 0) for x in (low, high)]
    if slopes[0] * slopes[1] <= 0:
        raise ParseError("the standard curve is not monotonic over the standard range", field="plate_map")
    signal_bounds = sorted((_polynomial(coefficients, low), _polynomial(coefficients, high)))

    points = []
    for concentration in sorted(levels):
        readings = [_reading(grid, item) for item in levels[concentration]]
        points.append(
            {
                "ug_per_ml": concentration,
                "wells": [item.well for item in levels[concentration]],
                "absorbance": readings,
                "blank_corrected_absorbance": fmean(readings) - blank_mean,
                "cv_percent": _cv_percent(readings),
            }
        )
    samples: dict[str, list[WellRole]] = {}
    for item in by_role["sample"]:
        samples.setdefault(item.name, []).append(item)
    sample_results = []
    for name, items in samples.items():
        dilutions = {item.dilution_factor for item in items}
        if len(dilutions) > 1:
            raise ParseError(f"sample '{name}' has replicate wells with different dilution factors", field="plate_map")
        readings = [_reading(grid, item) for item in items]
        corrected = fmean(readings) - blank_mean
        position = "below" if corrected < signal_bounds[0] else "above" if corrected > signal_bounds[1] else "within"
        if position == "within":
            in_well = _invert(coefficients, corrected, low, high)
            protein = stock_per_ml(in_well, items[0].dilution_factor)
        else:
            protein = None
            warnings.append(
                f"Sample '{name}': blank-corrected absorbance {corrected:.4f} is {position} the standard range "
                f"({low:g}-{high:g} ug/mL); no concentration is reported. Re-assay at another dilution."
            )
        sample_results.append(
            {
                "name": name,
                "wells": [item.well for item in items],
                "absorbance": readings,
                "mean_absorbance": fmean(readings),
                "blank_corrected_absorbance": corrected,
                "cv_percent": _cv_percent(readings),
                "dilution_factor": items[0].dilution_factor,
                "protein_ug_per_ml": protein,
                "out_of_range": position != "within",
                "range_position": position,
            }
        )
    assay = {
        "blank": {
            "wells": [item.well for item in blank_wells],
            "absorbance": blank_values,
            "mean_absorbance": blank_mean,
            "source": source,
        },
        "standard_curve": {
            "model": fit,
            "coefficients": coefficients,
            "r_squared": r_squared,
            "range_ug_per_ml": [low, high],
            "points": points,
        },
        "samples": sample_results,
    }
    return assay, warnings
