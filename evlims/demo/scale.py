"""Lab-years of data in minutes: a bulk generator for performance work (``manage.py evlims_generate``).

The demo (``builder.py``) writes every record through the services, which is right for a thousand
samples and far too slow for a hundred thousand. This loader builds the same kinds of rows directly
with ``bulk_create`` in batches, on purpose bypassing the per-row services: no per-row audit events,
no field history (django-simple-history rows), no compliance or metric refresh. One summary audit
event per generated lab records the load. Everything else a page or a computation reads is there:

- a lab with one person of each role, projects, donors, a storage tree of 9 × 9 boxes;
- samples with a pre-analytical record per biofluid, collected over three years, and their aliquots
  (each with a "received" custody event; aliquots used by a run are consumed, with that event too);
- isolation runs following the shipped protocol library (completed with every step recorded, and a
  few aborted, in progress and planned), each with its EV preparations, one per input aliquot;
- characterization of the preparations of completed runs: a particle analysis with its size histogram,
  a protein quantification, then Western-blot markers, a TEM image record and replicate particle
  counts until the requested number of measurements is reached.

Figures follow the ranges of :mod:`evlims.demo.isolation` (recovery, modal size and purity per
protocol), so metrics and method comparisons on generated data look like a working lab's.

Histograms are coarser than the demo's: ``histogram_bins`` bins (default 12, 50 nm wide from 25 to
575 nm) instead of 58 bins of 10 nm, which keeps the size-bin table near one row per measurement at
lab-years scale while small-EV fractions and medians stay meaningful.

Deterministic for a seed: the same sizes and seed give the same values (primary keys and barcode
numbers depend on what the database already holds). Each call adds new labs named
``Generated Lab <n>``; nothing existing is touched.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from evlims.characterization.models import (
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ProteinQuantification,
    SizeBin,
)
from evlims.compliance.markers import marker_vocabulary
from evlims.conf import evlims_settings
from evlims.core.audit import record_event
from evlims.core.barcodes import issue_barcodes
from evlims.core.models import Lab, Membership, Project, Role
from evlims.instruments.models import Instrument
from evlims.isolation import services as isolation_services
from evlims.isolation.models import EVPreparation, IsolationRun, ProtocolVersion, RunStep
from evlims.samples.models import Aliquot, Anticoagulant, CustodyEvent, Donor, Sample, StorageUnit

from .isolation import FIGURES, PROTOCOLS_BY_BIOFLUID, SOURCE_PARTICLES_PER_ML

DEFAULT_SEED = 2027
DEFAULT_PREPARATIONS = 100_000
DEFAULT_SAMPLES = 100_000
DEFAULT_MEASUREMENTS = 1_000_000
DEFAULT_RUNS = 10_000
DEFAULT_HISTOGRAM_BINS = 12
BATCH = 2000
CHUNK = 5000  # rows built in memory at a time

LAB_NAME = "Generated Lab"
LAB_SLUG = "generated-lab"
COLLECTION_START = dt.datetime(2023, 1, 2, 8, 0, tzinfo=dt.UTC)
COLLECTION_DAYS = 3 * 365
BOX_ROWS = BOX_COLUMNS = 9
BOXES_PER_RACK = 24
RACKS_PER_FREEZER = 10

# (code, title, share of samples, {biofluid: weight})
PROJECTS = (
    ("PLASMA-CRC", "Plasma EV biomarkers in colorectal cancer", 0.30, {"blood_plasma": 0.8, "serum": 0.2}),
    ("PLASMA-CVD", "Circulating EVs in cardiovascular disease", 0.15, {"blood_plasma": 0.6, "serum": 0.4}),
    ("CSF-AD", "CSF extracellular vesicles in Alzheimer's disease", 0.10, {"csf": 1.0}),
    ("URINE-CKD", "Urinary EVs in chronic kidney disease", 0.20, {"urine": 1.0}),
    ("SECRETOME", "EV secretome of cancer cell lines", 0.15, {"cell_culture_medium": 1.0}),
    ("SERUM-PANEL", "Serum EV reference panel", 0.10, {"serum": 1.0}),
)
ALIQUOT_UL = {"blood_plasma": 500, "serum": 500, "csf": 400, "urine": 4000, "cell_culture_medium": 10000}
SAMPLE_ML = {"blood_plasma": (3, 9), "serum": (2, 6), "csf": (1, 3), "urine": (20, 50), "cell_culture_medium": (30, 90)}
CELL_LINES = [
    ("MDA-MB-231", "CVCL_0062", "DMEM"),
    ("MCF-7", "CVCL_0031", "DMEM"),
    ("HEK293T", "CVCL_0063", "DMEM"),
    ("THP-1", "CVCL_0006", "RPMI 1640"),
]
# Western blots in the order a lab adds them: tetraspanins, cytosolic, negative and co-isolate controls.
MARKERS = ("CD63", "CD81", "CD9", "TSG101", "CANX", "APOA1", "SDCBP", "ALB")
NEGATIVE = {"CANX": 0.08, "APOA1": 0.4, "ALB": 0.4}
EXTRAS = (*MARKERS, "imaging")
STATUS_SHARES = {  # the newest runs are still open
    IsolationRun.Status.PLANNED: 0.01,
    IsolationRun.Status.IN_PROGRESS: 0.01,
    IsolationRun.Status.ABORTED: 0.02,
}


@dataclass(frozen=True)
class ScaleSize:
    preparations: int = DEFAULT_PREPARATIONS
    samples: int = DEFAULT_SAMPLES
    measurements: int = DEFAULT_MEASUREMENTS
    runs: int = DEFAULT_RUNS
    labs: int = 1
    seed: int = DEFAULT_SEED
    histogram_bins: int = DEFAULT_HISTOGRAM_BINS

    def __post_init__(self):
        if min(self.preparations, self.samples, self.runs, self.labs, self.histogram_bins) < 1:
            raise ValueError("preparations, samples, runs, labs and histogram bins must be at least 1.")
        if self.measurements < 0:
            raise ValueError("measurements cannot be negative.")
        if self.runs > self.preparations:
            raise ValueError("every run needs at least one preparation: runs cannot exceed preparations.")

    @classmethod
    def from_preparations(cls, preparations: int, **overrides) -> "ScaleSize":
        """Sizes in the default proportions (1 sample and 10 measurements per preparation, 10 per run)."""
        values = {
            "preparations": preparations,
            "samples": preparations,
            "measurements": preparations * 10,
            "runs": max(1, preparations // 10),
        }
        return cls(**(values | {key: value for key, value in overrides.items() if value is not None}))


@dataclass
class LabSummary:
    lab: Lab
    users: dict
    counts: dict = field(default_factory=dict)


def split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def split_weighted(total: int, weights: list[float]) -> list[int]:
    """Whole counts proportional to ``weights`` adding up to ``total`` (largest remainders first)."""
    exact = [total * weight / sum(weights) for weight in weights]
    counts = [int(value) for value in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in order[: total - sum(counts)]:
        counts[index] += 1
    return counts


def _log_uniform(rng, low, high):
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def _bulk(model, rows):
    return model.objects.bulk_create(rows, batch_size=BATCH)


def generate(size: ScaleSize, progress=None) -> list[LabSummary]:
    """Add ``size.labs`` generated labs sharing the requested counts; returns what each received."""
    say = progress or (lambda message: None)
    versions = _library_versions()
    rng = random.Random(size.seed)
    summaries = []
    for index, (preparations, samples, measurements, runs) in enumerate(
        zip(
            split(size.preparations, size.labs),
            split(size.samples, size.labs),
            split(size.measurements, size.labs),
            split(size.runs, size.labs),
            strict=True,
        )
    ):
        lab_size = ScaleSize(
            preparations=max(preparations, 1),
            samples=max(samples, 1),
            measurements=measurements,
            runs=max(1, min(runs, preparations)),
            seed=size.seed + index,
            histogram_bins=size.histogram_bins,
        )
        summaries.append(_generate_lab(random.Random(rng.random()), lab_size, versions, say))
    return summaries


def _library_versions() -> dict[str, ProtocolVersion]:
    isolation_services.library_load()
    versions = ProtocolVersion.objects.filter(
        from_library=True, status=ProtocolVersion.Status.APPROVED, protocol__lab__isnull=True
    ).select_related("protocol")
    return {version.protocol.slug: version for version in versions if version.protocol.slug in FIGURES}


def _next_lab_number() -> int:
    taken = Lab.objects.filter(slug__startswith=f"{LAB_SLUG}-").values_list("slug", flat=True)
    numbers = [int(slug.rsplit("-", 1)[1]) for slug in taken if slug.rsplit("-", 1)[1].isdigit()]
    return max(numbers, default=0) + 1


@transaction.atomic
def _generate_lab(rng: random.Random, size: ScaleSize, versions, say) -> LabSummary:
    number = _next_lab_number()
    lab = Lab.objects.create(name=f"{LAB_NAME} {number}", slug=f"{LAB_SLUG}-{number}")
    users = _people(lab)
    summary = LabSummary(lab=lab, users=users)
    projects = _projects(lab)
    say(f"{lab.name}: {size.samples:,} samples")
    samples = _samples(rng, lab, projects, size)
    summary.counts["donors"] = Donor.objects.filter(lab=lab).count()
    summary.counts["samples"] = len(samples)
    per_sample = max(2, math.ceil(size.preparations / size.samples) + 1)
    aliquots = _aliquot_plan(lab, samples, per_sample)
    summary.counts["aliquots"] = len(aliquots)
    say(f"{lab.name}: {size.runs:,} runs, {size.preparations:,} preparations")
    runs, preparations = _runs(rng, lab, users, aliquots, size, versions)
    summary.counts["runs"] = len(runs)
    summary.counts["preparations"] = len(preparations)
    summary.counts["run_steps"] = RunStep.objects.filter(run__lab=lab).count()
    summary.counts["custody_events"] = _custody(lab, users, aliquots)
    say(f"{lab.name}: {size.measurements:,} measurements")
    summary.counts |= _measurements(rng, lab, users, runs, preparations, size)
    record_event(
        actor=users["admin"],
        action="scale.generate",
        obj=lab,
        lab=lab,
        reason="Bulk load of generated lab-years data (evlims_generate); rows written without per-row events.",
        changes={"seed": size.seed, "histogram_bins": size.histogram_bins, **summary.counts},
    )
    return summary


def _people(lab) -> dict:
    users = {}
    for key, role in (
        ("staff", Role.LAB_STAFF),
        ("qa", Role.QA_MANAGER),
        ("admin", Role.LAB_ADMIN),
        ("instrument", Role.INSTRUMENT),
    ):
        user = get_user_model()(username=f"{lab.slug}.{key}")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, lab=lab, role=role)
        users[key] = user
    return users


def _projects(lab) -> list[tuple[Project, float, dict]]:
    rows = _bulk(Project, [Project(lab=lab, code=code, title=title) for code, title, _, _ in PROJECTS])
    return [(project, share, fluids) for project, (_, _, share, fluids) in zip(rows, PROJECTS, strict=True)]


@dataclass(slots=True)
class SampleRow:
    pk: int
    project_id: int
    biofluid: str
    volume_ml: Decimal
    collected_at: dt.datetime


def _sample_fields(rng, biofluid: str) -> dict:
    fields = {}
    if biofluid in ("blood_plasma", "serum"):
        anticoagulant = (
            Anticoagulant.CLOT_ACTIVATOR
            if biofluid == "serum"
            else rng.choices([Anticoagulant.K2_EDTA, Anticoagulant.CITRATE, Anticoagulant.ACD_A], [0.7, 0.2, 0.1])[0]
        )
        late = rng.random() < 0.08
        fields |= {
            "anticoagulant": anticoagulant,
            "tube_type": f"Vacutainer {anticoagulant}",
            "needle_gauge": rng.choice([21, 21, 23]),
            "processing_delay_min": rng.randint(150, 360) if late else rng.randint(15, 55),
            "processing_temperature_c": Decimal("20.0"),
            "prep_spin_g": 2500,
            "prep_spin_min": 15,
            "prep_spin_count": 1 if rng.random() < 0.05 else 2,
            "hemolysis_a414": Decimal(f"{rng.uniform(0.05, 0.45 if biofluid == 'serum' else 0.25):.3f}"),
            "fasting": rng.random() < 0.6,
            "storage_temperature_c": Decimal("-80.0"),
        }
    elif biofluid == "urine":
        fields |= {
            "urine_collection": rng.choice(["first_morning", "second_morning", "spot"]),
            "pre_cleared": True,
            "pre_clearing_g": 2000,
            "storage_temperature_c": Decimal("-20.0") if rng.random() < 0.05 else Decimal("-80.0"),
        }
    elif biofluid == "csf":
        fields |= {"processing_delay_min": rng.randint(20, 90), "storage_temperature_c": Decimal("-80.0")}
    elif biofluid == "cell_culture_medium":
        line, accession, medium = rng.choice(CELL_LINES)
        fields |= {
            "cell_line": line,
            "cell_line_cellosaurus": accession,
            "passage": rng.randint(5, 30),
            "culture_medium": medium,
            "serum_supplement": "10% FBS",
            "serum_ev_depleted": True,
            "serum_ev_depletion_method": "Ultracentrifugation 100,000 × g, 18 h",
            "conditioning_time_h": Decimal("48.0"),
            "cell_count_at_harvest": rng.randint(5, 40) * 10**6,
            "viability_pct_at_harvest": Decimal(f"{rng.uniform(88, 99):.1f}"),
        }
    return fields


def _samples(rng, lab, projects, size: ScaleSize) -> list[SampleRow]:
    counts = split_weighted(size.samples, [share for _, share, _ in projects])
    plan = []  # (project, biofluid) per sample, interleaved over time
    for (project, _, fluids), count in zip(projects, counts, strict=True):
        fluid_counts = split_weighted(count, list(fluids.values()))
        for fluid, fluid_count in zip(fluids, fluid_counts, strict=True):
            plan += [(project, fluid)] * fluid_count
    rng.shuffle(plan)
    donors_by_project = {}
    donor_rows = []
    for project, _, fluids in projects:
        if set(fluids) == {"cell_culture_medium"}:
            continue
        people = max(1, sum(1 for p, _ in plan if p.pk == project.pk) // 4)
        donor_rows += [
            Donor(
                lab=lab,
                project=project,
                code=f"{project.code}-D{n:06d}",
                sex=rng.choice(["female", "male"]),
                age_band=rng.choice(Donor.AGE_BANDS[1:]),
                consent_status="given",
            )
            for n in range(1, people + 1)
        ]
    for start in range(0, len(donor_rows), CHUNK):
        for donor in _bulk(Donor, donor_rows[start : start + CHUNK]):
            donors_by_project.setdefault(donor.project_id, []).append(donor.pk)
    barcodes = issue_barcodes(evlims_settings.SAMPLE_BARCODE_PREFIX, size.samples)
    step = COLLECTION_DAYS * 86400 / size.samples
    rows: list[SampleRow] = []
    for start in range(0, size.samples, CHUNK):
        batch = []
        for index in range(start, min(size.samples, start + CHUNK)):
            project, fluid = plan[index]
            collected = COLLECTION_START + dt.timedelta(seconds=int(index * step + rng.uniform(0, step)))
            donors = donors_by_project.get(project.pk)
            low, high = SAMPLE_ML[fluid]
            batch.append(
                Sample(
                    lab=lab,
                    project=project,
                    donor_id=rng.choice(donors) if donors else None,
                    barcode=barcodes[index],
                    external_id=f"SITE-{index + 1:07d}",
                    biofluid=fluid,
                    volume_ml=Decimal(f"{rng.uniform(low, high):.1f}"),
                    collected_at=collected,
                    received_at=collected + dt.timedelta(hours=rng.randint(1, 6)),
                    **_sample_fields(rng, fluid),
                )
            )
        rows += [SampleRow(s.pk, s.project_id, s.biofluid, s.volume_ml, s.collected_at) for s in _bulk(Sample, batch)]
    return rows


@dataclass(slots=True)
class AliquotRow:
    """A tube as planned: runs are planned before tubes are written, so each row is inserted once, final."""

    sample: SampleRow
    initial_ul: Decimal
    box: StorageUnit
    row: int
    column: int
    used_ul: Decimal = Decimal(0)
    used_by: IsolationRun | None = None
    pk: int | None = None

    @property
    def location(self) -> str:
        return f"{self.box.path} {chr(64 + self.row)}{self.column}"

    @property
    def emptied(self) -> bool:
        return self.used_ul == self.initial_ul


class Boxes:
    """Storage created on demand: a site, freezers of RACKS_PER_FREEZER racks of BOXES_PER_RACK boxes."""

    def __init__(self, lab, total_tubes: int):
        capacity = BOX_ROWS * BOX_COLUMNS
        boxes = max(1, math.ceil(total_tubes / capacity))
        racks = math.ceil(boxes / BOXES_PER_RACK)
        freezers = math.ceil(racks / RACKS_PER_FREEZER)
        site = StorageUnit.objects.create(lab=lab, kind="site", name=f"{lab.name} site", path=f"{lab.name} site")
        freezer_rows = _bulk(
            StorageUnit,
            [
                StorageUnit(
                    lab=lab,
                    parent=site,
                    kind="freezer",
                    name=f"Freezer {n:03d}",
                    temperature_c=Decimal("-80.0"),
                    path=f"{site.path} / Freezer {n:03d}",
                )
                for n in range(1, freezers + 1)
            ],
        )
        rack_rows = _bulk(
            StorageUnit,
            [
                StorageUnit(
                    lab=lab,
                    parent=freezer_rows[n // RACKS_PER_FREEZER],
                    kind="rack",
                    name=f"Rack {n % RACKS_PER_FREEZER + 1:02d}",
                    path=f"{freezer_rows[n // RACKS_PER_FREEZER].path} / Rack {n % RACKS_PER_FREEZER + 1:02d}",
                )
                for n in range(racks)
            ],
        )
        self.boxes = _bulk(
            StorageUnit,
            [
                StorageUnit(
                    lab=lab,
                    parent=rack_rows[n // BOXES_PER_RACK],
                    kind="box",
                    name=f"Box {n % BOXES_PER_RACK + 1:02d}",
                    rows=BOX_ROWS,
                    columns=BOX_COLUMNS,
                    path=f"{rack_rows[n // BOXES_PER_RACK].path} / Box {n % BOXES_PER_RACK + 1:02d}",
                )
                for n in range(boxes)
            ],
        )

    def position(self, index: int) -> tuple[StorageUnit, int, int]:
        box, slot = divmod(index, BOX_ROWS * BOX_COLUMNS)
        return self.boxes[box], slot // BOX_COLUMNS + 1, slot % BOX_COLUMNS + 1


def _aliquot_plan(lab, samples: list[SampleRow], per_sample: int) -> list[AliquotRow]:
    boxes = Boxes(lab, len(samples) * per_sample)
    rows: list[AliquotRow] = []
    for sample in samples:
        nominal = Decimal(ALIQUOT_UL[sample.biofluid])
        each = min(nominal, (sample.volume_ml * 1000 / per_sample).quantize(Decimal("0.1")))
        for _ in range(per_sample):
            rows.append(AliquotRow(sample, each, *boxes.position(len(rows))))
    return rows


def _write_aliquots(lab, aliquots: list[AliquotRow]) -> None:
    """Insert the tubes in their final state: what a started run used is gone, emptied tubes left their box."""
    barcodes = issue_barcodes(evlims_settings.ALIQUOT_BARCODE_PREFIX, len(aliquots))
    for start in range(0, len(aliquots), CHUNK):
        chunk = aliquots[start : start + CHUNK]
        batch = [
            Aliquot(
                lab_id=lab.pk,
                sample_id=a.sample.pk,
                barcode=barcodes[start + offset],
                initial_volume_ul=a.initial_ul,
                volume_ul=a.initial_ul - a.used_ul,
                status=Aliquot.Status.CONSUMED if a.emptied else Aliquot.Status.AVAILABLE,
                freeze_thaw_count=1 if a.used_by else 0,
                box=None if a.emptied else a.box,
                position_row=None if a.emptied else a.row,
                position_column=None if a.emptied else a.column,
            )
            for offset, a in enumerate(chunk)
        ]
        for row, stored in zip(chunk, _bulk(Aliquot, batch), strict=True):
            row.pk = stored.pk


def _capped(wanted: list[int], capacities: list[int]) -> list[int]:
    """Counts moved from pools that cannot hold them to pools with room left (and runs), keeping the total."""
    counts = [min(count, capacity) for count, capacity in zip(wanted, capacities, strict=True)]
    missing = sum(wanted) - sum(counts)
    for index, capacity in enumerate(capacities):
        if missing <= 0:
            break
        if wanted[index]:
            moved = min(missing, capacity - counts[index])
            counts[index] += moved
            missing -= moved
    return counts


def _statuses(count: int) -> list[str]:
    """Run statuses in plan order: completed, then a few aborted, in progress and planned at the end
    (from five runs on, at least one of each)."""
    tail = []
    for status, share in STATUS_SHARES.items():
        tail += [status] * (max(1, round(count * share)) if count >= 5 else 0)
    return [IsolationRun.Status.COMPLETED] * (count - len(tail)) + tail[::-1]


def _runs(rng, lab, users, aliquots: list[AliquotRow], size: ScaleSize, versions):
    """Runs spread over the projects by their samples; each takes unused aliquots of one biofluid in
    collection order (first aliquots of each sample before second ones). Writes the tubes, the runs,
    their steps and preparations."""
    pools: dict[tuple[int, str], list[AliquotRow]] = {}
    by_round: dict[tuple[int, str], list[list[AliquotRow]]] = {}
    per_sample: dict[int, int] = {}
    for aliquot in aliquots:
        key = (aliquot.sample.project_id, aliquot.sample.biofluid)
        round_number = per_sample.get(aliquot.sample.pk, 0)
        per_sample[aliquot.sample.pk] = round_number + 1
        rounds = by_round.setdefault(key, [])
        while len(rounds) <= round_number:
            rounds.append([])
        rounds[round_number].append(aliquot)
    for key, rounds in by_round.items():
        pools[key] = [aliquot for batch in rounds for aliquot in batch]
    keys = sorted(key for key in pools if any(slug in versions for slug in PROTOCOLS_BY_BIOFLUID.get(key[1], {})))
    run_counts = split_weighted(size.runs, [len(by_round[key][0]) for key in keys])
    prep_counts = _capped(split_weighted(size.preparations, run_counts), [len(pools[key]) for key in keys])
    plans = []  # (key, preparations of the run)
    for key, runs, preps in zip(keys, run_counts, prep_counts, strict=True):
        runs = min(runs, preps)
        plans += [(key, count) for count in split(preps, runs)] if runs else []
    rng.shuffle(plans)
    statuses = _statuses(len(plans))
    run_codes = issue_barcodes("RUN", len(plans))
    prep_barcodes = iter(issue_barcodes(evlims_settings.PREPARATION_BARCODE_PREFIX, sum(c for _, c in plans)))
    cursor = dict.fromkeys(keys, 0)
    operators = [users["staff"], users["admin"]]
    run_rows, run_plans = [], []
    for (key, count), status, code in zip(plans, statuses, run_codes, strict=True):
        fluid = key[1]
        weights = {slug: w for slug, w in PROTOCOLS_BY_BIOFLUID[fluid].items() if slug in versions}
        slug = rng.choices(list(weights), weights=list(weights.values()))[0]
        version, figures = versions[slug], FIGURES[slug]
        inputs = pools[key][cursor[key] : cursor[key] + count]
        cursor[key] += count
        latest = max(aliquot.sample.collected_at for aliquot in inputs)
        started = None if status == IsolationRun.Status.PLANNED else latest + dt.timedelta(days=rng.randint(2, 30))
        completed = started + dt.timedelta(hours=rng.randint(3, 30)) if status == "completed" else None
        run_rows.append(
            IsolationRun(
                lab=lab,
                project_id=key[0],
                code=code,
                protocol_version=version,
                protocol_name=f"{version.protocol.title} v{version.version}",
                method=(version.methods or [""])[0],
                status=status,
                operator=rng.choice(operators),
                equipment=figures.equipment,
                started_at=started,
                completed_at=completed,
                abort_reason="Column clogged while loading; inputs lost." if status == "aborted" else "",
            )
        )
        run_plans.append((slug, inputs))
        for aliquot in inputs:
            volume = min(Decimal(figures.input_ul), aliquot.initial_ul)
            if started is not None:
                aliquot.used_ul, aliquot.used_by = volume, run_rows[-1]
    _write_aliquots(lab, aliquots)
    runs = []
    for start in range(0, len(run_rows), CHUNK):
        runs += _bulk(IsolationRun, run_rows[start : start + CHUNK])
    _steps(rng, runs)
    preparations = []
    batch = []
    for run, (slug, inputs) in zip(runs, run_plans, strict=True):
        figures = FIGURES[slug]
        for aliquot in inputs:
            prep = EVPreparation(
                lab=lab,
                run=run,
                input_aliquot_id=aliquot.pk,
                barcode=next(prep_barcodes),
                input_volume_ul=min(Decimal(figures.input_ul), aliquot.initial_ul),
                final_volume_ul=Decimal(figures.final_ul) if run.status == "completed" else None,
                buffer="PBS" if run.status == "completed" else "",
                storage="−80 °C, preparation boxes" if run.status == "completed" else "",
            )
            prep.protocol_slug = slug
            prep.biofluid = aliquot.sample.biofluid
            batch.append(prep)
        if len(batch) >= CHUNK:
            preparations += _bulk(EVPreparation, batch)
            batch = []
    preparations += _bulk(EVPreparation, batch)
    return runs, preparations


def _steps(rng, runs):
    batch = []
    for run in runs:
        if run.status == IsolationRun.Status.PLANNED:
            continue
        steps = run.protocol_version.steps
        recorded = len(steps) if run.status == "completed" else max(1, len(steps) // 2)
        for number, step in enumerate(steps[:recorded], start=1):
            observed = dict(step.get("params") or {})
            batch.append(
                RunStep(run=run, number=number, method=step["method"], observed=observed, recorded_by=run.operator)
            )
        if len(batch) >= CHUNK:
            _bulk(RunStep, batch)
            batch = []
    _bulk(RunStep, batch)


def _custody(lab, users, aliquots: list[AliquotRow]) -> int:
    """A "received" event per tube, and a "consumed" one for the input of every started run."""
    staff = users["staff"]
    total = 0
    for start in range(0, len(aliquots), CHUNK):
        events = []
        for a in aliquots[start : start + CHUNK]:
            events.append(
                CustodyEvent(
                    lab_id=lab.pk,
                    aliquot_id=a.pk,
                    kind=CustodyEvent.Kind.RECEIVED,
                    occurred_at=a.sample.collected_at + dt.timedelta(hours=8),
                    actor_id=staff.pk,
                    to_location=a.location,
                    volume_change_ul=a.initial_ul,
                )
            )
            if a.used_by is not None:
                events.append(
                    CustodyEvent(
                        lab=lab,
                        aliquot_id=a.pk,
                        kind=CustodyEvent.Kind.CONSUMED,
                        occurred_at=a.used_by.started_at,
                        actor=a.used_by.operator,
                        from_location=a.location,
                        volume_change_ul=-a.used_ul,
                        note=f"Input of isolation run {a.used_by.code}",
                    )
                )
        total += len(_bulk(CustodyEvent, events))
    return total


def _per_preparation(rng, total: int, count: int) -> list[int]:
    """Measurements per preparation: ``total`` spread over ``count``, varying by up to a third around the
    mean (moved pairwise, so the sum stays exact)."""
    if not count:
        return []
    base, extra = divmod(total, count)
    counts = [base] * count
    for index in rng.sample(range(count), extra):
        counts[index] += 1
    spread = base // 3
    for index in range(0, count - 1, 2):
        shift = rng.randint(-spread, spread)
        shift = max(-counts[index], min(shift, counts[index + 1]))
        counts[index] += shift
        counts[index + 1] -= shift
    return counts


def _bins(bins: int) -> list[float]:
    width = 550 / bins
    return [round(25 + width * (i + 0.5), 1) for i in range(bins)]


def _measurements(rng, lab, users, runs, preparations, size: ScaleSize) -> dict:
    completed = {run.pk: run for run in runs if run.status == IsolationRun.Status.COMPLETED}
    measured = [prep for prep in preparations if prep.run_id in completed]
    plan = _per_preparation(rng, size.measurements, len(measured))
    nta = Instrument.objects.create(lab=lab, name="NanoSight NS300", kind="nta", model_name="NS300")
    zeta = Instrument.objects.create(lab=lab, name="ZetaView PMX-120", kind="zetaview", model_name="PMX-120")
    vocabulary = marker_vocabulary()
    categories = {symbol: ",".join(sorted(vocabulary.subcategories(symbol))) for symbol in MARKERS}
    centres = _bins(size.histogram_bins)
    counts = dict.fromkeys(["measurements", "particle", "protein", "marker", "imaging", "size_bins"], 0)
    instrument_user = users["instrument"]
    for start in range(0, len(measured), CHUNK // 10):
        rows, details = [], []
        for prep, count in zip(measured[start : start + CHUNK // 10], plan[start : start + CHUNK // 10], strict=True):
            run = completed[prep.run_id]
            figures = FIGURES[prep.protocol_slug]
            particle = _particle_figures(rng, prep, figures)
            purity = _log_uniform(rng, *figures.particles_per_ug)
            at = run.completed_at + dt.timedelta(hours=rng.randint(2, 72))
            # After the particle count and the protein assay, blots and TEM in the lab's own order.
            extras = rng.sample(EXTRAS, len(EXTRAS))
            for position in range(count):
                what = "particle" if position == 0 or position >= 2 + len(extras) else extras[position - 2]
                what = "protein" if position == 1 else what
                kind, detail = _measurement(rng, what, position > 0, particle, purity, prep, categories, centres)
                instrument = (nta if particle["technique"] == "nta" else zeta) if kind == "particle" else None
                rows.append(
                    Measurement(
                        lab_id=lab.pk,
                        preparation_id=prep.pk,
                        kind=kind,
                        method=detail.pop("method"),
                        measured_at=at + dt.timedelta(minutes=position),
                        instrument_id=instrument.pk if instrument else None,
                        instrument_name=instrument.name if instrument else "",
                        values=detail.pop("values"),
                        recorded_by_id=instrument_user.pk,
                    )
                )
                details.append(detail)
        stored = _bulk(Measurement, rows)
        for kind, number in _store_details(stored, details).items():
            counts[kind] += number
        counts["measurements"] += len(stored)
    return counts


def _particle_figures(rng, prep, figures) -> dict:
    source = _log_uniform(rng, *SOURCE_PARTICLES_PER_ML[prep.biofluid])
    recovered = source * float(prep.input_volume_ul) / 1000 * rng.uniform(*figures.recovery)
    mode = round(rng.uniform(*figures.size_mode_nm), 1)
    sigma = rng.uniform(0.3, 0.45)
    return {
        "concentration": _significant(recovered / (figures.final_ul / 1000)),
        "mode": mode,
        "sigma": sigma,
        "median": mode * math.exp(sigma**2),
        "technique": rng.choice(["nta", "zetaview"]),
    }


def _measurement(rng, what: str, replicate: bool, particle: dict, purity: float, prep, categories, centres):
    """(kind, detail) of one measurement: ``what`` is particle, protein, imaging or a marker symbol."""
    if what == "particle":
        concentration = _significant(particle["concentration"] * (rng.uniform(0.9, 1.1) if replicate else 1))
        median, sigma = particle["median"], particle["sigma"]
        figures = {
            "concentration_per_ml": concentration,
            "size_mode_nm": particle["mode"],
            "size_mean_nm": round(median * math.exp(sigma**2 / 2), 1),
            "size_sd_nm": round(median * math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2)), 1),
            "d10_nm": round(median * math.exp(-1.2816 * sigma), 1),
            "d50_nm": round(median, 1),
            "d90_nm": round(median * math.exp(1.2816 * sigma), 1),
        }
        density = [math.exp(-(math.log(c / median) ** 2) / (2 * sigma**2)) / c for c in centres]
        scale = concentration / sum(density)
        return "particle", {
            "method": particle["technique"],
            "values": {
                "particles_per_ml": concentration,
                "size_mode_nm": figures["size_mode_nm"],
                "size_mean_nm": figures["size_mean_nm"],
                "d50_nm": figures["d50_nm"],
            },
            "figures": figures,
            "technique": particle["technique"],
            "dilution": rng.choice([50, 100, 200, 500]),
            "bins": [(centre, _significant(value * scale)) for centre, value in zip(centres, density, strict=True)],
        }
    if what == "protein":
        protein = _significant(particle["concentration"] / purity)
        return "protein", {"method": "micro_bca", "values": {"protein_ug_per_ml": protein}, "protein": protein}
    if what in MARKERS:
        symbol = what
        chance = NEGATIVE.get(symbol, 0.95)
        if symbol in ("APOA1", "ALB") and prep.biofluid not in ("blood_plasma", "serum"):
            chance = 0.02
        detected = rng.random() < chance
        return "marker", {
            "method": "western_blot",
            "values": {"protein": symbol, "detected": detected},
            "symbol": symbol,
            "category": categories[symbol],
            "detected": detected,
        }
    return "imaging", {"method": "tem", "values": {"wide_field": True, "close_up": True}}


def _store_details(measurements, details) -> dict:
    particles, proteins, markers, imaging, histograms = [], [], [], [], []
    for measurement, detail in zip(measurements, details, strict=True):
        if measurement.kind == "particle":
            particles.append(
                ParticleAnalysis(
                    measurement_id=measurement.pk,
                    technique=detail["technique"],
                    sample_name=f"{measurement.preparation_id} d{detail['dilution']}",
                    dilution_factor=detail["dilution"],
                    dilution_applied_in_file=True,
                    **detail["figures"],
                )
            )
            histograms.append(detail["bins"])
        elif measurement.kind == "protein":
            proteins.append(
                ProteinQuantification(
                    measurement_id=measurement.pk,
                    assay="micro_bca",
                    concentration_ug_per_ml=detail["protein"],
                    volume_assayed_ul=25,
                )
            )
        elif measurement.kind == "marker":
            markers.append(
                MarkerResult(
                    measurement_id=measurement.pk,
                    protein=detail["symbol"],
                    misev_category=detail["category"],
                    detection=MarkerResult.Detection.DETECTED
                    if detail["detected"]
                    else MarkerResult.Detection.NOT_DETECTED,
                    antibody_catalogue=f"{detail['symbol']} antibody",
                    antibody_dilution="1:1000",
                    lysate_buffer="RIPA",
                    protein_loaded_ug=5,
                    compared_with_source_lysate=True,
                )
            )
        else:
            imaging.append(
                ImagingResult(
                    measurement_id=measurement.pk,
                    technique="tem",
                    wide_field=True,
                    close_up=True,
                    magnification="30,000×",
                )
            )
    analyses = _bulk(ParticleAnalysis, particles)
    _bulk(ProteinQuantification, proteins)
    _bulk(MarkerResult, markers)
    _bulk(ImagingResult, imaging)
    bins = [
        SizeBin(analysis_id=analysis.pk, bin_center_nm=centre, concentration_per_ml=value)
        for analysis, histogram in zip(analyses, histograms, strict=True)
        for centre, value in histogram
    ]
    _bulk(SizeBin, bins)
    return {
        "particle": len(particles),
        "protein": len(proteins),
        "marker": len(markers),
        "imaging": len(imaging),
        "size_bins": len(bins),
    }
