"""Isolation runs over stored aliquots, the EV preparations they yield, and their characterization,
all written through the isolation and characterization services (the same calls the run wizard and
the results API make), following the shipped protocol library.

Figures are drawn per protocol from ranges typical of the EV literature: recovery of the input's
particles, final volume, modal size, and particles per µg protein (the purity ratio of Webber & Clayton
2013: above ~3×10¹⁰ high purity, below ~1.5×10⁹ unpure). Precipitation gives high yield and poor purity,
density gradients the reverse, so method comparisons show the expected contrast.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from evlims.characterization.services import record_results
from evlims.isolation import services as isolation
from evlims.isolation.models import IsolationRun, ProtocolVersion
from evlims.samples import services as samples
from evlims.samples.models import Aliquot

from .people import LabPeople


@dataclass(frozen=True)
class ProtocolFigures:
    input_ul: int
    final_ul: int
    recovery: tuple[float, float]
    particles_per_ug: tuple[float, float]  # log-uniform range of the purity ratio
    size_mode_nm: tuple[float, float]
    equipment: str


FIGURES = {
    "sec-qev-70nm": ProtocolFigures(500, 1500, (0.35, 0.6), (4e9, 4e10), (95, 125), "qEVoriginal 70 nm, lot Q70-118"),
    "sec-sepharose-cl2b": ProtocolFigures(1000, 2000, (0.3, 0.5), (3e9, 3e10), (100, 130), "Sepharose CL-2B, 10 mL"),
    "sec-uf-concentration": ProtocolFigures(
        2000, 500, (0.3, 0.6), (1e9, 1.2e10), (100, 135), "Amicon Ultra-15 100 kDa, qEV 35 nm"
    ),
    "tff-sec": ProtocolFigures(5000, 500, (0.4, 0.7), (5e9, 4e10), (100, 130), "TFF cartridge 500 kDa, qEV 70 nm"),
    "duc-100k-pellet-wash": ProtocolFigures(1000, 100, (0.1, 0.3), (3e9, 3e10), (110, 140), "Optima XPN-90, SW 41 Ti"),
    "duc-iodixanol-dg-bottom-up": ProtocolFigures(
        1000, 100, (0.05, 0.2), (2e10, 1e11), (100, 130), "Optima XPN-100, SW 41 Ti"
    ),
    "peg-precipitation": ProtocolFigures(500, 200, (0.6, 0.9), (2e8, 1.5e9), (85, 115), "PEG 6000, lot P-2025-03"),
    "polymer-precipitation-kit": ProtocolFigures(500, 200, (0.6, 0.9), (2e8, 1.2e9), (85, 115), "Kit lot 24-0917"),
    "immunocapture-cd9-cd63-cd81": ProtocolFigures(
        1000, 100, (0.05, 0.15), (2e10, 8e10), (80, 110), "Tetraspanin beads, lot TB-2025-02"
    ),
}

# Protocols a lab uses for each biofluid (weights). Urine needs concentrating first; medium is plentiful.
PROTOCOLS_BY_BIOFLUID = {
    "blood_plasma": {
        "sec-qev-70nm": 0.45,
        "duc-100k-pellet-wash": 0.15,
        "duc-iodixanol-dg-bottom-up": 0.1,
        "peg-precipitation": 0.15,
        "polymer-precipitation-kit": 0.15,
    },
    "serum": {"sec-qev-70nm": 0.6, "polymer-precipitation-kit": 0.4},
    "csf": {"sec-qev-70nm": 0.6, "duc-100k-pellet-wash": 0.4},
    "urine": {"sec-uf-concentration": 0.7, "duc-100k-pellet-wash": 0.3},
    "cell_culture_medium": {
        "duc-100k-pellet-wash": 0.35,
        "tff-sec": 0.25,
        "sec-sepharose-cl2b": 0.2,
        "immunocapture-cd9-cd63-cd81": 0.2,
    },
}

# EV particles per mL of starting material that a separation can recover (before losses).
SOURCE_PARTICLES_PER_ML = {
    "blood_plasma": (5e9, 5e10),
    "serum": (5e9, 4e10),
    "csf": (2e8, 2e9),
    "urine": (5e8, 5e9),
    "cell_culture_medium": (5e8, 1e10),
}

# HGNC symbols with the antibodies labs commonly use for them.
POSITIVE_MARKERS = {
    "CD63": {"clone": "H5C6", "catalogue": "BD 556019", "dilution": "1:1000"},
    "CD81": {"clone": "JS-81", "catalogue": "BD 555675", "dilution": "1:1000"},
    "CD9": {"clone": "M-L13", "catalogue": "BD 555370", "dilution": "1:1000"},
    "TSG101": {"clone": "4A10", "catalogue": "Abcam ab83", "dilution": "1:500"},
    "SDCBP": {"clone": "EPR8102", "catalogue": "Abcam ab133267", "dilution": "1:1000"},
}
# Calnexin: cellular contamination; ApoA1 and albumin: blood co-isolates that precipitation drags along.
NEGATIVE_MARKERS = {"CANX": {"catalogue": "Abcam ab22595", "dilution": "1:1000"}}
BLOOD_CO_ISOLATES = {
    "APOA1": {"catalogue": "Abcam ab52945", "dilution": "1:2000"},
    "ALB": {"catalogue": "Abcam ab207327", "dilution": "1:2000"},
}

PREPARATIONS_PER_RUN = (4, 8)
MINIMUM_INPUT_UL = 250
# Enough runs that even a small demo shows every run status (completed, aborted, in progress, planned).
MINIMUM_RUNS_PER_LAB = 5
HISTOGRAM_BINS_NM = list(range(25, 605, 10))
# Finished runs (completed or aborted) are spread over the last months, oldest first, so trend charts and
# control charts have a point per run; the run in progress started this morning.
HISTORY_DAYS = 270
NEWEST_FINISHED_DAYS_AGO = 10
RUN_HOURS = (3, 9)  # from start to completion


def _log_uniform(rng, low, high):
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def library_versions() -> dict[str, ProtocolVersion]:
    """The newest approved version of every shipped protocol, loading the library first if it is not there yet.

    A corrected protocol keeps its earlier released version beside the new one, so the demo takes the
    highest version number (not whichever row the database happens to return last)."""
    isolation.library_load()
    versions = ProtocolVersion.objects.filter(
        from_library=True, status=ProtocolVersion.Status.APPROVED, protocol__lab__isnull=True
    ).select_related("protocol")
    newest: dict[str, ProtocolVersion] = {}
    for version in sorted(versions, key=lambda v: _version_key(v.version)):
        newest[version.protocol.slug] = version
    return newest


def _version_key(text: str) -> tuple:
    """'1.10.0' after '1.9.0': numeric parts compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in text.split("."))


