"""ISO 13528 statistics of a proficiency-testing round, without Django: robust consensus (Algorithm A), the
assigned value and its standard uncertainty, the performance scores z, z′, ζ and En with their bands, and the
homogeneity and stability checks of the test items.

Sources (docs/interlab.md gives the formulas and the decisions):
- ISO 13528:2022 (and 2015) Annex C.3.1 Algorithm A: start at x* = median, s* = 1.483·median|xᵢ − x*|; winsorise
  at x* ± δ with δ = 1.5·s*; x* = mean of the winsorised values, s* = 1.134·SD of them; repeat until neither
  changes in the third significant figure (here: to a relative 1e-9, which settles the third figure too).
- ISO 13528 §7.7.3: u(x_pt) = 1.25·s*/√p for a robust consensus of p results.
- ISO 13528 §9.4–9.7: z, z′, ζ and En; §9.4.x bands |z| ≤ 2 satisfactory, 2 < |z| < 3 questionable,
  |z| ≥ 3 unsatisfactory (the same for z′ and ζ); |En| ≤ 1 satisfactory, > 1 unsatisfactory.
- ISO 13528 Annex B.2/B.3 (homogeneity): g items measured in duplicate, sₓ² = variance of the item means,
  s_w² = Σ(difference²)/(2g), s_s² = max(0, sₓ² − s_w²/2); sufficiently homogeneous when s_s ≤ 0.3·σ_pt.
- ISO 13528 Annex B.5 (stability): |ȳ₁ − ȳ₂| ≤ 0.3·σ_pt.
"""

from __future__ import annotations

import math
import statistics as stats
from collections.abc import Sequence
from dataclasses import dataclass, field

MAD_FACTOR = 1.483  # makes median|x − median| an estimate of σ for normal data (ISO 13528 C.3.1)
WINSOR_FACTOR = 1.5  # δ = 1.5·s*
SD_FACTOR = 1.134  # corrects the SD of values winsorised at ±1.5 s* back to σ
CONSENSUS_UNCERTAINTY_FACTOR = 1.25  # u(x_pt) = 1.25·s*/√p (§7.7.3)
HOMOGENEITY_FACTOR = 0.3  # s_s ≤ 0.3·σ_pt (B.2.2) and |ȳ₁ − ȳ₂| ≤ 0.3·σ_pt (B.5.1)
MIN_ALGORITHM_A = 3  # fewer than three results have no robust spread
SMALL_ROUND = 12  # §5.4: below about 12 participants the consensus is weak; prefer a reference value or z′
MAX_ITERATIONS = 200
TOLERANCE = 1e-9

SATISFACTORY, QUESTIONABLE, UNSATISFACTORY = "satisfactory", "questionable", "unsatisfactory"
BAND_LABELS = {SATISFACTORY: "Satisfactory", QUESTIONABLE: "Questionable", UNSATISFACTORY: "Unsatisfactory"}


class StatisticsError(ValueError):
    """The data cannot give the figure asked for; the message says why in the lab's words."""


@dataclass(frozen=True)
class RobustEstimate:
    mean: float
    sd: float
    p: int
    iterations: int


@dataclass(frozen=True)
class AssignedValue:
    value: float
    standard_uncertainty: float
    source: str  # "reference" or "consensus"
    robust: RobustEstimate | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    statistic: float
    limit: float
    detail: str


def _finite(values: Sequence[float], what: str) -> list[float]:
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise StatisticsError(f"The {what} include a value that is not a finite number.")
    return numbers


