"""Isolation runs over stored aliquots, the EV preparations they yield, and their characterization.

Figures are drawn per separation method from ranges typical of the EV literature: recovery of the input's
particles, final volume, modal size, and particles per µg protein (the purity ratio of Webber & Clayton
2013: above ~3×10¹⁰ high purity, below ~1.5×10⁹ unpure). Precipitation gives high yield and poor purity;
density gradients the reverse, so method comparisons in the metrics pages show the expected contrast.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from evlims.characterization.models import Measurement
from evlims.conf import evlims_settings
from evlims.core.audit import record_event
from evlims.core.barcodes import issue_barcodes
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples import services
from evlims.samples.models import Aliquot

from .people import LabPeople


@dataclass(frozen=True)
class MethodPlan:
    method: str
    protocol_name: str
    equipment: str
    input_ul: int
    final_ul: int
    recovery: tuple[float, float]
    particles_per_ug: tuple[float, float]  # log-uniform range of the purity ratio
    size_mode_nm: tuple[float, float]
    buffer: str


METHODS = {
    "sec": MethodPlan(
        "sec",
        "SEC qEVoriginal 70 nm v2",
        "qEVoriginal 70 nm column, lot Q70-24-118",
        500,
        1500,
        (0.35, 0.6),
        (4e9, 4e10),
        (95, 125),
        "PBS",
    ),
    "ultracentrifugation": MethodPlan(
        "ultracentrifugation",
        "Differential UC 100,000 × g 70 min v1",
        "Optima XPN-90, SW 41 Ti rotor",
        1000,
        100,
        (0.1, 0.3),
        (3e9, 3e10),
        (110, 140),
        "PBS",
    ),
    "density_gradient": MethodPlan(
        "density_gradient",
        "Iodixanol 5–40% gradient v1",
        "Optima XPN-100, SW 41 Ti rotor",
        1000,
        100,
        (0.05, 0.2),
        (2e10, 1e11),
        (100, 130),
        "PBS",
    ),
    "precipitation": MethodPlan(
        "precipitation",
        "PEG precipitation 8% v1",
        "PEG 6000, lot P-2025-03",
        500,
        200,
        (0.6, 0.9),
        (2e8, 1.5e9),
        (85, 115),
        "PBS",
    ),
    "ultrafiltration": MethodPlan(
        "ultrafiltration",
        "Urine UF 100 kDa + SEC v1",
        "Amicon Ultra-15 100 kDa, qEVoriginal 35 nm",
        2000,
        500,
        (0.3, 0.6),
        (1e9, 1.2e10),
        (100, 135),
        "PBS",
    ),
}

# Methods a lab uses for each biofluid (weights); urine needs concentrating, so it goes through UF.
METHODS_BY_BIOFLUID = {
    "blood_plasma": {"sec": 0.5, "ultracentrifugation": 0.2, "density_gradient": 0.1, "precipitation": 0.2},
    "serum": {"sec": 0.6, "precipitation": 0.4},
    "csf": {"sec": 0.6, "ultracentrifugation": 0.4},
    "urine": {"ultrafiltration": 0.7, "ultracentrifugation": 0.3},
    "cell_culture_medium": {"ultracentrifugation": 0.5, "sec": 0.3, "density_gradient": 0.2},
}

# EV particles per mL of starting material that a separation can recover (before losses).
SOURCE_PARTICLES_PER_ML = {
    "blood_plasma": (5e9, 5e10),
    "serum": (5e9, 4e10),
    "csf": (2e8, 2e9),
    "urine": (5e8, 5e9),
    "cell_culture_medium": (5e8, 1e10),
}

POSITIVE_MARKERS = ("CD63", "CD81", "CD9", "TSG101", "Syntenin-1")
# Calnexin: cellular contamination; ApoA1 and albumin: blood co-isolates that precipitation drags along.
NEGATIVE_MARKERS = ("Calnexin",)
BLOOD_CO_ISOLATES = ("APOA1", "ALB")

INSTRUMENTS = {
    "particle": [("nta", "NanoSight NS300"), ("nta", "ZetaView PMX-120")],
    "protein": [("bca", "Micro BCA, Tecan Spark")],
    "marker": [("western_blot", "Bio-Rad ChemiDoc MP")],
}

PREPARATIONS_PER_RUN = (4, 8)
MINIMUM_INPUT_UL = 250
# Enough runs that even a small demo shows every run status (completed, aborted, in progress, planned).
MINIMUM_RUNS_PER_LAB = 5


def _log_uniform(rng, low, high):
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def _run_code(number: int, started_at: dt.datetime) -> str:
    return f"IR-{started_at:%Y}-{number:04d}"


def _candidates(lab, biofluid, minimum_ul) -> list[Aliquot]:
    return list(
        Aliquot.objects.filter(
            lab=lab,
            sample__biofluid=biofluid,
            status=Aliquot.Status.AVAILABLE,
            volume_ul__gte=minimum_ul,
            preparations__isnull=True,
        ).order_by("id")
    )


def _particle_values(rng, plan: MethodPlan, biofluid: str, input_ul: float) -> dict:
    source = _log_uniform(rng, *SOURCE_PARTICLES_PER_ML[biofluid])
    recovered = source * input_ul / 1000 * rng.uniform(*plan.recovery)
    mode = rng.uniform(*plan.size_mode_nm)
    return {
        "particles_per_ml": _significant(recovered / (plan.final_ul / 1000)),
        "size_mode_nm": round(mode, 1),
        "size_mean_nm": round(mode * rng.uniform(1.08, 1.25), 1),
        "dilution_factor": rng.choice([50, 100, 200, 500]),
    }


def _measurements(rng, run, prep, plan: MethodPlan, biofluid: str, recorder) -> list[Measurement]:
    measured_at = run.completed_at + dt.timedelta(hours=rng.randint(2, 72))
    particle_method, particle_instrument = rng.choice(INSTRUMENTS["particle"])
    particles = _particle_values(rng, plan, biofluid, float(prep.input_volume_ul))
    purity = _log_uniform(rng, *plan.particles_per_ug)
    protein = {"protein_ug_per_ml": _significant(particles["particles_per_ml"] / purity)}
    base = {"lab_id": run.lab_id, "preparation": prep, "recorded_by": recorder}
    rows = [
        Measurement(
            kind=Measurement.Kind.PARTICLE,
            method=particle_method,
            instrument_name=particle_instrument,
            measured_at=measured_at,
            values=particles,
            **base,
        ),
        Measurement(
            kind=Measurement.Kind.PROTEIN,
            method="bca",
            instrument_name=INSTRUMENTS["protein"][0][1],
            measured_at=measured_at + dt.timedelta(minutes=40),
            values=protein,
            **base,
        ),
    ]
    # Western blots are run on a subset of preparations, as labs do.
    if rng.random() < 0.6:
        markers = {name: rng.random() > 0.05 for name in rng.sample(POSITIVE_MARKERS, 3)}
        markers |= {name: rng.random() < 0.08 for name in NEGATIVE_MARKERS}
        if biofluid in ("blood_plasma", "serum"):
            co_isolated = 0.9 if plan.method == "precipitation" else 0.3
            markers |= {name: rng.random() < co_isolated for name in BLOOD_CO_ISOLATES}
        for offset, (protein_name, detected) in enumerate(markers.items()):
            rows.append(
                Measurement(
                    kind=Measurement.Kind.MARKER,
                    method="western_blot",
                    instrument_name=INSTRUMENTS["marker"][0][1],
                    measured_at=measured_at + dt.timedelta(days=1, minutes=offset),
                    values={"protein": protein_name, "detected": detected},
                    **base,
                )
            )
    return rows


@transaction.atomic
def _record_run(rng, people: LabPeople, number: int, biofluid: str, status: str, started_at: dt.datetime):
    methods = METHODS_BY_BIOFLUID[biofluid]
    plan = METHODS[rng.choices(list(methods), weights=list(methods.values()))[0]]
    # Small tubes (CSF) still go in whole when they hold less than the protocol's nominal input.
    candidates = _candidates(people.lab, biofluid, min(plan.input_ul, MINIMUM_INPUT_UL))
    if not candidates:
        return None
    inputs = rng.sample(candidates, min(len(candidates), rng.randint(*PREPARATIONS_PER_RUN)))
    project = inputs[0].sample.project
    operator = rng.choice(people.writers)
    run = IsolationRun.objects.create(
        lab=people.lab,
        project=project,
        code=_run_code(number, started_at),
        protocol_name=plan.protocol_name,
        method=plan.method,
        status=status,
        operator=operator,
        equipment=plan.equipment,
        started_at=None if status == IsolationRun.Status.PLANNED else started_at,
        completed_at=started_at + dt.timedelta(hours=rng.randint(3, 9))
        if status == IsolationRun.Status.COMPLETED
        else None,
        abort_reason="Column clogged while loading; inputs kept for a repeat."
        if status == IsolationRun.Status.ABORTED
        else "",
    )
    # There is no isolation service yet to write the run's audit event, so the demo records it the way
    # a service will: in the same transaction, naming the operator.
    record_event(
        actor=operator,
        action="isolation_run.create",
        obj=run,
        changes={"protocol": plan.protocol_name, "status": status, "inputs": [a.barcode for a in inputs]},
        reason="Isolation run (demo data)",
    )
    if status in (IsolationRun.Status.PLANNED, IsolationRun.Status.ABORTED):
        return run
    barcodes = issue_barcodes(evlims_settings.PREPARATION_BARCODE_PREFIX, len(inputs))
    preparations = []
    for barcode, aliquot in zip(barcodes, inputs, strict=True):
        thawed = services.aliquot_thaw(actor=operator, aliquot=aliquot, note=f"Thawed for {run.code}")
        input_ul = min(Decimal(plan.input_ul), thawed.volume_ul)
        services.aliquot_consume(actor=operator, aliquot=thawed, volume_ul=input_ul, note=f"Input of {run.code}")
        preparations.append(
            EVPreparation(
                lab=people.lab,
                run=run,
                input_aliquot=aliquot,
                barcode=barcode,
                input_volume_ul=input_ul,
                final_volume_ul=Decimal(plan.final_ul) if status == IsolationRun.Status.COMPLETED else None,
                buffer=plan.buffer,
                storage="−80 °C, prep box P1" if status == IsolationRun.Status.COMPLETED else "",
            )
        )
    preparations = EVPreparation.objects.bulk_create(preparations)
    record_event(
        actor=operator,
        action="isolation_run.preparations",
        obj=run,
        changes={"preparations": [p.barcode for p in preparations]},
    )
    if status == IsolationRun.Status.COMPLETED:
        recorder = people.instrument
        rows = [row for prep in preparations for row in _measurements(rng, run, prep, plan, biofluid, recorder)]
        Measurement.objects.bulk_create(rows)
        record_event(
            actor=recorder,
            action="measurement.import",
            obj=run,
            changes={"measurements": len(rows)},
            reason="Instrument results (demo data)",
        )
    return run


def run_isolations(rng: random.Random, people: LabPeople, runs: int, first_number: int) -> list[IsolationRun]:
    """``runs`` runs for the lab: mostly completed, the newest in progress, one planned, one aborted."""
    biofluids = sorted({fluid for project in people.plan.projects for fluid in project.biofluids})
    runs = max(runs, MINIMUM_RUNS_PER_LAB)
    created = []
    for index in range(runs):
        if index == runs - 1:
            status = IsolationRun.Status.PLANNED
        elif index == runs - 2:
            status = IsolationRun.Status.IN_PROGRESS
        elif index == runs // 2 and runs >= 5:
            status = IsolationRun.Status.ABORTED
        else:
            status = IsolationRun.Status.COMPLETED
        started_at = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC) + dt.timedelta(days=index * 600 // max(runs, 1))
        # A biofluid whose tubes are all used up is skipped in favour of the next one.
        for biofluid in rng.sample(biofluids, len(biofluids)):
            run = _record_run(rng, people, first_number + len(created), biofluid, status, started_at)
            if run is not None:
                created.append(run)
                break
    return created