def _candidates(lab, biofluid, minimum_ul) -> list[Aliquot]:
    return list(
        Aliquot.objects.filter(
            lab=lab,
            sample__biofluid=biofluid,
            status=Aliquot.Status.AVAILABLE,
            volume_ul__gte=minimum_ul,
            preparations__isnull=True,
        )
        .select_related("sample__project")
        .order_by("id")
    )


def _observed(rng, step: dict, deviate: bool) -> dict:
    """What the operator records for a step: the protocol's values, and now and then a spin run long."""
    observed = dict(step["params"])
    if deviate and isinstance(observed.get("duration_min"), int | float):
        observed["duration_min"] = observed["duration_min"] + rng.choice([3, 5, 10])
    return observed


def _histogram(rng, total: float, mode: float) -> dict:
    """A log-normal size distribution around the modal size, as NTA reports it (particles/mL per bin)."""
    sigma = rng.uniform(0.3, 0.45)
    median = mode * math.exp(sigma**2)
    density = [math.exp(-((math.log(size / median)) ** 2) / (2 * sigma**2)) / size for size in HISTOGRAM_BINS_NM]
    scale = total / sum(density)
    return (
        {
            "bin_center_nm": [float(size) for size in HISTOGRAM_BINS_NM],
            "concentration_per_ml": [_significant(value * scale) for value in density],
        },
        median,
        sigma,
    )