def algorithm_a(values: Sequence[float], *, tolerance: float = TOLERANCE) -> RobustEstimate:
    """Robust mean x* and robust SD s* of ISO 13528 Annex C.3.1 (Algorithm A, Huber's estimator with an
    iterated scale). Refuses fewer than three results and data whose median absolute deviation is zero."""
    data = _finite(values, "results")
    p = len(data)
    if p < MIN_ALGORITHM_A:
        raise StatisticsError(
            f"Algorithm A needs at least {MIN_ALGORITHM_A} results; this round has {p}. "
            "Use a reference value as the assigned value instead."
        )
    mean = stats.median(data)
    sd = MAD_FACTOR * stats.median(abs(x - mean) for x in data)
    if sd == 0:
        raise StatisticsError(
            "More than half of the results are identical, so Algorithm A has no spread to start from. "
            "Use a reference value as the assigned value instead."
        )
    for iteration in range(1, MAX_ITERATIONS + 1):
        delta = WINSOR_FACTOR * sd
        winsorised = [min(max(x, mean - delta), mean + delta) for x in data]
        new_mean = math.fsum(winsorised) / p
        new_sd = SD_FACTOR * math.sqrt(math.fsum((x - new_mean) ** 2 for x in winsorised) / (p - 1))
        converged = abs(new_sd - sd) <= tolerance * sd and abs(new_mean - mean) <= tolerance * max(sd, abs(mean))
        mean, sd = new_mean, new_sd
        if converged:
            return RobustEstimate(mean=mean, sd=sd, p=p, iterations=iteration)
    return RobustEstimate(mean=mean, sd=sd, p=p, iterations=MAX_ITERATIONS)


def consensus_value(values: Sequence[float]) -> AssignedValue:
    """The assigned value as the robust mean of the participants' results (§7.7), u(x_pt) = 1.25·s*/√p."""
    robust = algorithm_a(values)
    notes = []
    if robust.p < SMALL_ROUND:
        notes.append(
            f"Only {robust.p} results: ISO 13528 §5.4 warns that a consensus of fewer than about {SMALL_ROUND} "
            "participants is unreliable; a reference value, or z′ that takes the uncertainty of the assigned value "
            "into account, is preferred."
        )
    u = CONSENSUS_UNCERTAINTY_FACTOR * robust.sd / math.sqrt(robust.p)
    return AssignedValue(
        value=robust.mean, standard_uncertainty=u, source="consensus", robust=robust, notes=tuple(notes)
    )


def reference_value(value: float, standard_uncertainty: float) -> AssignedValue:
    """The assigned value from a reference material or a reference laboratory (§7.4, §7.5)."""
    value, u = _finite([value, standard_uncertainty], "reference value and its uncertainty")
    if u < 0:
        raise StatisticsError("The reference value's uncertainty cannot be negative.")
    return AssignedValue(value=value, standard_uncertainty=u, source="reference")


def uncertainty_negligible(u_xpt: float, sigma_pt: float) -> bool:
    """§9.2.1: u(x_pt) < 0.3·σ_pt means z can be used; otherwise z′ (or ζ) should be."""
    return u_xpt < HOMOGENEITY_FACTOR * sigma_pt


