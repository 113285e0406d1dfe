"""A small inter-laboratory comparison across the demo labs: the first lab coordinates a plasma EV count
scheme; every demo lab (the coordinator too) received an item of a pooled plasma; the first round is closed and
scored against a reference value (three labs are too few for a robust consensus, ISO 13528 §5.4), the second
awaits results."""

from ..interlab import services
from ..interlab.models import ComparisonRound

# Particles/mL each lab reported on round 1, with its standard uncertainty; the third lab reads high.
ROUND_1_RESULTS = ((5.1e9, 2.0e8), (4.7e9, 2.5e8), (6.4e9, 3.0e8))
HOMOGENEITY = [[5.02e9, 5.10e9], [4.95e9, 5.05e9], [5.08e9, 4.98e9], [5.00e9, 5.06e9]]


def run_comparison(labs) -> ComparisonRound | None:
    """``labs``: the demo's LabPeople, the first coordinating. Returns the scored round."""
    if len(labs) < 2:
        return None
    coordinator = labs[0]
    actor = coordinator.staff
    scheme = services.scheme_create(
        actor=actor,
        lab=coordinator.lab,
        code="EV-EQA",
        name="Plasma EV particle count",
        quantity="particles_per_ml",
        description="Pooled plasma aliquots counted by NTA in each lab.",
        reason="Demo: a ring trial between the demo labs",
    )
    scored = _round(scheme, labs, "2026-1", assigned_from=ComparisonRound.AssignedFrom.REFERENCE)
    services.round_checks_record(
        actor=actor,
        round=scored,
        homogeneity_pairs=HOMOGENEITY,
        stability_before=[5.04e9, 5.01e9],
        stability_after=[4.97e9, 5.00e9],
    )
    services.round_ship(actor=actor, round=scored, reason="Sent on dry ice")
    for lab_people, (value, u) in zip(labs, ROUND_1_RESULTS, strict=False):
        item = scored.items.get(participant__lab=lab_people.lab)
        services.result_report(actor=lab_people.staff, item=item, value=value, standard_uncertainty=u, method="NTA")
    scored = services.round_close(actor=actor, round=scored, reason="All results in")
    waiting = _round(scheme, labs, "2026-2", assigned_from=ComparisonRound.AssignedFrom.CONSENSUS)
    services.round_ship(actor=actor, round=waiting, reason="Sent on dry ice")
    return scored


def _round(scheme, labs, code, *, assigned_from):
    actor = labs[0].staff
    round_ = services.round_create(
        actor=actor,
        scheme=scheme,
        code=code,
        material="Pooled plasma lot P-7",
        assigned_from=assigned_from,
        reference_value=5.0e9,
        reference_uncertainty=1.0e8,
        sigma_pt=6.0e8,
        sigma_pt_basis="12 % of the reference value, the NTA between-lab SD of earlier rounds",
    )
    for lab_people in labs:
        participant = services.participant_enrol(actor=actor, round=round_, lab=lab_people.lab)
        services.item_add(actor=actor, participant=participant)
    return round_
