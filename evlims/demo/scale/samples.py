"""Donors, samples with their pre-analytical record, storage boxes, aliquots and their custody events."""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from evlims.conf import evlims_settings
from evlims.core.barcodes import issue_barcodes
from evlims.samples.models import Aliquot, Anticoagulant, CustodyEvent, Donor, Sample, StorageUnit

from .sizes import CHUNK, split_weighted

COLLECTION_START = dt.datetime(2023, 1, 2, 8, 0, tzinfo=dt.UTC)
COLLECTION_DAYS = 3 * 365
BOX_ROWS = BOX_COLUMNS = 9
BOXES_PER_RACK = 24
RACKS_PER_FREEZER = 10
ALIQUOT_UL = {"blood_plasma": 500, "serum": 500, "csf": 400, "urine": 4000, "cell_culture_medium": 10000}
SAMPLE_ML = {"blood_plasma": (3, 9), "serum": (2, 6), "csf": (1, 3), "urine": (20, 50), "cell_culture_medium": (30, 90)}
CELL_LINES = [
    ("MDA-MB-231", "CVCL_0062", "DMEM"),
    ("MCF-7", "CVCL_0031", "DMEM"),
    ("HEK293T", "CVCL_0063", "DMEM"),
    ("THP-1", "CVCL_0006", "RPMI 1640"),
]
DONOR_FIELDS = ("lab_id", "project_id", "code", "sex", "age_band", "consent_status")
SAMPLE_FIELDS = (
    "lab_id",
    "project_id",
    "donor_id",
    "barcode",
    "external_id",
    "biofluid",
    "volume_ml",
    "collected_at",
    "received_at",
)
# The rest of a sample's columns, from the model: what _sample_fields fills for the biofluid, the model
# default otherwise. Timestamps are the writer's.
PREANALYTICAL = tuple(
    field.attname
    for field in Sample._meta.concrete_fields
    if field.attname not in SAMPLE_FIELDS
    and not field.primary_key
    and not getattr(field, "auto_now", False)
    and not getattr(field, "auto_now_add", False)
)
ALIQUOT_FIELDS = (
    "lab_id",
    "sample_id",
    "barcode",
    "initial_volume_ul",
    "volume_ul",
    "status",
    "freeze_thaw_count",
    "box_id",
    "position_row",
    "position_column",
)
CUSTODY_FIELDS = (
    "lab_id",
    "aliquot_id",
    "kind",
    "occurred_at",
    "actor_id",
    "from_location",
    "to_location",
    "volume_change_ul",
    "note",
)


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
            "anticoagulant": anticoagulant.value,
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


