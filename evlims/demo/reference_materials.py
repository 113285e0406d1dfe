"""A reference-material lot of each demo lab (recombinant GFP EVs, counted by fluorescent NTA), spiked into a few
completed runs of different separation methods, the tracer read back in their first preparation, and a dilution
series of one preparation: the preparation pages, the reference materials page, the method comparison and the
league table show recoveries with their uncertainty."""

import random
from datetime import timedelta

from django.utils import timezone

from ..isolation.models import IsolationRun
from ..standards import services

# Recovery of the spiked tracer by separation method, a range typical of rEV spike-in studies (demo figures).
RECOVERY = {"sec": (0.45, 0.7), "duc": (0.1, 0.3), "peg": (0.6, 0.9), "dg": (0.05, 0.2), "uf": (0.5, 0.8)}
DEFAULT_RECOVERY = (0.3, 0.6)
ASSIGNED = 1.0e10  # particles/mL of the lot
ASSIGNED_U = 8.0e8  # its standard uncertainty (8 %)
SPIKED_UL = 10.0
RUNS_SPIKED = 6
READOUT_RELATIVE_U = 0.06


def _not_after_now(moment):
    return min(moment, timezone.now())


def _runs(lab) -> list[IsolationRun]:
    """Completed runs with a preparation, different methods first, oldest first within the choice."""
    runs = list(
        IsolationRun.objects.filter(lab=lab, status=IsolationRun.Status.COMPLETED, preparations__isnull=False)
        .distinct()
        .order_by("started_at", "id")
    )
    chosen, methods = [], set()
    for run in runs:
        if run.method not in methods:
            chosen.append(run)
            methods.add(run.method)
    chosen += [run for run in runs if run not in chosen]
    return chosen[:RUNS_SPIKED]


def record_reference_materials(lab_people) -> None:
    rng = random.Random(lab_people.lab.pk)
    actor = lab_people.staff
    lot = services.reference_lot_create(
        actor=actor,
        lab=lab_people.lab,
        material="rEV (recombinant GFP EVs)",
        lot_number="REV-2026-01",
        supplier="In-house, HEK293T GFP-TSG101",
        readout="fluorescent_nta",
        assigned_value=ASSIGNED,
        assigned_uncertainty=ASSIGNED_U,
        unit="particles/mL",
        storage="−80 °C, single-use 10 µL vials",
        certificate="Value assigned by fluorescent NTA, 5 replicate vials",
        reason="Demo: the lab's spike-in reference material",
    )
    first = None
    for run in _runs(lab_people.lab):
        spiked_at = run.started_at
        spike = services.spike_record(
            actor=actor, lot=lot, run=run, amount=SPIKED_UL, amount_unit="µL", spiked_at=spiked_at
        )
        preparation = run.preparations.order_by("id").first()
        recovered = ASSIGNED * SPIKED_UL / 1000 * rng.uniform(*RECOVERY.get(run.method, DEFAULT_RECOVERY))
        services.tracer_readout_record(
            actor=actor,
            spike=spike,
            preparation=preparation,
            value=recovered,
            standard_uncertainty=recovered * READOUT_RELATIVE_U,
            replicates=3,
            unit="particles",
            measured_at=_not_after_now((run.completed_at or spiked_at) + timedelta(hours=2)),
        )
        first = first or (preparation, run)
    if first is not None:
        _dilution_series(actor, *first, rng)


def _dilution_series(actor, preparation, run, rng) -> None:
    """1:50 to 1:1600 of a 2 × 10¹⁰/mL preparation: saturated at 1:50, proportional from 1:100."""
    undiluted = 2.0e10
    points = []
    for factor in (50, 100, 200, 400, 800, 1600):
        expected = undiluted / factor * (0.75 if factor == 50 else 1.0)
        points.append({"dilution_factor": factor, "readings": [expected * rng.uniform(0.95, 1.05) for _ in range(3)]})
    services.dilution_series_record(
        actor=actor,
        preparation=preparation,
        technique="nta",
        points=points,
        measured_at=_not_after_now((run.completed_at or run.started_at) + timedelta(hours=3)),
        notes="Linearity check before counting the method comparison.",
    )
