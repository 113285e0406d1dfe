"""One analysis of one FCS file: its events on calibrated axes where a calibration is given, the gates' counts,
the concentration per mL of the original sample and, with a scatter calibration, the size distribution of the
particle gate. Pure: bytes and dicts in, a dict out (the services store it)."""

import numpy as np

from ..instruments.particles import stock_per_ml
from .calibration import calibrated_columns
from .fcs import FcsHeader, read_events
from .gating import Gate, GateError, apply_gates, check_gates, concentration, density, gate_mask

SIZE_BINS_NM = np.arange(30, 1010, 10.0)
UNCALIBRATED = "a.u. (uncalibrated)"
IN_FILE = "calibrated in the file"


def file_calibrations(header: FcsHeader) -> dict[str, dict]:
    """The channels the file itself calibrates ($PnCALIBRATION, e.g. FCMPASS's output), as calibrations of kind
    ``file``: the factor is applied and the file's units shown, and no calibration of evlims goes on top."""
    return {
        p.name: {
            "kind": "file",
            "units": f"{p.calibration_units} ({IN_FILE})",
            "fit": {"factor": p.calibration_factor},
        }
        for p in header.parameters
        if p.calibration_factor and p.calibration_units
    }


def _sized(calibration: dict) -> bool:
    return calibration["kind"] == "scatter" or (calibration["kind"] == "file" and calibration["units"][:3] == "nm ")


def axis_units(header: FcsHeader, calibrations: dict[str, dict]) -> dict[str, str]:
    return {p.name: calibrations.get(p.name, {}).get("units", UNCALIBRATED) for p in header.parameters}


def _sizes(diameters: np.ndarray, volume_ul, dilution) -> dict:
    diameters = diameters[np.isfinite(diameters)]
    if diameters.size == 0:
        return {}
    counts, edges = np.histogram(diameters, bins=SIZE_BINS_NM)
    centres = (edges[:-1] + edges[1:]) / 2
    scale = stock_per_ml(1000.0 / volume_ul, dilution) if volume_ul and dilution else None
    d10, d50, d90 = np.percentile(diameters, [10, 50, 90])
    return {
        "bin_center_nm": centres.round(1).tolist(),
        "events": counts.tolist(),
        "concentration_per_ml": (counts * scale).tolist() if scale else None,
        "size_mean_nm": round(float(diameters.mean()), 1),
        "size_mode_nm": round(float(centres[int(np.argmax(counts))]), 1),
        "d10_nm": round(float(d10), 1),
        "d50_nm": round(float(d50), 1),
        "d90_nm": round(float(d90), 1),
        "sized_events": int(diameters.size),
    }


def analyse(
    data: bytes,
    header: FcsHeader,
    *,
    gates: list[Gate],
    particle_gate: str,
    calibrations: dict[str, dict],
    volume_ul: float | None,
    dilution: float | None,
) -> dict:
    """{counts, axes, concentration_per_ml, concentration_note, sizes}; GateError when a gate cannot be applied."""
    names = [p.name for p in header.parameters]
    check_gates(gates, names)
    if particle_gate not in {g.name for g in gates}:
        raise GateError(f"The particle gate “{particle_gate}” is not one of the gates.")
    unknown = sorted(set(calibrations) - set(names))
    if unknown:
        raise GateError(f"The file has no parameter “{unknown[0]}” for the calibration of that channel.")
    calibrations = file_calibrations(header) | calibrations
    events = read_events(data, header)
    columns = calibrated_columns(events, names, calibrations)
    del events
    counts = apply_gates(columns, gates, header.event_count)
    particles = next(c for c in counts if c["gate"] == particle_gate)
    value, note = concentration(particles["events"], volume_ul=volume_ul, dilution=dilution)
    sizes = {}
    gate = next(g for g in gates if g.name == particle_gate)
    scatter = [name for name, c in calibrations.items() if _sized(c)]
    if scatter:
        mask = np.ones(header.event_count, dtype=bool)
        for g in _lineage(gates, gate):
            mask &= gate_mask(columns, g)
        sizes = _sizes(columns[scatter[0]][mask], volume_ul, dilution) | {"channel": scatter[0]}
    return {
        "counts": counts,
        "axes": axis_units(header, calibrations),
        "concentration_per_ml": value,
        "concentration_note": note,
        "sizes": sizes,
    }


def _lineage(gates: list[Gate], gate: Gate) -> list[Gate]:
    by_name = {g.name: g for g in gates}
    chain = [gate]
    while chain[-1].parent:
        chain.append(by_name[chain[-1].parent])
    return chain


def default_axes(header: FcsHeader) -> tuple[str, str]:
    """The density plot's axes before anyone chooses: the first side scatter (else any scatter, else the first
    parameter) against the first fluorescence parameter (else the second parameter)."""
    names = [p.name for p in header.parameters if p.kind != "time"] or [p.name for p in header.parameters]
    scatter = [p.name for p in header.parameters if p.kind == "scatter"]
    side = [n for n in scatter if n.lower().startswith("ssc")]
    fluorescence = [p.name for p in header.parameters if p.kind == "fluorescence"]
    x = (side or scatter or names)[0]
    y = next((n for n in fluorescence if n != x), next((n for n in names if n != x), x))
    return x, y


def density_for(data: bytes, header: FcsHeader, x: str, y: str, calibrations: dict[str, dict]) -> dict:
    events = read_events(data, header)
    names = [p.name for p in header.parameters]
    calibrations = file_calibrations(header) | calibrations
    picked = {name: calibrations[name] for name in (x, y) if name in calibrations}
    columns = calibrated_columns(events[:, [names.index(x), names.index(y)]], [x, y], picked)
    grid = density(columns[x], columns[y])
    return grid | {"x": x, "y": y, "x_units": axis_units(header, picked)[x], "y_units": axis_units(header, picked)[y]}