def _positive(value: float, what: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise StatisticsError(f"{what} must be a number more than 0.")
    return value


def z_score(x: float, x_pt: float, sigma_pt: float) -> float:
    """z = (x − x_pt) / σ_pt (§9.4)."""
    return (x - x_pt) / _positive(sigma_pt, "The standard deviation for proficiency assessment (σ_pt)")


def z_prime_score(x: float, x_pt: float, sigma_pt: float, u_xpt: float) -> float:
    """z′ = (x − x_pt) / √(σ_pt² + u(x_pt)²) (§9.5)."""
    _positive(sigma_pt, "The standard deviation for proficiency assessment (σ_pt)")
    return (x - x_pt) / math.sqrt(sigma_pt**2 + u_xpt**2)


def zeta_score(x: float, x_pt: float, u_x: float, u_xpt: float) -> float:
    """ζ = (x − x_pt) / √(u(x)² + u(x_pt)²) (§9.6)."""
    return (x - x_pt) / _positive(math.sqrt(u_x**2 + u_xpt**2), "The combined uncertainty of ζ")


def en_score(x: float, x_pt: float, expanded_x: float, expanded_xpt: float) -> float:
    """En = (x − x_pt) / √(U(x)² + U(x_pt)²) with expanded uncertainties (§9.7)."""
    return (x - x_pt) / _positive(math.sqrt(expanded_x**2 + expanded_xpt**2), "The combined expanded uncertainty of En")


def band(score: float | None) -> str | None:
    """z, z′ and ζ: |s| ≤ 2 satisfactory, 2 < |s| < 3 questionable, |s| ≥ 3 unsatisfactory (§9.4.1)."""
    if score is None:
        return None
    size = abs(score)
    if size <= 2:
        return SATISFACTORY
    return QUESTIONABLE if size < 3 else UNSATISFACTORY


def en_band(score: float | None) -> str | None:
    """En: |En| ≤ 1 satisfactory, |En| > 1 unsatisfactory (§9.7.3)."""
    if score is None:
        return None
    return SATISFACTORY if abs(score) <= 1 else UNSATISFACTORY


@dataclass(frozen=True)
class Scores:
    z: float
    z_prime: float
    zeta: float | None
    en: float | None

    def bands(self) -> dict[str, str | None]:
        return {"z": band(self.z), "z_prime": band(self.z_prime), "zeta": band(self.zeta), "en": en_band(self.en)}


def scores(
    x: float,
    assigned: AssignedValue,
    sigma_pt: float,
    *,
    u_x: float | None = None,
    coverage_factor: float = 2.0,
    assigned_coverage_factor: float = 2.0,
) -> Scores:
    """Every score of one result. ζ and En need the participant's uncertainty; without it they are None."""
    x_pt, u_xpt = assigned.value, assigned.standard_uncertainty
    zeta = en = None
    if u_x is not None and (u_x > 0 or u_xpt > 0):
        zeta = zeta_score(x, x_pt, u_x, u_xpt)
        en = en_score(x, x_pt, coverage_factor * u_x, assigned_coverage_factor * u_xpt)
    return Scores(z=z_score(x, x_pt, sigma_pt), z_prime=z_prime_score(x, x_pt, sigma_pt, u_xpt), zeta=zeta, en=en)


def homogeneity_check(pairs: Sequence[Sequence[float]], sigma_pt: float) -> CheckResult:
    """Annex B.3: between-item SD s_s from g items measured in duplicate; passes when s_s ≤ 0.3·σ_pt."""
    _positive(sigma_pt, "The standard deviation for proficiency assessment (σ_pt)")
    rows = [_finite(pair, "homogeneity results") for pair in pairs]
    if len(rows) < 2 or any(len(row) != 2 for row in rows):
        raise StatisticsError("The homogeneity check needs at least 2 items, each measured exactly twice.")
    g = len(rows)
    means = [(a + b) / 2 for a, b in rows]
    s_x = stats.stdev(means)
    s_w = math.sqrt(math.fsum((a - b) ** 2 for a, b in rows) / (2 * g))
    s_s = math.sqrt(max(0.0, s_x**2 - s_w**2 / 2))
    limit = HOMOGENEITY_FACTOR * sigma_pt
    return CheckResult(
        passed=s_s <= limit,
        statistic=s_s,
        limit=limit,
        detail=f"{g} items in duplicate: sₓ = {s_x:.4g}, s_w = {s_w:.4g}, s_s = {s_s:.4g}",
    )


def stability_check(before: Sequence[float], after: Sequence[float], sigma_pt: float) -> CheckResult:
    """Annex B.5: the mean before and after storage or transport differ by no more than 0.3·σ_pt."""
    _positive(sigma_pt, "The standard deviation for proficiency assessment (σ_pt)")
    first, second = _finite(before, "results before"), _finite(after, "results after")
    if not first or not second:
        raise StatisticsError("The stability check needs at least one result before and one after.")
    difference = abs(stats.fmean(first) - stats.fmean(second))
    limit = HOMOGENEITY_FACTOR * sigma_pt
    return CheckResult(
        passed=difference <= limit,
        statistic=difference,
        limit=limit,
        detail=f"mean before {stats.fmean(first):.4g} ({len(first)}), after {stats.fmean(second):.4g} ({len(second)})",
    )
