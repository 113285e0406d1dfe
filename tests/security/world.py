"""Two labs, each with one record of every kind, built through the services (so each has its audit trail).

Lab A's records carry names that appear nowhere else ("ALPHA…"), so a page of lab B that mentions any of them
has leaked. The builder is used by the tenancy matrix, the escaping tests and the audit tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.services import record_results
from evlims.core.models import Membership, Role
from evlims.cytometry import services as cytometry
from evlims.instruments import services as instruments
from evlims.instruments.services import file_ingestion
from evlims.interlab import services as interlab
from evlims.isolation import services as isolation
from evlims.metrics import services as metrics
from evlims.metrics.services import controls
from evlims.review import services as review_services
from evlims.samples import services as samples
from evlims.samples.services import manifests
from evlims.standards import services as standards
from tests.cytometry.ev_files import GATES, ev_file
from tests.factories import LabFactory, ProjectFactory, member
from tests.plate_layout_world import small_wells
from tests.run_states import completed

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_YAML = (ROOT / "protocols" / "library" / "sec-qev-70nm" / "1.0.0.yaml").read_text()
NANOSIGHT = ROOT / "tests" / "fixtures" / "instrument-files" / "nanosight-failed-capture.csv"
ROLES = (Role.LAB_STAFF, Role.QA_MANAGER, Role.LAB_ADMIN)
PASSWORD = "correct horse battery"


def lab_protocol_yaml(marker: str, title: str | None = None) -> str:
    """The shipped SEC protocol as a lab's own version, under a slug and title naming the lab."""
    text = PROTOCOL_YAML.replace("slug: sec-qev-70nm", f"slug: {marker.lower()}-sec")
    text = text.replace("status: released", "status: draft")
    return text.replace("title: Commercial 70 nm SEC", f"title: {title or marker} Commercial 70 nm SEC", 1)


@dataclass
class LabRecords:
    marker: str
    lab: object
    users: dict
    project: object = None
    donor: object = None
    site: object = None
    box: object = None
    sample: object = None
    aliquot: object = None
    custody_event: object = None
    protocol: object = None
    protocol_version: object = None
    run: object = None
    preparation: object = None
    measurement: object = None
    ingestion: object = None
    raw_file: object = None
    manifest_import: object = None
    review: object = None
    control_material: object = None
    plate_layout: object = None
    instrument: object = None
    api_key: object = None
    raw_api_key: str = ""
    metric_job: object = None
    membership: object = None
    reference_lot: object = None
    spike: object = None
    tracer_readout: object = None
    dilution_series: object = None
    flow_acquisition: object = None
    flow_result: object = None
    flow_calibration: object = None
    comparison_scheme: object = None
    comparison_round: object = None
    comparison_participant: object = None
    comparison_item: object = None
    secrets: list[str] = field(default_factory=list)

    @property
    def staff(self):
        return self.users[Role.LAB_STAFF]


