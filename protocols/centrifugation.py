"""Centrifugation arithmetic and the rotor table.

Formulas (as printed in Beckman Coulter and Thermo rotor manuals):

* RCF = 1.118e-6 · r_mm · rpm²  (equivalently 1.118e-5 · r_cm · rpm²)
* k = 2.53e11 · ln(r_max / r_min) / rpm²  (k-factor, pelleting efficiency; lower is faster)
* k_adj = k_max · (max_rpm / rpm)²  (k-factor when a rotor runs below its rated speed)
* t2 = t1 · k2 / k1  (run time giving the same pelleting in another rotor or speed)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

RCF_CONSTANT_PER_MM = 1.118e-6
K_FACTOR_CONSTANT = 2.53e11

ROTOR_TABLE_PATH = Path(__file__).parent / "data" / "rotors.yaml"
ROTOR_TYPES = ("fixed_angle", "swinging_bucket", "vertical")


def _require_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than 0, got {value!r}")


def rcf_from_rpm(rpm: float, radius_mm: float) -> float:
    """Relative centrifugal force (× g) at ``radius_mm`` when spinning at ``rpm``."""
    _require_positive(rpm=rpm, radius_mm=radius_mm)
    return RCF_CONSTANT_PER_MM * radius_mm * rpm**2


def rpm_from_rcf(rcf: float, radius_mm: float) -> float:
    """Speed (rpm) that produces ``rcf`` (× g) at ``radius_mm``."""
    _require_positive(rcf=rcf, radius_mm=radius_mm)
    return math.sqrt(rcf / (RCF_CONSTANT_PER_MM * radius_mm))


def k_factor(r_min_mm: float, r_max_mm: float, rpm: float) -> float:
    """Clearing (k) factor of a rotor geometry at ``rpm``."""
    _require_positive(r_min_mm=r_min_mm, r_max_mm=r_max_mm, rpm=rpm)
    if r_max_mm <= r_min_mm:
        raise ValueError(f"r_max_mm ({r_max_mm}) must be greater than r_min_mm ({r_min_mm})")
    return K_FACTOR_CONSTANT * math.log(r_max_mm / r_min_mm) / rpm**2


def k_factor_at_speed(k_max: float, max_rpm: float, rpm: float) -> float:
    """Adjusted k-factor for a rotor rated ``k_max`` at ``max_rpm`` but run at ``rpm``."""
    _require_positive(k_max=k_max, max_rpm=max_rpm, rpm=rpm)
    return k_max * (max_rpm / rpm) ** 2


def equivalent_time(t1: float, k1: float, k2: float) -> float:
    """Run time with k-factor ``k2`` that pellets as well as ``t1`` with ``k1`` (same units as t1)."""
    _require_positive(t1=t1, k1=k1, k2=k2)
    return t1 * k2 / k1


@dataclass(frozen=True)
class Rotor:
    """One rotor-table entry. Radii in mm; ``k_factor`` is the published value at ``max_rpm``."""

    id: str
    name: str
    manufacturer: str
    type: str
    max_rpm: float
    r_max_mm: float
    r_min_mm: float | None
    r_avg_mm: float | None
    k_factor: float | None
    citation: str
    verified: bool
    note: str = ""

    def radius_for_basis(self, rcf_basis: str | None) -> float:
        """Radius at which a g-force stated on ``rcf_basis`` (avg|max) is measured.

        Without a stated basis the maximum radius is used, which gives the largest
        RCF the rotor can reach and therefore the most lenient feasibility check.
        """
        if rcf_basis == "avg":
            if self.r_avg_mm is not None:
                return self.r_avg_mm
            if self.r_min_mm is not None:
                return (self.r_min_mm + self.r_max_mm) / 2
        return self.r_max_mm

    def max_rcf(self, rcf_basis: str | None = None) -> float:
        return rcf_from_rpm(self.max_rpm, self.radius_for_basis(rcf_basis))

    def rpm_for(self, g_force: float, rcf_basis: str | None = None) -> float:
        return rpm_from_rcf(g_force, self.radius_for_basis(rcf_basis))

    def k_factor_for(self, rpm: float) -> float | None:
        """k-factor at ``rpm``: scaled from the published value, else computed from the radii."""
        if self.k_factor is not None:
            return k_factor_at_speed(self.k_factor, self.max_rpm, rpm)
        if self.r_min_mm is not None:
            return k_factor(self.r_min_mm, self.r_max_mm, rpm)
        return None


_ROTOR_FIELDS = {
    "name": str,
    "manufacturer": str,
    "type": str,
    "max_rpm": (int, float),
    "r_max_mm": (int, float),
    "citation": str,
    "verified": bool,
}
_OPTIONAL_NUMBERS = ("r_min_mm", "r_avg_mm", "k_factor")


def parse_rotor_table(data: object, source: str = "rotor table") -> dict[str, Rotor]:
    """Validate the rotor table mapping (id -> entry) and build Rotor objects."""
    if not isinstance(data, dict) or not isinstance(data.get("rotors"), dict):
        raise ValueError(f"{source}: expected a mapping with a 'rotors' mapping at the top level")
    rotors: dict[str, Rotor] = {}
    for rotor_id, entry in data["rotors"].items():
        where = f"{source}: rotor '{rotor_id}'"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: entry must be a mapping")
        for field, kind in _ROTOR_FIELDS.items():
            value = entry.get(field)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise ValueError(f"{where}: field '{field}' is missing or has the wrong type ({value!r})")
        for field in _OPTIONAL_NUMBERS:
            value = entry.get(field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{where}: field '{field}' must be a number or null, got {value!r}")
            if value is not None and value <= 0:
                raise ValueError(f"{where}: field '{field}' must be greater than 0, got {value!r}")
        if entry["type"] not in ROTOR_TYPES:
            raise ValueError(f"{where}: type must be one of {', '.join(ROTOR_TYPES)}, got {entry['type']!r}")
        if entry["max_rpm"] <= 0 or entry["r_max_mm"] <= 0:
            raise ValueError(f"{where}: max_rpm and r_max_mm must be greater than 0")
        r_min = entry.get("r_min_mm")
        if r_min is not None and r_min >= entry["r_max_mm"]:
            raise ValueError(f"{where}: r_min_mm ({r_min}) must be smaller than r_max_mm ({entry['r_max_mm']})")
        unknown = set(entry) - set(_ROTOR_FIELDS) - set(_OPTIONAL_NUMBERS) - {"note", "tubes"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        rotors[rotor_id] = Rotor(
            id=rotor_id,
            name=entry["name"],
            manufacturer=entry["manufacturer"],
            type=entry["type"],
            max_rpm=float(entry["max_rpm"]),
            r_max_mm=float(entry["r_max_mm"]),
            r_min_mm=None if r_min is None else float(r_min),
            r_avg_mm=None if entry.get("r_avg_mm") is None else float(entry["r_avg_mm"]),
            k_factor=None if entry.get("k_factor") is None else float(entry["k_factor"]),
            citation=entry["citation"],
            verified=entry["verified"],
            note=entry.get("note", ""),
        )
    return rotors


@lru_cache(maxsize=1)
def load_rotors() -> dict[str, Rotor]:
    """The shipped rotor table, keyed by rotor id."""
    with ROTOR_TABLE_PATH.open(encoding="utf-8") as handle:
        return parse_rotor_table(yaml.safe_load(handle), source=ROTOR_TABLE_PATH.name)


def get_rotor(rotor_id: str) -> Rotor:
    """Look up a rotor by id; raises KeyError naming the id when it is not in the table."""
    rotors = load_rotors()
    if rotor_id not in rotors:
        raise KeyError(f"unknown rotor '{rotor_id}' (not in {ROTOR_TABLE_PATH.name})")
    return rotors[rotor_id]