def _particle_result(rng, prep, figures: ProtocolFigures, biofluid: str) -> dict:
    source = _log_uniform(rng, *SOURCE_PARTICLES_PER_ML[biofluid])
    recovered = source * float(prep.input_volume_ul) / 1000 * rng.uniform(*figures.recovery)
    concentration = _significant(recovered / (figures.final_ul / 1000))
    mode = round(rng.uniform(*figures.size_mode_nm), 1)
    histogram, median, sigma = _histogram(rng, concentration, mode)
    technique = rng.choice(["nta", "zetaview"])
    return {
        "kind": "particle",
        "preparation": prep.barcode,
        "method": technique,
        "particle": {
            "technique": technique,
            "dilution_factor": rng.choice([50, 100, 200, 500]),
            "concentration_per_ml": concentration,
            "size_mode_nm": mode,
            "size_mean_nm": round(median * math.exp(sigma**2 / 2), 1),
            "size_sd_nm": round(median * math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2)), 1),
            "d10_nm": round(median * math.exp(-1.2816 * sigma), 1),
            "d50_nm": round(median, 1),
            "d90_nm": round(median * math.exp(1.2816 * sigma), 1),
            "histogram": histogram,
        },
    }


def _marker_results(rng, prep, protocol_slug: str, biofluid: str) -> list[dict]:
    chosen = dict(rng.sample(sorted(POSITIVE_MARKERS.items()), 3))
    detected = {name: rng.random() > 0.05 for name in chosen}
    antibodies = dict(chosen)
    antibodies |= NEGATIVE_MARKERS
    detected |= {name: rng.random() < 0.08 for name in NEGATIVE_MARKERS}
    if biofluid in ("blood_plasma", "serum"):
        co_isolated = 0.9 if "precipitation" in protocol_slug else 0.3
        antibodies |= BLOOD_CO_ISOLATES
        detected |= {name: rng.random() < co_isolated for name in BLOOD_CO_ISOLATES}
    return [
        {
            "kind": "marker",
            "preparation": prep.barcode,
            "method": "western_blot",
            "marker": {
                "protein": name,
                "detected": detected[name],
                "antibody": antibodies[name],
                "lysate": {"buffer": "RIPA", "protein_loaded_ug": 5, "compared_with_source": True},
            },
        }
        for name in sorted(detected)
    ]


def _results(rng, prep, protocol_slug: str, figures: ProtocolFigures, biofluid: str) -> list[dict]:
    particle = _particle_result(rng, prep, figures, biofluid)
    purity = _log_uniform(rng, *figures.particles_per_ug)
    protein = _significant(particle["particle"]["concentration_per_ml"] / purity)
    results = [
        particle,
        {
            "kind": "protein",
            "preparation": prep.barcode,
            "method": "micro_bca",
            "protein": {"assay": "micro_bca", "concentration_ug_per_ml": protein, "volume_assayed_ul": 25},
        },
    ]
    # Blots and electron microscopy are done on a subset of preparations, as labs do.
    if rng.random() < 0.6:
        results += _marker_results(rng, prep, protocol_slug, biofluid)
    if rng.random() < 0.3:
        results.append(
            {
                "kind": "imaging",
                "preparation": prep.barcode,
                "method": "tem",
                "imaging": {"technique": "tem", "wide_field": True, "close_up": True, "magnification": "30,000×"},
            }
        )
    return results


