"""Dilution linearity of a counting instrument: the ISO 20391-2 proportionality index (PI), the CV of each
dilution, the dilutions outside the linear range and the preparation's concentration from the linear range
(pure; no Django).

A series is one preparation measured at several dilutions (dilution factor 100 is 1:100, dilution fraction
0.01), each with one or more readings of the diluted suspension in particles/mL. An ideal counter reads
proportionally to the dilution fraction: reading = c x fraction, c the undiluted concentration.

- The proportional model is fitted through the origin by weighted least squares on every reading, the variance
  taken proportional to the dilution fraction (Poisson counts): c = Σ y / Σ f.
- Each dilution's relative residual is mean / (c x f) - 1; the PI sums their absolute values over the readings
  (NIST COMET's "smoothed scaled sum of absolute errors" with its default smoothing, which fits the dilution
  means). Form and variance are data in standards.yaml, tagged [M]: the standard's own text could not be read,
  the form is that of COMET, the NIST implementation by the standard's authors, so a correction is a one-line
  change there.
- A dilution is outside the linear range when its mean reading falls outside the instrument's working range
  (standards.yaml) or when its undiluted estimate (mean x factor) departs by more than the tolerance from the
  median estimate of the dilutions inside the working range. The concentration is the proportional fit on the
  dilutions left, and says which they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import t as student_t

RULES_FILE = Path(__file__).with_name("standards.yaml")
MIN_DILUTIONS = 2


class SeriesError(ValueError):
    """A series that cannot be judged, said in the lab's words."""


@cache
def rules() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def techniques() -> dict:
    return rules()["linear_range"]["techniques"]


@dataclass
class Dilution:
    factor: float
    readings: list[float]
    mean: float = math.nan
    sd: float | None = None
    cv: float | None = None
    fitted: float | None = None
    relative_residual: float | None = None
    undiluted: float = math.nan
    in_linear_range: bool = True
    why_outside: str = ""

    @property
    def fraction(self) -> float:
        return 1.0 / self.factor


@dataclass
class Linearity:
    dilutions: list[Dilution]
    proportionality_index: float | None
    slope: float | None  # the fit on every dilution: the undiluted concentration it implies
    concentration_per_ml: float | None  # from the linear range
    used: list[float] = field(default_factory=list)  # dilution factors the concentration comes from
    problem: str = ""
    form: str = ""
    source: str = ""
    evidence: str = ""
    pi_limits: tuple | None = None  # COMET's bootstrap confidence limits of the PI (lower, upper), when defined


def parse_points(points) -> list[Dilution]:
    """[{"dilution_factor": 100, "readings": [...]}, ...] checked: factors ≥ 1 and distinct, readings > 0."""
    if not isinstance(points, list | tuple) or len(points) < MIN_DILUTIONS:
        raise SeriesError(f"A dilution series needs at least {MIN_DILUTIONS} dilutions.")
    dilutions, seen = [], set()
    for number, point in enumerate(points, start=1):
        where = f"Dilution {number}"
        try:
            factor = float(point["dilution_factor"])
            readings = [float(value) for value in point["readings"]]
        except (KeyError, TypeError, ValueError) as error:
            raise SeriesError(f"{where}: give a dilution factor and its readings (particles/mL) as numbers.") from error
        if not math.isfinite(factor) or factor < 1:
            raise SeriesError(f"{where}: the dilution factor is 1 or more (100 for 1:100).")
        if factor in seen:
            raise SeriesError(f"{where}: the dilution 1:{factor:g} is given twice; put its readings on one line.")
        if not readings or any(not math.isfinite(value) or value <= 0 for value in readings):
            raise SeriesError(f"{where}: each reading is a concentration above 0 (particles/mL).")
        seen.add(factor)
        dilutions.append(Dilution(factor, readings))
    return sorted(dilutions, key=lambda d: d.factor)


VARIANCE_POWER = {"proportional": 1, "constant": 0, "squared": 2}


def _fit(dilutions: list[Dilution]) -> float:
    """The proportional model through the origin, by weighted least squares on every reading (each reading one
    sample of its dilution) with weights 1 / var, var ∝ f^k (standards.yaml ``variance``; k = 1, proportional to
    the dilution fraction as for Poisson counts, is COMET's default): b = Σ w·f·y / Σ w·f², so Σ y / Σ f for
    k = 1 and Σ f·y / Σ f² for k = 0."""
    power = VARIANCE_POWER[rules()["proportionality_index"]["variance"]]
    f = np.concatenate([np.full(len(d.readings), d.fraction) for d in dilutions])
    y = np.concatenate([np.asarray(d.readings, dtype=float) for d in dilutions])
    w = f ** (-power)
    return float(np.sum(w * f * y) / np.sum(w * f * f))