def build_lab(marker: str, *, texts: dict | None = None) -> LabRecords:
    """One lab with a record of every kind. ``texts`` may replace the free-text names (for escaping tests)."""
    texts = texts or {}
    slug = marker.lower()
    lab = LabFactory(name=f"{marker} Lab", slug=f"{slug}-lab")
    users = {role: member(lab, role, username=f"{slug}-{role}") for role in ROLES}
    staff, qa, admin = users[Role.LAB_STAFF], users[Role.QA_MANAGER], users[Role.LAB_ADMIN]
    world = LabRecords(marker=marker, lab=lab, users=users)
    world.membership = Membership.objects.get(lab=lab, user=staff)
    world.project = ProjectFactory(lab=lab, code=f"{marker}-PRJ", title=texts.get("project", f"{marker} project"))
    world.donor = samples.donor_create(
        actor=staff, lab=lab, code=texts.get("donor", f"{marker}-DONOR"), diagnosis=texts.get("diagnosis", "")
    )
    world.site = samples.storage_unit_create(actor=staff, lab=lab, kind="site", name=f"{marker} site")
    freezer = samples.storage_unit_create(actor=staff, lab=lab, kind="freezer", name="F", parent=world.site)
    rack = samples.storage_unit_create(actor=staff, lab=lab, kind="rack", name="R", parent=freezer)
    world.box = samples.storage_unit_create(
        actor=staff, lab=lab, kind="box", name=texts.get("box", f"{marker} box"), parent=rack, rows=9, columns=9
    )
    world.sample = samples.sample_register(
        actor=staff,
        project=world.project,
        donor=world.donor,
        barcode=f"{marker}-S-0001",
        biofluid="blood_plasma",
        volume_ml=Decimal("4"),
        anticoagulant="k2_edta",
        aliquot_volumes_ul=[500, 500, 500],
        box=world.box,
        external_id=texts.get("external_id", f"{marker}-EXT"),
        remarks=texts.get("remarks", f"{marker} remarks"),
    )
    aliquots = list(world.sample.aliquots.order_by("id"))
    world.aliquot = aliquots[2]
    world.custody_event = world.aliquot.custody_events.get()

    world.protocol_version = isolation.protocol_version_save_draft(
        actor=staff, lab=lab, source_text=lab_protocol_yaml(marker, texts.get("protocol"))
    )
    world.protocol_version = isolation.protocol_version_approve(actor=qa, version=world.protocol_version)
    world.protocol = world.protocol_version.protocol
    world.run = isolation.run_plan(
        actor=staff,
        project=world.project,
        protocol_version=world.protocol_version,
        inputs=[(aliquots[0], 500), (aliquots[1], 500)],
        equipment=texts.get("equipment", f"{marker} column"),
    )
    world.run = completed(world.run)
    preparations = list(world.run.preparations.order_by("id"))
    world.preparation = preparations[0]

    world.instrument = instruments.instrument_register(
        actor=admin, lab=lab, name=texts.get("instrument", f"{marker} NanoSight"), kind="nta"
    )
    world.api_key, world.raw_api_key = instruments.api_key_issue(
        actor=admin, instrument=world.instrument, scopes=["read", "results:write"], label=f"{marker} key"
    )
    world.ingestion, _ = file_ingestion.file_upload(
        actor=staff, lab=lab, data=NANOSIGHT.read_bytes(), name=f"{marker}-nta.csv"
    )
    names = world.ingestion.parsed["samples"]
    world.ingestion = file_ingestion.file_commit(
        actor=staff,
        ingestion=world.ingestion,
        mapping={names[0]["name"]: world.preparation.barcode},
        dilutions={names[0]["name"]: 200.0},
    )
    world.raw_file = world.ingestion.raw_file
    world.measurement = world.ingestion.measurements.first()
    record_results(
        actor=staff,
        lab=lab,
        documents=[
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": preparations[1].barcode,
                "marker": {"protein": "CD9", "detected": True, "antibody": {"clone": f"{marker}-CLONE"}},
            }
        ],
    )
    world.review = review_services.review_submit(
        actor=staff, preparation=world.preparation, reason=f"{marker} review", justification=f"{marker} justification"
    )
    world.control_material = controls.control_material_create(
        actor=admin, lab=lab, name=texts.get("control", f"{marker} control plasma"), sample_barcodes=[]
    )
    world.plate_layout = instruments.plate_layout_create(
        actor=staff, lab=lab, name=texts.get("plate_layout", f"{marker} BCA duplicates"), wells=small_wells()
    )
    manifest = f"barcode,biofluid,volume_ml\n{marker}-M-0001,serum,1.5\n".encode()
    world.manifest_import = manifests.manifest_upload(
        actor=staff,
        project=world.project,
        uploaded_file=SimpleUploadedFile(texts.get("manifest", f"{marker}-manifest.csv"), manifest),
    )
    world.metric_job = metrics.job_create(preparation_ids=[p.pk for p in preparations], lab=lab)
    world.reference_lot = standards.reference_lot_create(
        actor=staff,
        lab=lab,
        material=f"{marker} rEV",
        lot_number=f"{marker}-LOT",
        readout="fluorescent_nta",
        assigned_value=1e10,
        assigned_uncertainty=1e9,
        unit="particles/mL",
    )
    world.spike = standards.spike_record(
        actor=staff, lot=world.reference_lot, run=world.run, amount=10, amount_unit="µL"
    )
    world.tracer_readout = standards.tracer_readout_record(
        actor=staff, spike=world.spike, preparation=world.preparation, value=4e8, unit="particles/mL"
    )
    world.dilution_series = standards.dilution_series_record(
        actor=staff,
        preparation=world.preparation,
        technique="nta",
        points=[{"dilution_factor": 100, "readings": [5e8]}, {"dilution_factor": 200, "readings": [2.5e8]}],
    )
    world.flow_acquisition = cytometry.acquisition_upload(
        actor=staff, lab=lab, data=ev_file(extra=[("$SMNO", marker)]), name=texts.get("fcs", f"{marker}-ev.fcs")
    )
    world.flow_result = cytometry.result_record(
        actor=staff, acquisition=world.flow_acquisition, gates=GATES, particle_gate="EVs"
    )
    world.flow_calibration = cytometry.calibration_create(
        actor=staff,
        lab=lab,
        name=texts.get("flow_calibration", f"{marker} FL1 MESF"),
        kind="fluorescence",
        channel="FL1-H",
        units="MESF",
        beads="Spherotech RCP-30-5A",
        calibrated_on=dt.date(2026, 12, 1),
        measured=[20, 50, 500, 5000],
        assigned=[0, 500, 5000, 50000],
    )
    world.comparison_scheme = interlab.scheme_create(
        actor=staff,
        lab=lab,
        code=f"{marker}-EQA",
        name=texts.get("scheme", f"{marker} EV count scheme"),
        quantity="particles_per_ml",
    )
    world.comparison_round = interlab.round_create(
        actor=staff,
        scheme=world.comparison_scheme,
        code=f"{marker}-R1",
        material=f"{marker} pooled plasma",
        sigma_pt=1e9,
    )
    world.comparison_participant = interlab.participant_enrol(actor=staff, round=world.comparison_round, lab=lab)
    world.comparison_item = interlab.item_add(
        actor=staff, participant=world.comparison_participant, code=f"{marker}-ITEM-1"
    )
    world.secrets = [
        world.sample.barcode,
        world.aliquot.barcode,
        world.preparation.barcode,
        world.run.code,
        world.donor.code,
        world.project.code,
        world.box.name,
        world.site.name,
        world.instrument.name,
        world.control_material.name,
        world.comparison_scheme.name,
        world.comparison_round.material,
        world.plate_layout.name,
        world.flow_acquisition.file_name,
        world.flow_calibration.name,
        world.protocol.slug,
        world.manifest_import.original_name,
        world.raw_file.original_name,
        f"{marker}-EXT",
        f"{marker}-M-0001",
    ]
    return world
