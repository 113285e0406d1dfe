"""Donors, samples with realistic pre-analytical records, and their aliquots in freezer boxes.

About one sample in ten carries a recognisable quality problem (a citrate tube processed hours late,
a hemolysed serum, urine kept at −20 °C, single-spin plasma), so the quality flags have something to
show. Values follow the ranges described in the MIBlood-EV and urine EV literature cited in
``evlims/samples/data/preanalytical_rules.yaml``.
"""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from evlims.samples import services
from evlims.samples.models import Anticoagulant, Donor, StorageUnit, UrineCollection

from .people import LabPeople

# Collection dates spread over this window; fixed so the same seed gives the same records any day.
COLLECTION_START = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)
COLLECTION_DAYS = 650

DIAGNOSES = {
    "PLASMA-CRC": [("Colorectal cancer", "DOID:9256", 0.6), ("Healthy control", "", 0.4)],
    "CSF-AD": [("Alzheimer's disease", "DOID:10652", 0.55), ("Healthy control", "", 0.45)],
    "URINE-CKD": [("Chronic kidney disease", "DOID:784", 0.7), ("Healthy control", "", 0.3)],
    "PLASMA-CKD": [("Chronic kidney disease", "DOID:784", 0.8), ("Healthy control", "", 0.2)],
    "CSF-MS": [("Multiple sclerosis", "DOID:2377", 0.6), ("Healthy control", "", 0.4)],
}

# Cellosaurus accessions of common EV-producing lines.
CELL_LINES = [
    ("MDA-MB-231", "CVCL_0062", "DMEM"),
    ("MCF-7", "CVCL_0031", "DMEM"),
    ("HEK293T", "CVCL_0063", "DMEM"),
    ("HeLa", "CVCL_0030", "DMEM"),
    ("THP-1", "CVCL_0006", "RPMI 1640"),
]

TUBES = {
    Anticoagulant.K2_EDTA: "BD Vacutainer K2EDTA 367525",
    Anticoagulant.CITRATE: "BD Vacutainer Citrate 3.2% 363048",
    Anticoagulant.ACD_A: "BD Vacutainer ACD-A 364606",
    Anticoagulant.CLOT_ACTIVATOR: "BD Vacutainer SST II 367955",
}

# (number of aliquots, µL each) drawn per biofluid: small tubes for blood and CSF, larger for urine and medium.
ALIQUOT_PLAN = {
    "blood_plasma": ((3, 4), (400, 500)),
    "serum": ((2, 3), (400, 500)),
    "csf": ((2, 3), (250, 500)),
    "urine": ((2, 3), (2000, 4000)),
    "cell_culture_medium": ((2, 3), (5000, 10000)),
}

BOX_ROWS = BOX_COLUMNS = 9
BOXES_PER_RACK = 6
RACKS_PER_FREEZER = 4


def weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]


