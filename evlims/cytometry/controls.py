"""The controls MIFlowCyt-EV asks for, read against the EV sample they control (Welsh et al., JEV 2020, item 3):
buffer only, buffer with reagents, unstained, isotype or FMO, detergent lysis and serial dilution. Two figures
are computed: the **lysis drop** (the share of particle-gate events that detergent removes; vesicles lyse,
protein aggregates and beads do not) and the **dilution linearity** (measured events per µL against 1/dilution
on log-log axes: a slope near 1 shows single particles counted one by one; a slope well below 1, swarm detection
or coincidence). What counts as acceptable is the lab's call; the figures are shown with their inputs."""

import math

import numpy as np

from .models import FlowAcquisition


def _rate(acquisition) -> tuple[float | None, str]:
    """Particle-gate events per µL analysed by the latest result (events alone when no volume is known)."""
    results = list(acquisition.results.all())
    if not results:
        return None, "not gated"
    latest = results[0]
    events = next((c["events"] for c in latest.counts if c["gate"] == latest.particle_gate), None)
    if events is None:
        return None, "not gated"
    if latest.volume_ul:
        return events / latest.volume_ul, "events/µL"
    return float(events), "events"


def lysis_drop(sample_rate: float, lysed_rate: float) -> float:
    """Percent of the sample's particle events gone after detergent."""
    return 100.0 * (1.0 - lysed_rate / sample_rate) if sample_rate else math.nan


def dilution_linearity(points: list[tuple[float, float]]) -> dict | None:
    """{slope, r_squared, points} of log10(events/µL) on log10(1/dilution); None below three dilutions."""
    usable = [(d, r) for d, r in points if d and d > 0 and r and r > 0]
    if len({d for d, _ in usable}) < 3:
        return None
    x = np.log10([1.0 / d for d, _ in usable])
    y = np.log10([r for _, r in usable])
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (intercept + slope * x)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "slope": round(float(slope), 3),
        "r_squared": round(1 - residual / total, 4) if total else 1.0,
        "points": sorted(usable),
    }


def control_summary(acquisition) -> dict:
    """The controls of an EV sample acquisition (prefetched ``control_acquisitions`` with their results)."""
    if acquisition.role != FlowAcquisition.Role.SAMPLE:
        return {}
    controls = list(acquisition.control_acquisitions.all())
    sample_rate, unit = _rate(acquisition)
    rows = []
    for control in controls:
        rate, control_unit = _rate(control)
        rows.append({"acquisition": control, "rate": rate, "unit": control_unit})
    present = {control.role for control in controls}
    summary = {
        "rows": rows,
        "missing": [label for role, label in FlowAcquisition.Role.choices if role not in present | {"sample", "beads"}],
        "lysis_drop": None,
        "linearity": None,
    }
    lysed = [r for r in rows if r["acquisition"].role == FlowAcquisition.Role.LYSIS and r["rate"] is not None]
    if lysed and sample_rate and lysed[0]["unit"] == unit:
        summary["lysis_drop"] = round(lysis_drop(sample_rate, lysed[0]["rate"]), 1)
    steps = [
        (r["acquisition"].dilution_factor, r["rate"])
        for r in rows
        if r["acquisition"].role == FlowAcquisition.Role.DILUTION and r["unit"] == "events/µL"
    ]
    if acquisition.dilution_factor and unit == "events/µL":
        steps.append((acquisition.dilution_factor, sample_rate))
    summary["linearity"] = dilution_linearity(steps)
    return summary