def run_start_time(index: int, finished: int, now) -> dt.datetime:
    """When run ``index`` of a lab started: finished runs (the first ``finished``) evenly from HISTORY_DAYS
    ago to NEWEST_FINISHED_DAYS_AGO, at a working hour; later runs this morning. Drawn from the index alone, so
    the random draws of the records stay those of the seed."""
    if index >= finished:
        return (now - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    step = (HISTORY_DAYS - NEWEST_FINISHED_DAYS_AGO) / max(1, finished - 1)
    day = now - dt.timedelta(days=round(HISTORY_DAYS - index * step))
    return day.replace(hour=8 + index % 3, minute=15 * (index % 4), second=0, microsecond=0)


def _after_inputs(started_at, run, now) -> dt.datetime:
    """A run cannot start before its tubes arrived: a day after the last was received, at the latest now."""
    received = max(preparation.input_aliquot.sample.received_at for preparation in run.preparations.all())
    return min(max(started_at, received + dt.timedelta(days=1)), now - dt.timedelta(hours=1))


def _dated(run, operator, started_at, completed_at=None):
    """The run's times as the lab kept them (through the same correction the run page offers)."""
    changes = {"started_at": started_at} | ({"completed_at": completed_at} if completed_at else {})
    return isolation.run_update(
        run=run,
        actor=operator,
        reason="Run times from the lab notebook (demo data)",
        expected_version=run.version,
        changes=changes,
    )


def _record_run(rng, people: LabPeople, versions, biofluid: str, status: str, started_at=None):
    weights = {slug: w for slug, w in PROTOCOLS_BY_BIOFLUID[biofluid].items() if slug in versions}
    if not weights:
        return None
    slug = rng.choices(list(weights), weights=list(weights.values()))[0]
    figures, version = FIGURES[slug], versions[slug]
    # Small tubes (CSF) go in whole when they hold less than the protocol's nominal input.
    candidates = _candidates(people.lab, biofluid, min(figures.input_ul, MINIMUM_INPUT_UL))
    if not candidates:
        return None
    project = rng.choice(candidates).sample.project
    candidates = [aliquot for aliquot in candidates if aliquot.sample.project_id == project.pk]
    chosen = rng.sample(candidates, min(len(candidates), rng.randint(*PREPARATIONS_PER_RUN)))
    operator = rng.choice(people.writers)
    inputs = []
    for aliquot in chosen:
        thawed = samples.aliquot_thaw(actor=operator, aliquot=aliquot, reason="Thawed for an isolation run")
        inputs.append((thawed, min(Decimal(figures.input_ul), thawed.volume_ul)))
    run = isolation.run_plan(
        actor=operator,
        project=project,
        protocol_version=version,
        inputs=inputs,
        equipment=figures.equipment,
        reason="Planned batch (demo data)",
    )
    if status == IsolationRun.Status.PLANNED:
        return run
    run = isolation.run_start(actor=operator, run=run)
    now = run.started_at
    started_at = _after_inputs(started_at or now, run, now)
    if status == IsolationRun.Status.ABORTED:
        run = isolation.run_abort(actor=operator, run=run, reason="Column clogged while loading; inputs lost.")
        return _dated(run, operator, started_at)
    steps = version.steps
    deviate = rng.random() < 0.2
    recorded = len(steps) if status == IsolationRun.Status.COMPLETED else rng.randrange(1, len(steps))
    for number, step in enumerate(steps[:recorded], start=1):
        isolation.run_record_step(
            actor=operator, run=run, number=number, observed=_observed(rng, step, deviate and number == 1)
        )
    if status != IsolationRun.Status.COMPLETED:
        return _dated(run, operator, started_at)
    preparations = list(run.preparations.order_by("id"))
    outputs = {
        prep.pk: {"final_volume_ul": figures.final_ul, "buffer": "PBS", "storage": "−80 °C, preparation box P1"}
        for prep in preparations
    }
    run = isolation.run_complete(actor=operator, run=run, outputs=outputs)
    completed_at = min(started_at + dt.timedelta(hours=rng.randint(*RUN_HOURS)), now - dt.timedelta(minutes=30))
    run = _dated(run, operator, started_at, completed_at)
    # Measured the day after the run, or later the same day when the run finished recently.
    measured_at = min(completed_at + dt.timedelta(days=1), now - dt.timedelta(minutes=5)).isoformat()
    documents = [
        result | {"measured_at": measured_at}
        for prep in preparations
        for result in _results(rng, prep, slug, figures, biofluid)
    ]
    record_results(
        actor=people.instrument, lab=people.lab, documents=documents, reason="Instrument results (demo data)"
    )
    return run


def run_isolations(rng: random.Random, people: LabPeople, runs: int, versions) -> list[IsolationRun]:
    """``runs`` runs for the lab: mostly completed, one aborted, one in progress, the newest planned.

    ``versions`` maps protocol slugs to their approved versions (see :func:`library_versions`).
    """
    biofluids = sorted({fluid for project in people.plan.projects for fluid in project.biofluids})
    runs = max(runs, MINIMUM_RUNS_PER_LAB)
    now = timezone.now()
    created = []
    for index in range(runs):
        if index == runs - 1:
            status = IsolationRun.Status.PLANNED
        elif index == runs - 2:
            status = IsolationRun.Status.IN_PROGRESS
        elif index == runs // 2:
            status = IsolationRun.Status.ABORTED
        else:
            status = IsolationRun.Status.COMPLETED
        # A biofluid whose tubes are all used up is skipped in favour of the next one.
        for biofluid in rng.sample(biofluids, len(biofluids)):
            started_at = run_start_time(index, runs - 2, now)
            run = _record_run(rng, people, versions, biofluid, status, started_at)
            if run is not None:
                created.append(run)
                break
    return created
