"""Lab-years of data in minutes: a bulk generator for performance work (``manage.py evlims_generate``).

The demo (``builder.py``) writes every record through the services, which is right for a thousand
samples and far too slow for a hundred thousand. This loader builds the same kinds of rows directly, on
purpose bypassing the per-row services: no per-row audit events, no field history
(django-simple-history rows), no compliance or metric refresh. One summary audit event per generated
lab records the load. Everything else a page or a computation reads is there:

- a lab with one person of each role, projects, donors, a storage tree of 9 × 9 boxes;
- samples with a pre-analytical record per biofluid, collected over three years, and their aliquots
  (each with a "received" custody event; aliquots used by a run are consumed, with that event too);
- isolation runs following the shipped protocol library (completed with every step recorded, and a
  few aborted, in progress and planned), each with its EV preparations, one per input aliquot;
- characterization of the preparations of completed runs: a particle analysis with its size histogram,
  a protein quantification, then Western-blot markers, a TEM image record and replicate particle
  counts until the requested number of measurements is reached.

Rows are plain tuples written by :class:`~.writer.Writer`: COPY on PostgreSQL, ``executemany`` INSERTs
on SQLite, with primary keys reserved before the write so children point at parents without reading
anything back. Both write the same values.

Figures follow the ranges of :mod:`evlims.demo.isolation` (recovery, modal size and purity per
protocol), so metrics and method comparisons on generated data look like a working lab's.

Histograms are coarser than the demo's: ``histogram_bins`` bins (default 12, ~46 nm wide from 25 to
575 nm) instead of 58 bins of 10 nm, which keeps the size-bin table near two rows per measurement at
lab-years scale while small-EV fractions and medians stay meaningful.

Deterministic for a seed: the same sizes and seed give the same values whichever write method runs
(primary keys and barcode numbers depend on what the database already holds). Each call adds new labs
named ``Generated Lab <n>``; nothing existing is touched.
"""

import math
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from evlims.core.audit import record_event
from evlims.core.models import Lab, Membership, Project, Role
from evlims.isolation import services as isolation_services
from evlims.isolation.models import ProtocolVersion

from ..isolation import FIGURES
from .measurements import write_measurements
from .runs import write_runs
from .samples import aliquot_plan, write_custody, write_samples
from .sizes import (
    BATCH,
    CHUNK,
    DEFAULT_HISTOGRAM_BINS,
    DEFAULT_MEASUREMENTS,
    DEFAULT_PREPARATIONS,
    DEFAULT_RUNS,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    ScaleSize,
    split,
    split_weighted,
)
from .writer import METHODS, Writer

__all__ = [
    "BATCH",
    "CHUNK",
    "DEFAULT_HISTOGRAM_BINS",
    "DEFAULT_MEASUREMENTS",
    "DEFAULT_PREPARATIONS",
    "DEFAULT_RUNS",
    "DEFAULT_SAMPLES",
    "DEFAULT_SEED",
    "LAB_NAME",
    "LAB_SLUG",
    "METHODS",
    "LabSummary",
    "ScaleSize",
    "generate",
    "split",
    "split_weighted",
]

LAB_NAME = "Generated Lab"
LAB_SLUG = "generated-lab"

# (code, title, share of samples, {biofluid: weight})
PROJECTS = (
    ("PLASMA-CRC", "Plasma EV biomarkers in colorectal cancer", 0.30, {"blood_plasma": 0.8, "serum": 0.2}),
    ("PLASMA-CVD", "Circulating EVs in cardiovascular disease", 0.15, {"blood_plasma": 0.6, "serum": 0.4}),
    ("CSF-AD", "CSF extracellular vesicles in Alzheimer's disease", 0.10, {"csf": 1.0}),
    ("URINE-CKD", "Urinary EVs in chronic kidney disease", 0.20, {"urine": 1.0}),
    ("SECRETOME", "EV secretome of cancer cell lines", 0.15, {"cell_culture_medium": 1.0}),
    ("SERUM-PANEL", "Serum EV reference panel", 0.10, {"serum": 1.0}),
)


@dataclass
class LabSummary:
    lab: Lab
    users: dict
    counts: dict = field(default_factory=dict)


def generate(size: ScaleSize, progress=None, method: str | None = None) -> list[LabSummary]:
    """Add ``size.labs`` generated labs sharing the requested counts; returns what each received.
    ``method`` is the writer's (``copy`` or ``insert``); by default COPY on PostgreSQL, INSERT elsewhere."""
    say = progress or (lambda message: None)
    writer = Writer(method)
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
        summaries.append(_generate_lab(random.Random(rng.random()), writer, lab_size, versions, say))
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
def _generate_lab(rng: random.Random, writer: Writer, size: ScaleSize, versions, say) -> LabSummary:
    number = _next_lab_number()
    lab = Lab.objects.create(name=f"{LAB_NAME} {number}", slug=f"{LAB_SLUG}-{number}")
    users = _people(lab)
    summary = LabSummary(lab=lab, users=users)
    projects = [
        (project, share, fluids)
        for project, (_, _, share, fluids) in zip(
            Project.objects.bulk_create([Project(lab=lab, code=code, title=title) for code, title, _, _ in PROJECTS]),
            PROJECTS,
            strict=True,
        )
    ]
    say(f"{lab.name}: {size.samples:,} samples")
    samples = write_samples(rng, writer, lab, projects, size.samples)
    summary.counts["donors"] = lab.donors.count()
    summary.counts["samples"] = len(samples)
    per_sample = max(2, math.ceil(size.preparations / size.samples) + 1)
    aliquots = aliquot_plan(lab, samples, per_sample)
    summary.counts["aliquots"] = len(aliquots)
    say(f"{lab.name}: {size.runs:,} runs, {size.preparations:,} preparations")
    runs, preparations, steps = write_runs(rng, writer, lab, users, aliquots, size, versions)
    summary.counts["runs"] = len(runs)
    summary.counts["preparations"] = len(preparations)
    summary.counts["run_steps"] = steps
    summary.counts["custody_events"] = write_custody(writer, lab, users, aliquots)
    del aliquots  # 200,000 tubes at full size; the measurements need the preparations only
    say(f"{lab.name}: {size.measurements:,} measurements")
    summary.counts |= write_measurements(rng, writer, lab, users, preparations, size)
    # Small sizes can give fewer preparations than asked for (runs take tubes of one project and biofluid),
    # so the request is kept beside the counts: a later run can find a lab of the same request.
    requested = {name: getattr(size, name) for name in ("preparations", "samples", "measurements", "runs")}
    record_event(
        actor=users["admin"],
        action="scale.generate",
        obj=lab,
        lab=lab,
        reason="Bulk load of generated lab-years data (evlims_generate); rows written without per-row events.",
        changes={"seed": size.seed, "histogram_bins": size.histogram_bins, "requested": requested, **summary.counts},
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