def _donors(rng, writer, lab, projects, plan) -> dict[int, list[int]]:
    """About four samples per donor, per project; cell-culture projects have none. Donor ids by project."""
    rows = []
    for project, _, fluids in projects:
        if set(fluids) == {"cell_culture_medium"}:
            continue
        people = max(1, sum(1 for p, _ in plan if p.pk == project.pk) // 4)
        rows += [
            (
                lab.pk,
                project.pk,
                f"{project.code}-D{n:06d}",
                rng.choice(["female", "male"]),
                rng.choice(Donor.AGE_BANDS[1:]),
                Donor.Consent.GIVEN.value,
            )
            for n in range(1, people + 1)
        ]
    donors_by_project: dict[int, list[int]] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        for row, pk in zip(chunk, writer.write(Donor, DONOR_FIELDS, chunk), strict=True):
            donors_by_project.setdefault(row[1], []).append(pk)
    return donors_by_project


def write_samples(rng, writer, lab, projects, samples: int) -> list[SampleRow]:
    counts = split_weighted(samples, [share for _, share, _ in projects])
    plan = []  # (project, biofluid) per sample, interleaved over time
    for (project, _, fluids), count in zip(projects, counts, strict=True):
        fluid_counts = split_weighted(count, list(fluids.values()))
        for fluid, fluid_count in zip(fluids, fluid_counts, strict=True):
            plan += [(project, fluid)] * fluid_count
    rng.shuffle(plan)
    donors_by_project = _donors(rng, writer, lab, projects, plan)
    defaults = {name: Sample._meta.get_field(name).get_default() for name in PREANALYTICAL}
    barcodes = issue_barcodes(evlims_settings.SAMPLE_BARCODE_PREFIX, samples)
    step = COLLECTION_DAYS * 86400 / samples
    rows: list[SampleRow] = []
    for start in range(0, samples, CHUNK):
        batch, kept = [], []
        for index in range(start, min(samples, start + CHUNK)):
            project, fluid = plan[index]
            collected = COLLECTION_START + dt.timedelta(seconds=int(index * step + rng.uniform(0, step)))
            donors = donors_by_project.get(project.pk)
            donor = rng.choice(donors) if donors else None
            low, high = SAMPLE_ML[fluid]
            volume = Decimal(f"{rng.uniform(low, high):.1f}")
            received = collected + dt.timedelta(hours=rng.randint(1, 6))
            extra = _sample_fields(rng, fluid)
            batch.append(
                (lab.pk, project.pk, donor, barcodes[index], f"SITE-{index + 1:07d}", fluid, volume, collected)
                + (received,)
                + tuple(extra.get(name, defaults[name]) for name in PREANALYTICAL)
            )
            kept.append((project.pk, fluid, volume, collected))
        ids = writer.write(Sample, SAMPLE_FIELDS + PREANALYTICAL, batch)
        rows += [SampleRow(pk, *values) for pk, values in zip(ids, kept, strict=True)]
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
    used_by: object = None  # the RunRow that took it
    pk: int | None = None

    @property
    def location(self) -> str:
        return f"{self.box.path} {chr(64 + self.row)}{self.column}"

    @property
    def emptied(self) -> bool:
        return self.used_ul == self.initial_ul


class Boxes:
    """Storage created on demand: a site, freezers of RACKS_PER_FREEZER racks of BOXES_PER_RACK boxes.
    A few thousand rows at most, so the ORM's bulk_create writes them."""

    def __init__(self, lab, total_tubes: int):
        capacity = BOX_ROWS * BOX_COLUMNS
        boxes = max(1, math.ceil(total_tubes / capacity))
        racks = math.ceil(boxes / BOXES_PER_RACK)
        freezers = math.ceil(racks / RACKS_PER_FREEZER)
        site = StorageUnit.objects.create(lab=lab, kind="site", name=f"{lab.name} site", path=f"{lab.name} site")
        freezer_rows = StorageUnit.objects.bulk_create(
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
            ]
        )
        rack_rows = StorageUnit.objects.bulk_create(
            [
                StorageUnit(
                    lab=lab,
                    parent=freezer_rows[n // RACKS_PER_FREEZER],
                    kind="rack",
                    name=f"Rack {n % RACKS_PER_FREEZER + 1:02d}",
                    path=f"{freezer_rows[n // RACKS_PER_FREEZER].path} / Rack {n % RACKS_PER_FREEZER + 1:02d}",
                )
                for n in range(racks)
            ]
        )
        self.boxes = StorageUnit.objects.bulk_create(
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
            batch_size=CHUNK,
        )

    def position(self, index: int) -> tuple[StorageUnit, int, int]:
        box, slot = divmod(index, BOX_ROWS * BOX_COLUMNS)
        return self.boxes[box], slot // BOX_COLUMNS + 1, slot % BOX_COLUMNS + 1


def aliquot_plan(lab, samples: list[SampleRow], per_sample: int) -> list[AliquotRow]:
    boxes = Boxes(lab, len(samples) * per_sample)
    rows: list[AliquotRow] = []
    for sample in samples:
        nominal = Decimal(ALIQUOT_UL[sample.biofluid])
        each = min(nominal, (sample.volume_ml * 1000 / per_sample).quantize(Decimal("0.1")))
        for _ in range(per_sample):
            rows.append(AliquotRow(sample, each, *boxes.position(len(rows))))
    return rows


def write_aliquots(writer, lab, aliquots: list[AliquotRow]) -> None:
    """Insert the tubes in their final state: what a started run used is gone, emptied tubes left their box."""
    barcodes = issue_barcodes(evlims_settings.ALIQUOT_BARCODE_PREFIX, len(aliquots))
    consumed, available = Aliquot.Status.CONSUMED.value, Aliquot.Status.AVAILABLE.value
    for start in range(0, len(aliquots), CHUNK):
        chunk = aliquots[start : start + CHUNK]
        batch = []
        for offset, a in enumerate(chunk):
            emptied = a.emptied
            batch.append(
                (
                    lab.pk,
                    a.sample.pk,
                    barcodes[start + offset],
                    a.initial_ul,
                    a.initial_ul - a.used_ul,
                    consumed if emptied else available,
                    1 if a.used_by else 0,
                    None if emptied else a.box.pk,
                    None if emptied else a.row,
                    None if emptied else a.column,
                )
            )
        for row, pk in zip(chunk, writer.write(Aliquot, ALIQUOT_FIELDS, batch), strict=True):
            row.pk = pk


def write_custody(writer, lab, users, aliquots: list[AliquotRow]) -> int:
    """A "received" event per tube, and a "consumed" one for the input of every started run."""
    staff = users["staff"].pk
    received, consumed = CustodyEvent.Kind.RECEIVED.value, CustodyEvent.Kind.CONSUMED.value
    total = 0
    for start in range(0, len(aliquots), CHUNK):
        events = []
        for a in aliquots[start : start + CHUNK]:
            location = a.location
            events.append(
                (lab.pk, a.pk, received, a.sample.collected_at + dt.timedelta(hours=8), staff, "", location)
                + (a.initial_ul, "")
            )
            run = a.used_by
            if run is not None:
                events.append(
                    (lab.pk, a.pk, consumed, run.started_at, run.operator_id, location, "", -a.used_ul)
                    + (f"Input of isolation run {run.code}",)
                )
        total += len(writer.write(CustodyEvent, CUSTODY_FIELDS, events))
    return total
