"""The default standard uncertainty of a pipetted volume, from the pipetting table of standards.yaml (pure; no
Django): the maximum permissible errors of the smallest pipette of the table that holds the volume, the systematic
limit as a rectangular distribution (÷√3, GUM 4.3.7) combined in quadrature with the random one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from .linearity import rules
from .units import UnitMismatch, as_quantity, magnitude_in


@dataclass(frozen=True)
class PipettingDefault:
    uncertainty_ul: float
    nominal_ul: float
    basis: str  # what the page and the record say the figure rests on


@cache
def _table() -> tuple:
    entry = rules()["pipetting"]
    rows = sorted((float(nominal), limits) for nominal, limits in entry["nominal_volumes_ul"].items())
    return entry["source"], entry["evidence"], tuple(rows)


def default_uncertainty_ul(volume_ul: float) -> PipettingDefault | None:
    """The default standard uncertainty (µL) of ``volume_ul`` pipetted, or None when no pipette of the table
    holds it."""
    source, evidence, rows = _table()
    for nominal, limits in rows:
        if volume_ul <= nominal:
            relative = math.hypot(limits["systematic_pct"] / math.sqrt(3), limits["random_pct"]) / 100.0
            basis = f"{source} ({nominal:g} µL pipette) [{evidence}]"
            return PipettingDefault(nominal * relative, nominal, basis)
    return None


def as_microlitres(amount: float, unit: str) -> float | None:
    """The amount in µL when it is a volume, else None (an amount in the lot's own unit is not pipetted as such)."""
    try:
        quantity = as_quantity(amount, unit, what="The amount")
    except UnitMismatch:
        return None
    return magnitude_in(quantity, "µL") if quantity.check("[volume]") else None
