"""A round's statistics read from its rows: the assigned value, the robust SD, the checks of the material and
every participant's scores. Coordinators see lab names; ``summary_for_participant`` keeps only codes."""

from __future__ import annotations

from dataclasses import dataclass

from . import statistics as iso
from .models import ComparisonRound, RoundResult


@dataclass(frozen=True)
class ScoredResult:
    participant: str  # the pseudonym ("Lab 07")
    lab_id: int
    lab_name: str
    item: str
    value: float
    standard_uncertainty: float | None
    scores: iso.Scores | None

    def bands(self) -> dict:
        return self.scores.bands() if self.scores else {}


@dataclass(frozen=True)
class Assessment:
    round: ComparisonRound
    assigned: iso.AssignedValue | None
    robust: iso.RobustEstimate | None
    problem: str
    homogeneity: iso.CheckResult | None
    stability: iso.CheckResult | None
    results: list[ScoredResult]
    notes: tuple[str, ...]

    @property
    def z_usable(self) -> bool:
        """§9.2.1: z is fit when u(x_pt) < 0.3·σ_pt; otherwise read z′."""
        return self.assigned is not None and iso.uncertainty_negligible(
            self.assigned.standard_uncertainty, self.round.sigma_pt
        )


def round_results(round_: ComparisonRound) -> list[RoundResult]:
    return list(
        RoundResult.objects.filter(item__round=round_)
        .select_related("item__participant__lab")
        .order_by("item__participant__code", "item__code")
    )


def _robust(values) -> iso.RobustEstimate | None:
    try:
        return iso.algorithm_a(values)
    except iso.StatisticsError:
        return None


def assigned_value(round_: ComparisonRound, results=None) -> iso.AssignedValue:
    """The reference value, or the robust consensus of the results (refused below three results)."""
    if round_.assigned_from == ComparisonRound.AssignedFrom.REFERENCE:
        return iso.reference_value(round_.reference_value, round_.reference_uncertainty or 0.0)
    values = [r.value for r in (results if results is not None else round_results(round_))]
    return iso.consensus_value(values)


def _frozen(round_: ComparisonRound) -> iso.AssignedValue | None:
    if round_.status != ComparisonRound.Status.CLOSED or round_.assigned_value is None:
        return None
    return iso.AssignedValue(
        value=round_.assigned_value,
        standard_uncertainty=round_.assigned_uncertainty or 0.0,
        source=round_.assigned_from,
    )


def _check(function, *args) -> iso.CheckResult | None:
    try:
        return function(*args)
    except iso.StatisticsError:
        return None


def assess(round_: ComparisonRound) -> Assessment:
    results = round_results(round_)
    values = [r.value for r in results]
    robust = _robust(values) if len(values) >= iso.MIN_ALGORITHM_A else None
    problem, notes = "", ()
    assigned = _frozen(round_)
    if assigned is None:
        try:
            assigned = assigned_value(round_, results)
            notes = assigned.notes
        except iso.StatisticsError as error:
            problem = str(error)
    elif round_.assigned_from == ComparisonRound.AssignedFrom.CONSENSUS and len(values) < iso.SMALL_ROUND:
        notes = iso.consensus_value(values).notes if robust else ()
    scored = [
        ScoredResult(
            participant=r.item.participant.code,
            lab_id=r.item.participant.lab_id,
            lab_name=r.item.participant.lab.name,
            item=r.item.code,
            value=r.value,
            standard_uncertainty=r.standard_uncertainty,
            scores=iso.scores(
                r.value,
                assigned,
                round_.sigma_pt,
                u_x=r.standard_uncertainty,
                coverage_factor=r.coverage_factor,
                assigned_coverage_factor=round_.coverage_factor,
            )
            if assigned
            else None,
        )
        for r in results
    ]
    homogeneity = (
        _check(iso.homogeneity_check, round_.homogeneity_pairs, round_.sigma_pt) if round_.homogeneity_pairs else None
    )
    stability = (
        _check(iso.stability_check, round_.stability_before, round_.stability_after, round_.sigma_pt)
        if round_.stability_before and round_.stability_after
        else None
    )
    return Assessment(round_, assigned, robust, problem, homogeneity, stability, scored, tuple(notes))


def own_results(assessment: Assessment, lab_ids) -> list[ScoredResult]:
    return [r for r in assessment.results if r.lab_id in set(lab_ids)]


def pseudonymised(assessment: Assessment) -> list[dict]:
    """Every result by participant code only: no lab, no item code, no record id."""
    return [
        {
            "participant": r.participant,
            "value": r.value,
            "z": r.scores.z if r.scores else None,
            "z_band": r.bands().get("z"),
        }
        for r in sorted(assessment.results, key=lambda r: r.participant)
    ]
