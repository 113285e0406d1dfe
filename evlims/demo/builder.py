"""Build the whole demo world in one transaction: either all of it is there, or none of it."""

import random
from dataclasses import dataclass

from django.db import transaction

from evlims.core.models import Lab
from evlims.samples.models import Aliquot

from ..labels.services import label_template_save
from . import comparisons, custody, flow, imports, isolation, people, reference_materials, showcase, specimens

DEFAULT_SEED = 2026
DEFAULT_DONORS = 200
DEFAULT_SAMPLES = 1000
# Roughly one isolation run per 40 samples keeps preparations at ~15% of samples, like a working lab.
SAMPLES_PER_RUN = 40
# One sample in this many of a lab's first donor project arrives through a clinic manifest.
SAMPLES_PER_IMPORTED = 10


@dataclass(frozen=True)
class DemoSize:
    donors: int = DEFAULT_DONORS
    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED

    def scaled(self, factor: float) -> "DemoSize":
        return DemoSize(max(1, round(self.donors * factor)), max(1, round(self.samples * factor)), self.seed)


def demo_present() -> bool:
    return Lab.objects.filter(slug__in=[plan.slug for plan in people.LABS]).exists()


def split(total: int, weights: list[float]) -> list[int]:
    """Whole counts proportional to ``weights`` that add up to ``total`` (largest remainders first)."""
    exact = [total * weight / sum(weights) for weight in weights]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def _donor_projects(plan: people.LabPlan) -> list[people.ProjectPlan]:
    # Conditioned medium comes from cell lines, not people.
    return [project for project in plan.projects if set(project.biofluids) != {"cell_culture_medium"}]


@transaction.atomic
def build_demo(size: DemoSize) -> None:
    """Create the labs, people, storage, donors, samples, custody history, runs, preparations and results.

    One transaction keeps the load all-or-nothing (an interrupted load leaves no half demo behind,
    so "the labs exist" reliably means "the demo is loaded") and makes SQLite fast: one commit
    instead of thousands.
    """
    rng = random.Random(size.seed)
    password_hash = people.demo_password_hash()
    people.create_superuser(password_hash)
    versions = isolation.library_versions()
    lab_samples = split(size.samples, [1.0] * len(people.LABS))
    donor_weights = [
        sum(project.share for project in _donor_projects(plan)) * count
        for plan, count in zip(people.LABS, lab_samples, strict=True)
    ]
    lab_donors = split(size.donors, donor_weights)
    every_lab = []
    for plan, sample_count, donor_count in zip(people.LABS, lab_samples, lab_donors, strict=True):
        lab_people = people.create_lab(plan, password_hash)
        every_lab.append(lab_people)
        # Cryo tube labels at 300 dpi with the sample's code; no printer address: the demo downloads ZPL files.
        label_template_save(
            actor=lab_people.admin,
            lab=lab_people.lab,
            changes={"dpi": 300, "fields": ["code", "sample", "biofluid", "volume"]},
            reason="The lab's cryo label printer",
        )
        planner = specimens.StoragePlanner(lab_people)
        samples_by_project = dict(
            zip(
                [project.code for project in plan.projects],
                split(sample_count, [project.share for project in plan.projects]),
                strict=True,
            )
        )
        donor_projects = _donor_projects(plan)
        donors_by_project = dict(
            zip(
                [project.code for project in donor_projects],
                split(donor_count, [samples_by_project[project.code] or 0.001 for project in donor_projects]),
                strict=True,
            )
        )
        donors = specimens.create_donors(rng, lab_people, donors_by_project)
        imported_project = (donor_projects or plan.projects)[0]
        imported = imports.import_manifests(
            rng,
            lab_people,
            lab_people.projects[imported_project.code],
            max(imported_project.biofluids, key=imported_project.biofluids.get),
            donors.get(imported_project.code, []),
            samples_by_project[imported_project.code] // SAMPLES_PER_IMPORTED,
        )
        samples_by_project[imported_project.code] -= imported
        # One of the lab's samples is the reference preparation's, registered with its full record below.
        reference_code = showcase.reference_project_code(lab_people)
        samples_by_project[reference_code] = max(0, samples_by_project[reference_code] - 1)
        specimens.register_samples(rng, lab_people, planner, donors, samples_by_project)
        aliquots = list(Aliquot.objects.filter(lab=lab_people.lab).order_by("id"))
        custody.handle_tubes(rng, lab_people, planner, aliquots)
        isolation.run_isolations(rng, lab_people, sample_count // SAMPLES_PER_RUN, versions)
        reference = showcase.record_reference_preparation(lab_people, versions)
        flow.record_flow(lab_people, reference, seed=size.seed + len(every_lab))
        showcase.fill_review_queue(lab_people, reference)
        reference_materials.record_reference_materials(lab_people)
    comparisons.run_comparison(every_lab)
