"""Gates on events and what they count: events per gate, the share of their parent gate (% positive for a marker
gate), and the concentration per mL of the original sample.

A gate is a rectangle on two parameters or a threshold (a range) on one, with bounds in the axis's units: the
calibrated ones (MESF/ERF, nm) when the axis has a calibration, the instrument's arbitrary units otherwise. A
gate may sit inside another (``parent``): a CD63 gate inside the particle gate counts % CD63-positive particles;
a rectangle with lower bounds on two fluorescence axes counts co-localisation (CD9⁺CD63⁺). Pure numpy.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..instruments.particles import stock_per_ml

MAX_GATES = 40


class GateError(ValueError):
    """A gate cannot be applied; the message names the gate and the bound."""


@dataclass
class Gate:
    name: str
    x: str  # parameter name ($PnN or $PnS)
    x_min: float | None = None
    x_max: float | None = None
    y: str = ""  # empty: a threshold gate on x alone
    y_min: float | None = None
    y_max: float | None = None
    marker: str = ""  # e.g. CD63, CD9+CD81
    parent: str = ""  # the gate this one is inside; empty: all events
    source: str = ""  # the file it was imported from; empty: typed or drawn in evlims

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Gate":
        known = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        gate = cls(**known)
        for bound in ("x_min", "x_max", "y_min", "y_max"):
            value = getattr(gate, bound)
            if value is not None and (not isinstance(value, int | float) or not math.isfinite(value)):
                raise GateError(f"Gate “{gate.name}”: {bound.replace('_', ' ')} must be a number.")
        return gate


def check_gates(gates: list[Gate], parameters: list[str]) -> None:
    """Names unique, parameters known, bounds ordered, parents defined before their children (no cycles)."""
    if not gates:
        raise GateError("Give at least one gate.")
    if len(gates) > MAX_GATES:
        raise GateError(f"{len(gates)} gates; at most {MAX_GATES} are applied at once.")
    seen: set[str] = set()
    for gate in gates:
        if not gate.name or len(gate.name) > 60:
            raise GateError("Every gate needs a name of at most 60 characters.")
        if gate.name in seen:
            raise GateError(f"Two gates are called “{gate.name}”.")
        for axis in filter(None, (gate.x, gate.y)):
            if axis not in parameters:
                raise GateError(f"Gate “{gate.name}”: the file has no parameter “{axis}”.")
        for low, high in ((gate.x_min, gate.x_max), (gate.y_min, gate.y_max)):
            if low is not None and high is not None and low >= high:
                raise GateError(f"Gate “{gate.name}”: the lower bound {low:g} is not below the upper bound {high:g}.")
        if gate.x_min is None and gate.x_max is None and (not gate.y or (gate.y_min is None and gate.y_max is None)):
            raise GateError(f"Gate “{gate.name}” has no bound.")
        if gate.parent and gate.parent not in seen:
            raise GateError(f"Gate “{gate.name}” is inside “{gate.parent}”, which is not a gate listed before it.")
        seen.add(gate.name)


def _inside(values: np.ndarray, low, high) -> np.ndarray:
    keep = np.ones(values.shape[0], dtype=bool)
    if low is not None:
        keep &= values >= low
    if high is not None:
        keep &= values <= high
    return keep


def gate_mask(columns: dict[str, np.ndarray], gate: Gate) -> np.ndarray:
    """The events inside the gate's own bounds (its parent not applied)."""
    mask = _inside(columns[gate.x], gate.x_min, gate.x_max)
    if gate.y:
        mask &= _inside(columns[gate.y], gate.y_min, gate.y_max)
    return mask


def apply_gates(columns: dict[str, np.ndarray], gates: list[Gate], event_count: int) -> list[dict]:
    """Events in each gate: [{gate, parent, marker, source, events, parent_events, percent_of_parent, medians}], in gate
    order; ``medians`` are the gate's median on each of its axes (a bead population's value for a calibration).
    ``columns`` maps a parameter name to its (calibrated where calibrated) values."""
    masks: dict[str, np.ndarray] = {}
    counts = []
    for gate in gates:
        mask = gate_mask(columns, gate)
        parent_events = event_count
        if gate.parent:
            mask &= masks[gate.parent]
            parent_events = int(masks[gate.parent].sum())
        masks[gate.name] = mask
        events = int(mask.sum())
        medians = {axis: _median(columns[axis][mask]) for axis in filter(None, (gate.x, gate.y))}
        counts.append(
            {
                "gate": gate.name,
                "parent": gate.parent or "All events",
                "marker": gate.marker,
                "source": gate.source,
                "events": events,
                "parent_events": parent_events,
                "percent_of_parent": round(100.0 * events / parent_events, 3) if parent_events else None,
                "medians": medians,
            }
        )
    return counts


def _median(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def concentration(events: int, *, volume_ul: float | None, dilution: float | None) -> tuple[float | None, str]:
    """Particles per mL of the original sample = events ÷ analysed volume × dilution, or (None, why not)."""
    if not volume_ul or volume_ul <= 0:
        return None, "No analysed volume: the file records none ($VOL) and none was given, so no concentration."
    if not dilution or dilution < 1:
        return None, "No dilution factor was given (1 for undiluted), so no concentration of the original sample."
    return stock_per_ml(events / (volume_ul / 1000.0), dilution), ""


def density(x: np.ndarray, y: np.ndarray, *, bins: int = 96, log: tuple[bool, bool] = (True, True)) -> dict:
    """A 2-D histogram for the density plot: {x_edges, y_edges, counts, log}; log axes drop values ≤ 0."""
    keep = np.isfinite(x) & np.isfinite(y)
    if log[0]:
        keep &= x > 0
    if log[1]:
        keep &= y > 0
    xs = np.log10(x[keep]) if log[0] else x[keep]
    ys = np.log10(y[keep]) if log[1] else y[keep]
    if xs.size == 0:
        return {"x_edges": [], "y_edges": [], "counts": [], "log": list(log), "shown": 0}
    x_range = (float(xs.min()), float(xs.max()) + 1e-9)
    y_range = (float(ys.min()), float(ys.max()) + 1e-9)
    counts, x_edges, y_edges = np.histogram2d(xs, ys, bins=bins, range=(x_range, y_range))
    return {
        "x_edges": x_edges.tolist(),
        "y_edges": y_edges.tolist(),
        "counts": counts.astype(int).tolist(),
        "log": list(log),
        "shown": int(xs.size),
    }