def proportionality_index(residuals, counts=None, form: str | None = None) -> float:
    """The PI from each dilution's relative residual (its mean / fitted - 1), each counted once per reading
    (``counts``; COMET sums over samples): scaled_sum_absolute Σ n·|r|, scaled_sum_squared Σ n·r²."""
    form = form or rules()["proportionality_index"]["form"]
    values = np.abs(np.asarray(residuals, dtype=float))
    weights = np.ones_like(values) if counts is None else np.asarray(counts, dtype=float)
    if form == "scaled_sum_absolute":
        return float(np.sum(weights * values))
    if form == "scaled_sum_squared":
        return float(np.sum(weights * values**2))
    raise SeriesError(f"Unknown proportionality index form {form!r} in standards.yaml.")


def index_of(dilutions) -> float:
    """The PI of dilutions given as (factor, readings): the proportional fit and each dilution's relative
    residual, as ``assess`` computes them."""
    series = [Dilution(factor, list(readings)) for factor, readings in dilutions]
    slope = _fit(series)
    residuals = [float(np.mean(d.readings)) / (slope * d.fraction) - 1.0 for d in series]
    return proportionality_index(residuals, [len(d.readings) for d in series])


def pi_bootstrap_limits(dilutions, index: float) -> tuple | None:
    """COMET's confidence limits of the PI (R/utils.R, run_bootstrap_proc and nonpar.boot.simple, read): for
    iteration i = 1..B the generator is seeded with i and each dilution's readings are resampled with replacement
    (as many as it has); the PI of every resample is taken on the log scale, and the limits are
    exp(log PI ± t((1 + level) / 2, B - 1) · SD of the log PIs). Deterministic: the seeds are the iteration
    numbers. The generator is numpy's, not R's, so the limits follow COMET's procedure, not its digits. None
    when the PI is 0 (no log scale) or no resample gives a PI above 0."""
    settings = rules()["proportionality_index"]["bootstrap"]
    replicates, level = int(settings["replicates"]), float(settings["confidence"])
    if not index > 0:
        return None
    logs = []
    for iteration in range(1, replicates + 1):
        generator = np.random.default_rng(iteration)
        resampled = [(f, generator.choice(np.asarray(r, dtype=float), size=len(r), replace=True)) for f, r in dilutions]
        value = index_of(resampled)
        if value > 0 and math.isfinite(value):
            logs.append(math.log(value))
    if len(logs) < 2:
        return None
    spread = float(np.std(logs, ddof=1)) * float(student_t.ppf((1 + level) / 2, replicates - 1))
    return math.exp(math.log(index) - spread), math.exp(math.log(index) + spread)


def assess(points, technique: str) -> Linearity:
    """The whole judgement of one series (see the module's docstring)."""
    dilutions = parse_points(points)
    ranges = techniques().get(technique)
    if ranges is None:
        raise SeriesError(f"No working range is known for {technique!r}; choose {', '.join(techniques())}.")
    tolerance = float(rules()["linear_range"]["relative_residual_tolerance"])
    for d in dilutions:
        values = np.asarray(d.readings, dtype=float)
        d.mean = float(values.mean())
        d.undiluted = d.mean * d.factor
        if len(values) > 1:
            d.sd = float(values.std(ddof=1))
            d.cv = d.sd / d.mean
    slope = _fit(dilutions)
    residuals = []
    for d in dilutions:
        d.fitted = slope * d.fraction
        d.relative_residual = d.mean / d.fitted - 1.0
        residuals.append(d.relative_residual)
    pi_rules = rules()["proportionality_index"]
    index = proportionality_index(residuals, [len(d.readings) for d in dilutions], pi_rules["form"])
    low, high = float(ranges["lowest_per_ml"]), float(ranges["highest_per_ml"])
    inside = []
    for d in dilutions:
        if d.mean < low or d.mean > high:
            d.in_linear_range = False
            d.why_outside = f"reading outside the instrument's working range ({low:.0e}–{high:.0e} particles/mL)"
        else:
            inside.append(d)
    # Judged against the median undiluted estimate of the dilutions inside the working range: a least-squares
    # fit would lean on the most concentrated dilution, the one most likely to be off.
    linear = inside
    if len(inside) >= MIN_DILUTIONS:
        reference = float(np.median([d.undiluted for d in inside]))
        linear = []
        for d in inside:
            if abs(d.undiluted / reference - 1.0) > tolerance:
                d.in_linear_range = False
                d.why_outside = f"departs from proportionality by more than {tolerance:.0%}"
            else:
                linear.append(d)
    result = Linearity(
        dilutions,
        index,
        slope,
        None,
        form=pi_rules["form"],
        source=pi_rules["source"],
        evidence=pi_rules["evidence"],
        pi_limits=pi_bootstrap_limits([(d.factor, d.readings) for d in dilutions], index),
    )
    if not linear:
        result.problem = "No dilution is in the linear range: the concentration cannot be taken from this series."
        return result
    result.concentration_per_ml = _fit(linear)
    result.used = [d.factor for d in linear]
    if len(linear) < MIN_DILUTIONS:
        result.problem = "Only one dilution is in the linear range: the concentration rests on it alone."
    return result