def _dec(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


BOX_CAPACITY = BOX_ROWS * BOX_COLUMNS


@dataclass
class FillPosition:
    """Where tubes of one storage temperature go next."""

    freezer: StorageUnit
    rack: StorageUnit
    rack_number: int = 1
    boxes_in_rack: int = 0
    box: StorageUnit | None = None
    tubes_in_box: int = BOX_CAPACITY  # "full", so the first request opens a box


class StoragePlanner:
    """Fills boxes rack by rack in one freezer after another per storage temperature (−80 °C, and −20 °C
    for what is wrongly kept there). Counts are kept here so a box is only offered when the tubes fit."""

    def __init__(self, people: LabPeople):
        self.people = people
        self.site = self._create(StorageUnit.Kind.SITE, None, f"{people.plan.name} building")
        self.fill: dict[int, FillPosition] = {}
        self.freezer_count = 0

    def _create(self, kind, parent, name, **extra) -> StorageUnit:
        return services.storage_unit_create(
            actor=self.people.admin, lab=self.people.lab, kind=kind, name=name, parent=parent, **extra
        )

    def _new_freezer(self, temperature: int) -> StorageUnit:
        self.freezer_count += 1
        label = chr(ord("A") + self.freezer_count - 1)
        return self._create(
            StorageUnit.Kind.FREEZER, self.site, f"Freezer {label} ({temperature} °C)", temperature_c=temperature
        )

    def box_for(self, tubes: int, temperature: int = -80) -> StorageUnit:
        fill = self.fill.get(temperature)
        if fill is None:
            freezer = self._new_freezer(temperature)
            fill = self.fill[temperature] = FillPosition(
                freezer, self._create(StorageUnit.Kind.RACK, freezer, "Rack 1")
            )
        if fill.tubes_in_box + tubes > BOX_CAPACITY:
            if fill.boxes_in_rack == BOXES_PER_RACK:
                fill.rack_number += 1
                if fill.rack_number > RACKS_PER_FREEZER:
                    fill.freezer, fill.rack_number = self._new_freezer(temperature), 1
                fill.rack = self._create(StorageUnit.Kind.RACK, fill.freezer, f"Rack {fill.rack_number}")
                fill.boxes_in_rack = 0
            fill.boxes_in_rack += 1
            fill.box = self._create(
                StorageUnit.Kind.BOX,
                fill.rack,
                f"Box {fill.boxes_in_rack:02d}",
                rows=BOX_ROWS,
                columns=BOX_COLUMNS,
                temperature_c=temperature,
            )
            fill.tubes_in_box = 0
        fill.tubes_in_box += tubes
        return fill.box


def create_donors(rng: random.Random, people: LabPeople, count_by_project: dict[str, int]) -> dict[str, list]:
    donors: dict[str, list] = {}
    actor = people.staff
    for code, count in count_by_project.items():
        project = people.projects[code]
        donors[code] = []
        for number in range(1, count + 1):
            diagnosis, ontology_id = _pick_diagnosis(rng, DIAGNOSES[code])
            donors[code].append(
                services.donor_create(
                    actor=actor,
                    lab=people.lab,
                    project=project,
                    code=f"{code}-D{number:03d}",
                    sex=rng.choice([Donor.Sex.FEMALE, Donor.Sex.MALE]),
                    age_band=rng.choice(Donor.AGE_BANDS[1:]),
                    diagnosis=diagnosis,
                    diagnosis_ontology_id=ontology_id,
                    consent_status=Donor.Consent.GIVEN if rng.random() > 0.03 else Donor.Consent.WITHDRAWN,
                    reason="Enrolled (demo data)",
                )
            )
    return donors


def _pick_diagnosis(rng, options):
    labels = [(name, ontology) for name, ontology, _ in options]
    return rng.choices(labels, weights=[weight for *_, weight in options])[0]


@dataclass(frozen=True)
class SampleDraft:
    biofluid: str
    volume_ml: Decimal
    fields: dict
    aliquot_volumes_ul: list[int]
    storage_temperature: int


def _collected_at(rng):
    day = rng.randrange(COLLECTION_DAYS)
    return COLLECTION_START + dt.timedelta(days=day, minutes=rng.randrange(0, 8 * 60))


def _blood(rng, biofluid) -> dict:
    if biofluid == "serum":
        anticoagulant = Anticoagulant.CLOT_ACTIVATOR
        delay = rng.randint(30, 90)  # serum tubes must clot before the spin
    else:
        anticoagulant = weighted(
            rng, {Anticoagulant.K2_EDTA: 0.6, Anticoagulant.CITRATE: 0.25, Anticoagulant.ACD_A: 0.15}
        )
        delay = rng.randint(15, 55)
        if rng.random() < 0.25:
            # The classic problem: tubes left on the bench; citrate allows at most 1 h.
            delay = rng.randint(90, 360)
    fields = {
        "tube_type": TUBES[anticoagulant],
        "anticoagulant": anticoagulant,
        "needle_gauge": rng.choice([21, 21, 21, 23]),
        "processing_delay_min": delay,
        "processing_temperature_c": _dec(rng.uniform(19, 23), 1),
        "prep_spin_g": 2500,
        "prep_spin_min": 15,
        "prep_spin_count": 2 if biofluid == "serum" or rng.random() > 0.08 else 1,
        "hemolysis_a414": _dec(rng.uniform(0.02, 0.07), 3),
        "fasting": rng.random() < 0.6,
    }
    roll = rng.random()
    if roll < 0.05:
        fields["hemolysis_a414"] = _dec(rng.uniform(0.32, 0.75), 3)
    elif roll < 0.12:
        fields["hemolysis_a414"] = _dec(rng.uniform(0.08, 0.28), 3)
    if biofluid == "blood_plasma":
        platelets = rng.randint(800, 9000) if fields["prep_spin_count"] == 2 else rng.randint(12000, 60000)
        fields["residual_platelets_per_ul"] = platelets
    return fields


def _urine(rng) -> dict:
    return {
        "urine_collection": weighted(
            rng,
            {UrineCollection.SECOND_MORNING: 0.5, UrineCollection.FIRST_MORNING: 0.3, UrineCollection.SPOT: 0.2},
        ),
        "pre_cleared": True,
        "pre_clearing_g": rng.choice([2000, 2000, 10000]),
        "processing_delay_min": rng.randint(20, 120),
    }


def _culture(rng) -> dict:
    name, accession, medium = rng.choice(CELL_LINES)
    serum_free = rng.random() < 0.3
    return {
        "cell_line": name,
        "cell_line_cellosaurus": accession,
        "passage": rng.randint(6, 28),
        "culture_medium": medium,
        "serum_supplement": "none (serum-free)" if serum_free else "10% FBS",
        "serum_ev_depleted": None if serum_free else True,
        "serum_ev_depletion_method": "" if serum_free else "Ultracentrifugation 120,000 × g, 18 h",
        "conditioning_time_h": _dec(rng.choice([24, 48, 48, 72]), 1),
        "cell_count_at_harvest": rng.randint(15, 60) * 1_000_000,
        "viability_pct_at_harvest": _dec(rng.uniform(82, 98), 1),
    }


def draft_sample(rng: random.Random, biofluid: str) -> SampleDraft:
    fields = {"collected_at": _collected_at(rng)}
    fields["received_at"] = fields["collected_at"] + dt.timedelta(hours=rng.randint(2, 30))
    storage = -80
    if biofluid in ("blood_plasma", "serum"):
        fields |= _blood(rng, biofluid)
        volume = rng.uniform(2.0, 4.5)
    elif biofluid == "urine":
        fields |= _urine(rng)
        volume = rng.uniform(12, 45)
        if rng.random() < 0.12:
            storage = -20  # kept in the ward's −20 °C freezer: urine EV markers degrade there
    elif biofluid == "csf":
        fields["processing_delay_min"] = rng.randint(20, 90)
        volume = rng.uniform(1.0, 3.0)
    else:
        fields |= _culture(rng)
        volume = rng.uniform(30, 90)
    fields["storage_temperature_c"] = Decimal(storage)
    (low_n, high_n), (low_ul, high_ul) = ALIQUOT_PLAN[biofluid]
    count = rng.randint(low_n, high_n)
    per_tube = rng.randrange(low_ul, high_ul + 1, 50)
    volume = max(volume, count * per_tube / 1000 + 0.1)
    return SampleDraft(biofluid, _dec(volume, 3), fields, [per_tube] * count, storage)


def register_samples(rng, people: LabPeople, planner: StoragePlanner, donors, count_by_project: dict[str, int]):
    """Register every sample of the lab with its aliquots placed in boxes; returns the samples."""
    samples = []
    actor = people.staff
    for plan in people.plan.projects:
        project = people.projects[plan.code]
        for _ in range(count_by_project[plan.code]):
            draft = draft_sample(rng, weighted(rng, plan.biofluids))
            donor = rng.choice(donors[plan.code]) if donors.get(plan.code) else None
            box = planner.box_for(len(draft.aliquot_volumes_ul), draft.storage_temperature)
            samples.append(
                services.sample_register(
                    actor=actor,
                    project=project,
                    donor=donor,
                    biofluid=draft.biofluid,
                    volume_ml=draft.volume_ml,
                    aliquot_volumes_ul=draft.aliquot_volumes_ul,
                    box=box,
                    reason="Received at the lab (demo data)",
                    **draft.fields,
                )
            )
    return samples
