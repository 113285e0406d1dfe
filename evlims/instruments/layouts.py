"""Plate layouts: which well of a 96- or 384-well plate holds a standard (with its concentration), a blank or a
sample (with its label), checked in the lab's words and turned into the plate map the BCA parser reads.

Pure Python (no Django): the services, the forms, the API and the tests share these checks. Wells use the plate
map's own vocabulary (``role``, ``ug_per_ml``, ``name``, ``dilution_factor``; docs/parsers.md), one key per
well; empty wells are not stored.
"""

from __future__ import annotations

import math
import string
from typing import Any

# Plate format (wells) → (rows, columns).
PLATE_FORMATS = {96: (8, 12), 384: (16, 24)}
ROLES = ("standard", "blank", "sample", "empty")
ROLE_LABELS = {"standard": "Standard", "blank": "Blank", "sample": "Sample", "empty": "Empty"}
FITS = {"linear": "Linear", "quadratic": "Quadratic"}
MIN_STANDARD_LEVELS = 3
MAX_LABEL = 80


class LayoutInvalid(ValueError):
    """The layout was refused; ``errors`` is {well name or "wells": message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def plate_rows(plate_format: int) -> list[str]:
    return list(string.ascii_uppercase[: PLATE_FORMATS[plate_format][0]])


def plate_columns(plate_format: int) -> list[int]:
    return list(range(1, PLATE_FORMATS[plate_format][1] + 1))


def well_names(plate_format: int) -> list[str]:
    """Every well of the plate, row by row (A1, A2, …, B1, …)."""
    return [f"{row}{column}" for row in plate_rows(plate_format) for column in plate_columns(plate_format)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value:
            return None
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _plate_words(plate_format: int) -> str:
    rows, columns = plate_rows(plate_format), plate_columns(plate_format)
    return f"a {plate_format}-well plate (rows {rows[0]}–{rows[-1]}, columns 1–{columns[-1]})"


def _check_well(well: str, spec: Any) -> tuple[dict | None, str | None]:
    """(the well as stored, or None when empty; the refusal, or None)."""
    if not isinstance(spec, dict):
        return None, f'Well {well}: give its role, e.g. {{"role": "blank"}}.'
    unknown = sorted(set(spec) - {"role", "ug_per_ml", "name", "dilution_factor"})
    if unknown:
        return None, (
            f"Well {well}: {', '.join(unknown)} is not part of a well (role, ug_per_ml, name, dilution_factor)."
        )
    role = spec.get("role")
    if role not in ROLES:
        return None, f"Well {well}: the role must be standard, blank, sample or empty."
    if role == "empty":
        return None, None
    if role == "blank":
        return {"role": "blank"}, None
    if role == "standard":
        concentration = _number(spec.get("ug_per_ml"))
        if spec.get("ug_per_ml") in (None, ""):
            return None, f"Well {well}: a standard needs its concentration in µg/mL."
        if concentration is None:
            return None, f"Well {well}: the concentration must be a number of µg/mL."
        if concentration < 0:
            return None, f"Well {well}: the concentration cannot be below 0 µg/mL."
        return {"role": "standard", "ug_per_ml": concentration}, None
    name = spec.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        return None, f"Well {well}: a sample needs a label (its preparation barcode or a name)."
    if len(name) > MAX_LABEL:
        return None, f"Well {well}: the label is longer than {MAX_LABEL} characters."
    stored: dict[str, Any] = {"role": "sample", "name": name}
    if spec.get("dilution_factor") not in (None, ""):
        factor = _number(spec["dilution_factor"])
        if factor is None or factor < 1:
            return None, f"Well {well}: the dilution factor must be a number of 1 or more (1: undiluted)."
        if factor != 1:
            stored["dilution_factor"] = factor
    return stored, None


def check_layout(plate_format: Any, wells: Any) -> dict[str, dict]:
    """The layout's wells as stored ({well: spec}, row by row, empty wells left out), or LayoutInvalid naming every
    well at fault and what the plate as a whole lacks (key "wells")."""
    if plate_format not in PLATE_FORMATS:
        raise LayoutInvalid({"plate_format": "Choose a 96-well or a 384-well plate."})
    if not isinstance(wells, dict):
        raise LayoutInvalid({"wells": 'Give the wells as an object {well: {role, …}}, e.g. {"A1": {"role": "blank"}}.'})
    errors: dict[str, str] = {}
    stored: dict[str, dict] = {}
    refused_roles: set = set()
    on_plate = well_names(plate_format)
    given = {str(key).strip().upper(): (key, spec) for key, spec in wells.items()}
    for well in sorted(set(given) - set(on_plate)):
        errors[well] = f"Well {given[well][0]} is not on {_plate_words(plate_format)}."
        refused_roles.add(given[well][1].get("role") if isinstance(given[well][1], dict) else None)
    for well in on_plate:
        if well not in given:
            continue
        spec, error = _check_well(well, given[well][1])
        if error:
            errors[well] = error
            refused_roles.add(given[well][1].get("role") if isinstance(given[well][1], dict) else None)
        elif spec is not None:
            stored[well] = spec
    # What the plate as a whole lacks is said at once, except what a refused well may be meant to give.
    _check_plate(stored, errors, refused_roles)
    if errors:
        raise LayoutInvalid(errors)
    return stored


def _check_plate(stored: dict[str, dict], errors: dict[str, str], refused_roles: set) -> None:
    levels = sorted({spec["ug_per_ml"] for spec in stored.values() if spec["role"] == "standard"})
    positive = [level for level in levels if level > 0]
    problems = []
    if len(positive) < MIN_STANDARD_LEVELS and "standard" not in refused_roles:
        found = ", ".join(f"{level:g}" for level in positive) or "none"
        problems.append(
            f"Give standards at {MIN_STANDARD_LEVELS} concentrations above 0 µg/mL at least, to fit a curve "
            f"(found {len(positive)}: {found})."
        )
    if (
        not any(spec["role"] == "blank" for spec in stored.values())
        and 0 not in levels
        and not refused_roles
        & {
            "blank",
            "standard",
        }
    ):
        problems.append("Mark the blank wells (reagent without protein), or give a 0 µg/mL standard.")
    if not any(spec["role"] == "sample" for spec in stored.values()) and "sample" not in refused_roles:
        problems.append("Mark at least one sample well, with its label.")
    dilutions: dict[str, set] = {}
    for spec in stored.values():
        if spec["role"] == "sample":
            dilutions.setdefault(spec["name"], set()).add(spec.get("dilution_factor", 1.0))
    for name, factors in dilutions.items():
        if len(factors) > 1:
            problems.append(f"The replicate wells of sample “{name}” have different dilution factors.")
    if problems:
        errors["wells"] = " ".join(problems)


def plate_map(wells: dict[str, dict], fit: str) -> dict:
    """The plate map the parser reads (``parse_bytes(..., plate_map=...)``), wells row by row."""
    return {"fit": fit, "wells": {well: dict(spec) for well, spec in wells.items()}}


def summary(wells: dict[str, dict]) -> dict:
    """What a layout holds, for lists and the audit trail: standard concentrations, blank and sample counts."""
    standards = sorted({spec["ug_per_ml"] for spec in wells.values() if spec["role"] == "standard"}, reverse=True)
    samples = []
    for spec in wells.values():
        if spec["role"] == "sample" and spec["name"] not in samples:
            samples.append(spec["name"])
    return {
        "standards_ug_per_ml": standards,
        "standard_wells": sum(1 for spec in wells.values() if spec["role"] == "standard"),
        "blank_wells": sum(1 for spec in wells.values() if spec["role"] == "blank"),
        "samples": samples,
    }
