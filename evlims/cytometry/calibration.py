"""Calibrated axes: fluorescence in MESF/ERF from beads of assigned values, scatter in nm from beads of known size
through a Mie model.

Fluorescence (what FlowCal's ``mef`` module does, without its clustering): the median of each bead population in
arbitrary units against the population's assigned value, fitted as a straight line in log-log space,
log10(MESF) = intercept + slope × log10(a.u.). The blank population (assigned 0) is left out of the fit.

Scatter (what FCMPASS does, simplified [M]): the scattering cross-section of each bead is computed with Mie theory
(miepython) from its diameter and refractive index in the medium, at the laser's wavelength; one factor, fitted in
log space, turns cross-sections into the instrument's units. A particle's scatter, divided by that factor, is a
cross-section, read back as a diameter on the curve of a sphere of the stated refractive index (EVs: about 1.37–
1.42 in water). The total scattering cross-section stands in for the collection angles of a real detector, which
changes the factor but not the order of sizes; docs/flow-cytometry.md says what this leaves out.
"""

import math

import numpy as np

FLUORESCENCE_UNITS = ("MESF", "ERF", "MEFL", "MEPE")
DIAMETER_GRID_NM = np.geomspace(20, 2000, 400)


class CalibrationError(ValueError):
    """Bead values cannot be fitted; the message names what is missing."""


def fit_fluorescence(measured: list[float], assigned: list[float]) -> dict:
    """{slope, intercept, r_squared, points} of log10(assigned) on log10(measured), blank and empty beads left out."""
    if len(measured) != len(assigned):
        raise CalibrationError(f"{len(measured)} measured values for {len(assigned)} assigned values.")
    pairs = [(m, a) for m, a in zip(measured, assigned, strict=True) if m and a and m > 0 and a > 0]
    if len(pairs) < 3:
        raise CalibrationError("At least three bead populations above zero are needed for a fit.")
    x = np.log10([m for m, _ in pairs])
    y = np.log10([a for _, a in pairs])
    slope, intercept = np.polyfit(x, y, 1)
    predicted = intercept + slope * x
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1.0 - float(np.sum((y - predicted) ** 2)) / total if total else 1.0
    return {
        "slope": float(slope),
        "intercept": float(intercept),
        "r_squared": round(r_squared, 6),
        "points": [[float(m), float(a)] for m, a in pairs],
    }


def to_fluorescence_units(values: np.ndarray, fit: dict) -> np.ndarray:
    """Arbitrary units to calibrated ones through the fit; values ≤ 0 stay 0 (below the first bead anyway)."""
    out = np.zeros(values.shape, dtype=np.float64)
    positive = values > 0
    out[positive] = np.power(10.0, fit["intercept"] + fit["slope"] * np.log10(values[positive]))
    return out


def cross_sections(diameters_nm, *, refractive_index: float, medium_index: float, wavelength_nm: float) -> np.ndarray:
    """Scattering cross-sections (nm²) of spheres, by Mie theory (miepython)."""
    import miepython  # imported here: loading it costs time the pages that do not calibrate need not pay

    diameters = np.asarray(diameters_nm, dtype=np.float64)
    efficiency = miepython.efficiencies(refractive_index, diameters, wavelength_nm, n_env=medium_index)[1]
    return np.asarray(efficiency) * math.pi * (diameters / 2) ** 2


def fit_scatter(
    measured: list[float],
    diameters_nm: list[float],
    *,
    bead_index: float,
    medium_index: float,
    wavelength_nm: float,
    particle_index: float,
) -> dict:
    """{factor, bead_index, medium_index, wavelength_nm, particle_index, points, residual_log10}: the factor from
    cross-section (nm²) to the instrument's scatter units, fitted on beads of known diameter."""
    if len(measured) != len(diameters_nm):
        raise CalibrationError(f"{len(measured)} measured values for {len(diameters_nm)} bead diameters.")
    pairs = [(m, d) for m, d in zip(measured, diameters_nm, strict=True) if m and d and m > 0 and d > 0]
    if len(pairs) < 2:
        raise CalibrationError("At least two bead sizes with a positive scatter are needed for a fit.")
    for name, index in (("bead", bead_index), ("particle", particle_index), ("medium", medium_index)):
        if not 1.0 <= index <= 3.0:
            raise CalibrationError(f"The {name} refractive index {index:g} is not between 1.0 and 3.0.")
    if not 200 <= wavelength_nm <= 1100:
        raise CalibrationError(f"The wavelength {wavelength_nm:g} nm is not between 200 and 1100 nm.")
    sigma = cross_sections(
        [d for _, d in pairs], refractive_index=bead_index, medium_index=medium_index, wavelength_nm=wavelength_nm
    )
    ratios = np.log10([m for m, _ in pairs]) - np.log10(sigma)
    factor = float(np.mean(ratios))
    return {
        "factor": 10.0**factor,
        "bead_index": bead_index,
        "medium_index": medium_index,
        "wavelength_nm": wavelength_nm,
        "particle_index": particle_index,
        "points": [[float(m), float(d)] for m, d in pairs],
        "residual_log10": round(float(np.max(np.abs(ratios - factor))), 4),
    }


def to_diameter(values: np.ndarray, fit: dict) -> np.ndarray:
    """Scatter to diameter (nm) of a sphere of the particle refractive index; outside the grid (20–2000 nm) or
    where the curve stops rising, NaN (such events fall in no gate on this axis)."""
    sigma = cross_sections(
        DIAMETER_GRID_NM,
        refractive_index=fit["particle_index"],
        medium_index=fit["medium_index"],
        wavelength_nm=fit["wavelength_nm"],
    )
    rising = np.concatenate([[True], np.diff(sigma) > 0])
    stop = int(np.argmin(rising)) if not rising.all() else len(sigma)  # the first diameter where Mie turns down
    grid_sigma, grid_d = np.log10(sigma[:stop]), np.log10(DIAMETER_GRID_NM[:stop])
    out = np.full(values.shape, np.nan, dtype=np.float64)
    positive = values > 0
    log_sigma = np.log10(values[positive] / fit["factor"])
    inside = (log_sigma >= grid_sigma[0]) & (log_sigma <= grid_sigma[-1])
    mapped = np.full(log_sigma.shape, np.nan)
    mapped[inside] = np.power(10.0, np.interp(log_sigma[inside], grid_sigma, grid_d))
    out[positive] = mapped
    return out


def calibrated_columns(events: np.ndarray, names: list[str], calibrations: dict[str, dict]) -> dict[str, np.ndarray]:
    """Every parameter's values, by name, through its calibration where one is given ({name: calibration})."""
    columns = {}
    for position, name in enumerate(names):
        column = events[:, position]
        calibration = calibrations.get(name)
        if calibration is None:
            columns[name] = column
        elif calibration["kind"] == "file":  # the file's own $PnCALIBRATION: a factor, nothing on top
            columns[name] = column * np.float32(calibration["fit"]["factor"])
        elif calibration["kind"] == "scatter":
            columns[name] = to_diameter(column, calibration["fit"])
        else:
            columns[name] = to_fluorescence_units(column, calibration["fit"])
    return columns
