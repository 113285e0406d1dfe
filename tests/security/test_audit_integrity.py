"""Every write goes through a service, and every service that changes a record leaves an audit event written in
the same transaction as the change: when the audit write fails, the change is gone too; when the service
refuses, nothing is written at all. Service functions are discovered by introspection (every public function of
a service module, and of every public module of a services package), so a new one must be classified here
(audited, with arguments to call it, or not a write, with the reason).
"""

import inspect
import pkgutil
from datetime import date
from decimal import Decimal
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from evlims.characterization.services import record_results, validate_results
from evlims.core import audit
from evlims.core.audit import verify_chain
from evlims.core.models import AuditChainHead, AuditEvent, Role
from evlims.instruments.parsers import parse_bytes
from evlims.instruments.services import file_ingestion, plate_layouts
from evlims.isolation import services as isolation
from evlims.labels import services as label_services
from evlims.review import services as review_services
from evlims.samples.services import manifests
from evlims.standards import services as standards
from evlims.standards.models import ReferenceMaterialLot
from tests.cytometry.ev_files import GATES, ev_file
from tests.factories import LabFactory, member
from tests.labels.printer import FakePrinter
from tests.plate_layout_world import small_wells
from tests.security.world import NANOSIGHT, PASSWORD, build_lab, lab_protocol_yaml

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

SERVICE_MODULES = [
    "evlims.samples.services",
    "evlims.isolation.services",
    "evlims.characterization.services",
    "evlims.characterization.corrections",
    "evlims.characterization.blots",
    "evlims.cytometry.services",
    "evlims.cytometry.gate_services",
    "evlims.instruments.services",
    "evlims.compliance.services",
    "evlims.review.services",
    "evlims.review.signatures",
    "evlims.metrics.services",
    "evlims.interlab.services",
    "evlims.standards.services",
    "evlims.labels.services",
    "evlims.notifications.services",
    "evlims.core.identity.services",
]

# Public functions that change no record of a lab, or only derived data rebuilt from audited records, or (the
# bulk registration) write only inside a caller that records the audit event.
NOT_AUDITED = {
    "evlims.cytometry.services.acquisition_read_events": (
        "derived: the events of the audited file read in a task, and the density plot's grid"
    ),
    "evlims.labels.services.template_for": "read: the lab's template or the defaults",
    "evlims.labels.services.label_contents": "pure: the lines of each label",
    "evlims.labels.services.labels_zpl": "read: ZPL written for the template",
    "evlims.labels.services.send_to_printer": "sends bytes to a printer; labels_print audits the attempt",
    "evlims.notifications.services.preferences_of": "read",
    "evlims.notifications.services.notify": (
        "writes the notices of an event inside the audited change that announces it (review steps), or of derived "
        "control-chart verdicts"
    ),
    "evlims.notifications.services.queue_emails": "delivery: e-mails of notifications already written",
    "evlims.notifications.services.send_emails": "delivery: marks notifications e-mailed",
    "evlims.notifications.services.notifications_mark_read": "a person's own reading state; no record of a lab",
    "evlims.notifications.services.notification_preferences_update": "a person's own choices; no record of a lab",
    "evlims.samples.services.donors.donor_build": "builds an unsaved donor",
    "evlims.samples.services.samples.sample_build": "builds an unsaved sample",
    "evlims.samples.services.aliquots.aliquot_build": "builds an unsaved aliquot",
    "evlims.samples.services.aliquots.first_aliquot_volumes": "pure: volumes checked against the sample",
    "evlims.samples.services.aliquots.first_custody_event": "builds an unsaved custody event",
    "evlims.samples.services.aliquots.received_note": "pure",
    "evlims.samples.services.bulk.samples_register_bulk": (
        "writes inside its caller's transaction, whose one audit event covers it (manifest_commit, audited)"
    ),
    "evlims.isolation.services.protocols.parse_protocol_text": "pure: YAML to a checked definition",
    "evlims.isolation.services.preparations.clean_functional_studies": "pure: functional studies checked as stored",
    "evlims.characterization.services.validate_results": "pure: payload validation",
    "evlims.characterization.services.headline_values": "pure",
    "evlims.characterization.corrections.may_change": "read: who may correct or void a result",
    "evlims.characterization.corrections.preparations_resting_on": "read",
    "evlims.characterization.blots.blot_documents": "pure: a blot as marker result documents",
    "evlims.characterization.blots.blot_errors": "pure: refusals keyed by the blot's places",
    "evlims.characterization.blots.image_type": "pure: an image's type from its first bytes",
    "evlims.instruments.services.instruments.api_key_authenticate": "read (notes the key's last use)",
    "evlims.instruments.services.results.request_hash": "pure",
    "evlims.instruments.services.results.previous_answer": "read",
    "evlims.instruments.services.documents.particle_document": "pure",
    "evlims.instruments.services.documents.protein_document": "pure",
    "evlims.instruments.services.documents.documents_from_parsed": "pure",
    "evlims.instruments.services.documents.committed_samples": "pure",
    "evlims.instruments.services.documents.needs_dilution": "pure",
    "evlims.instruments.services.documents.dilution_suggestions": "pure: a suggestion read from names",
    "evlims.instruments.services.documents.missing_dilutions": "pure",
    "evlims.instruments.services.documents.acquisition_time": "pure",
    "evlims.instruments.services.documents.given_time": "pure",
    "evlims.instruments.services.documents.measured_when": "pure",
    "evlims.instruments.services.file_ingestion.commit_errors": "pure: a refusal put on the samples it concerns",
    "evlims.instruments.services.watch.watch_root": "read: the site's setting",
    "evlims.instruments.services.watch.check_folder": "read: a folder checked against the watch root",
    "evlims.instruments.services.watch.watch_folder_scan": (
        "bookkeeping of the file versions seen in a folder; each file it ingests is audited by file_upload"
        " (ingestion.preview or ingestion.failed, raw_file.store) in the transaction that saves it"
    ),
    "evlims.instruments.services.watch.watch_all_folders": "calls watch_folder_scan for every watched folder",
    "evlims.compliance.services.canonical_hash": "pure",
    "evlims.review.services.is_locked": "read",
    "evlims.review.services.preparations_locked": "read",
    "evlims.review.services.approvals_affected": "read",
    "evlims.compliance.services.evaluate_preparations": "derived: verdicts recomputed from audited evidence",
    "evlims.review.signatures.signature_lockout": "read",
    "evlims.review.signatures.signing_method": "read: password or the identity provider",
    "evlims.review.signatures.reauthentication_max_age": "read: a setting",
    "evlims.review.signatures.check_signature_reauthentication": (
        "changes no record: checks a signer's fresh sign-in at the identity provider before a signature; a refused"
        " one is audited in a transaction of its own (tests/sso/test_oidc_signing.py)"
    ),
    "evlims.review.signatures.check_signer": "changes no record: the password or the re-authentication, checked",
    "evlims.core.identity.services.mapped_roles": "pure: the roles the site's group map gives",
    "evlims.review.signatures.check_signature_password": (
        "changes no record: checks the password before a signature; a wrong one is audited in a transaction of its"
        " own, so the refusal that follows keeps it (tests/security/test_signature_throttle.py)"
    ),
    "evlims.metrics.services.preparation_frame": "read",
    "evlims.metrics.services.measurement_frame": "read",
    "evlims.metrics.services.compute_for": "pure computation",
    "evlims.metrics.services.store_metrics": "derived figures, recomputed from audited records",
    "evlims.metrics.services.recompute": "derived figures, recomputed from audited records",
    "evlims.metrics.services.job_create": "job bookkeeping",
    "evlims.metrics.services.queue_job": "job bookkeeping",
    "evlims.metrics.services.sent_failed": "job bookkeeping",
    "evlims.metrics.services.job_run": "job bookkeeping and derived figures",
    "evlims.metrics.services.job_fail": "job bookkeeping",
    "evlims.metrics.services.sweep_stale_jobs": "job bookkeeping",
    "evlims.standards.services.dilutions.clean_points": "pure: a dilution series checked as stored",
    "evlims.standards.services.materials.spike_values": "pure: a spike's figures checked, for recording and correcting",
    "evlims.standards.services.materials.readout_values": "pure: a readout's figures checked (record, correct)",
    "evlims.standards.services.changes.may_change": "read: whether a user may correct or void a spike or readout",
    "evlims.standards.services.changes.resting_on": "read: the preparations whose recovery rests on a record",
}


def _marker_document(preparation):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": preparation.barcode,
        "marker": {"protein": "TSG101", "detected": True},
    }


def _second_preparation(w):
    return w.run.preparations.order_by("id").last()


def _staff_marker(w):
    """A marker result a lab staff member recorded (they and lab admins may correct or void it)."""
    return record_results(actor=w.staff, lab=w.lab, documents=[_marker_document(_second_preparation(w))])[0]


def _planned_run(w):
    """A run of its own (the world's run is completed: results are recorded for its preparations)."""
    return isolation.run_plan(
        actor=w.staff, project=w.project, protocol_version=w.protocol_version, inputs=[(w.aliquot, 100)]
    )


def _started_run(w):
    return isolation.run_start(actor=w.staff, run=_planned_run(w))


def _all_steps_recorded(w):
    run = _started_run(w)
    for number in range(1, len(run.protocol_version.steps) + 1):
        isolation.run_record_step(actor=w.staff, run=run, number=number, observed={})
    return run


def _verified_review(w):
    review = review_services.review_verify(
        actor=w.users[Role.QA_MANAGER], review=w.review, password=PASSWORD, statement="ok"
    )
    return review


def _approved_review(w):
    review = _verified_review(w)
    return review_services.review_approve(
        actor=w.users[Role.LAB_ADMIN], review=review, password=PASSWORD, statement="ok"
    )


def _fresh_ingestion(w):
    ingestion, _ = file_ingestion.file_upload(
        actor=w.staff, lab=w.lab, data=NANOSIGHT.read_bytes() + b"\n", name="again.csv"
    )
    return ingestion


def _first_sample_name():
    return parse_bytes(NANOSIGHT.read_bytes(), "auto").to_dict()["samples"][0]["name"]


def _uploaded_manifest(w):
    return manifests.manifest_upload(
        actor=w.staff,
        project=w.project,
        uploaded_file=SimpleUploadedFile("more.csv", b"barcode,biofluid,volume_ml\nGAMMA-M-1,serum,1.5\n"),
    )


def _valid_manifest(w):
    return manifests.manifest_validate(manifest=_uploaded_manifest(w), actor=w.staff)


def _reference_lot(w):
    return standards.reference_lot_create(
        actor=w.staff,
        lab=w.lab,
        material="rEV",
        lot_number=f"L-{ReferenceMaterialLot.objects.count() + 1}",
        readout="fluorescent_nta",
        assigned_value=1e10,
        assigned_uncertainty=1e9,
        unit="particles/mL",
    )


def _run_spike(w):
    return standards.spike_record(actor=w.staff, lot=_reference_lot(w), run=w.run, amount=10, amount_unit="µL")


def _printing_lab(w):
    """The lab's template names a real TCP listener on localhost as its printer (kept open for the test run)."""
    printer = FakePrinter()
    label_services.label_template_save(
        actor=w.users[Role.LAB_ADMIN], lab=w.lab, changes={"printer_host": "127.0.0.1", "printer_port": printer.port}
    )
    return w.lab


def _shipped_item(w, assigned_from="consensus"):
    """An item of a new round of the lab's scheme, sent to the lab itself; the round awaits results."""
    from evlims.interlab import services as interlab

    round_ = interlab.round_create(
        actor=w.staff,
        scheme=w.comparison_scheme,
        code=f"AUD-{w.comparison_scheme.rounds.count() + 1}",
        material="pool",
        sigma_pt=1.0,
        assigned_from=assigned_from,
        reference_value=10.0,
        reference_uncertainty=0.1,
    )
    participant = interlab.participant_enrol(actor=w.staff, round=round_, lab=w.lab)
    item = interlab.item_add(actor=w.staff, participant=participant)
    interlab.round_ship(actor=w.staff, round=round_, reason="courier")
    return item


def _reported_round(w):
    from evlims.interlab import services as interlab

    item = _shipped_item(w, assigned_from="reference")
    interlab.result_report(actor=w.staff, item=item, value=10.5, standard_uncertainty=0.2)
    return item.round


def _plate_layout(w):
    return plate_layouts.plate_layout_create(actor=w.staff, lab=w.lab, name="BCA in duplicate", wells=small_wells())


def _draft(w):
    return isolation.protocol_version_save_draft(actor=w.staff, lab=w.lab, source_text=lab_protocol_yaml("GAMMA"))


STAFF, QA, ADMIN = Role.LAB_STAFF, Role.QA_MANAGER, Role.LAB_ADMIN
# Audited writers called only by other services, which check the caller's role before calling them.
INTERNAL = {
    "evlims.characterization.services.measurements_record",
    "evlims.instruments.services.results.raw_file_store",
    "evlims.review.services.void_approvals",
}

# name → (role of the actor, or None for system services; builder of the other arguments from the world).
AUDITED = {
    "evlims.cytometry.services.acquisition_upload": (
        STAFF,
        lambda w: {"lab": w.lab, "data": ev_file(extra=[("$SMNO", "audited")]), "name": "audited.fcs"},
    ),
    "evlims.cytometry.services.result_record": (
        STAFF,
        lambda w: {"acquisition": w.flow_acquisition, "gates": GATES, "particle_gate": "EVs"},
    ),
    "evlims.cytometry.gate_services.result_import": (
        STAFF,
        lambda w: {
            "acquisition": w.flow_acquisition,
            "data": (FIXTURES / "gates" / "ev_gates.gatingml.xml").read_bytes(),
            "name": "gates.xml",
        },
    ),
    "evlims.cytometry.gate_services.acquisition_share": (
        STAFF,
        lambda w: {"acquisition": w.flow_acquisition, "repository": "FlowRepository", "accession": "FR-FCM-Z2ZY"},
    ),
    "evlims.cytometry.services.calibration_create": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "name": "FL2 MESF",
            "kind": "fluorescence",
            "channel": "FL2-H",
            "units": "MESF",
            "beads": "Spherotech RCP-30-5A",
            "calibrated_on": date(2026, 12, 1),
            "measured": [20, 50, 500, 5000],
            "assigned": [0, 500, 5000, 50000],
        },
    ),
    "evlims.labels.services.label_template_save": (
        ADMIN,
        lambda w: {"lab": w.lab, "changes": {"dpi": 300, "symbology": "qr"}, "reason": "New printer"},
    ),
    "evlims.labels.services.labels_print": (STAFF, lambda w: {"lab": _printing_lab(w), "aliquots": [w.aliquot]}),
    "evlims.core.identity.services.sso_account_sync": (
        None,
        lambda w: {"claims": {"iss": "https://login.example.org", "sub": "4711", "email": "new.person@example.org"}},
    ),
    "evlims.samples.services.donors.donor_create": (STAFF, lambda w: {"lab": w.lab, "code": "NEW-DONOR"}),
    "evlims.samples.services.donors.donor_update": (
        STAFF,
        lambda w: {
            "donor": w.donor,
            "reason": "typo",
            "expected_version": w.donor.version,
            "changes": {"diagnosis": "x"},
        },
    ),
    "evlims.samples.services.samples.sample_register": (
        STAFF,
        lambda w: {"project": w.project, "biofluid": "serum", "volume_ml": Decimal("1")},
    ),
    "evlims.samples.services.samples.sample_update": (
        STAFF,
        lambda w: {
            "sample": w.sample,
            "reason": "typo",
            "expected_version": w.sample.version,
            "changes": {"remarks": "x"},
        },
    ),
    "evlims.samples.services.aliquots.aliquots_create": (STAFF, lambda w: {"sample": w.sample, "volumes_ul": [100]}),
    "evlims.samples.services.aliquots.aliquot_split": (STAFF, lambda w: {"aliquot": w.aliquot, "volumes_ul": [100]}),
    "evlims.samples.services.aliquots.aliquot_move": (
        STAFF,
        lambda w: {"aliquot": w.aliquot, "box": w.box, "row": 9, "column": 9},
    ),
    "evlims.samples.services.aliquots.aliquot_thaw": (STAFF, lambda w: {"aliquot": w.aliquot}),
    "evlims.samples.services.aliquots.aliquot_consume": (STAFF, lambda w: {"aliquot": w.aliquot, "volume_ul": 10}),
    "evlims.samples.services.aliquots.aliquot_release": (
        STAFF,
        lambda w: {"aliquot": w.aliquot, "kind": "disposed", "reason": "cracked"},
    ),
    "evlims.samples.services.storage.storage_unit_create": (
        STAFF,
        lambda w: {"lab": w.lab, "kind": "site", "name": "New"},
    ),
    "evlims.samples.services.manifests.manifest_upload": (
        STAFF,
        lambda w: {
            "project": w.project,
            "uploaded_file": SimpleUploadedFile("new.csv", b"barcode,biofluid,volume_ml\nX-1,serum,1\n"),
        },
    ),
    "evlims.samples.services.manifests.manifest_validate": (STAFF, lambda w: {"manifest": _uploaded_manifest(w)}),
    "evlims.samples.services.manifests.manifest_mark_failed": (
        None,
        lambda w: {"manifest": _uploaded_manifest(w), "message": "Checking stopped on an unexpected error."},
    ),
    "evlims.samples.services.manifests.manifest_commit": (STAFF, lambda w: {"manifest": _valid_manifest(w)}),
    "evlims.samples.services.manifests.manifest_queue_commit": (STAFF, lambda w: {"manifest": _valid_manifest(w)}),
    "evlims.isolation.services.protocols.protocol_version_save_draft": (
        STAFF,
        lambda w: {"lab": w.lab, "source_text": lab_protocol_yaml("DELTA")},
    ),
    "evlims.isolation.services.protocols.protocol_version_approve": (QA, lambda w: {"version": _draft(w)}),
    "evlims.isolation.services.protocols.protocol_version_retire": (
        QA,
        lambda w: {"version": w.protocol_version, "reason": "superseded"},
    ),
    "evlims.isolation.services.protocols.library_load": (None, lambda w: {}),
    "evlims.isolation.services.runs.run_plan": (
        STAFF,
        lambda w: {"project": w.project, "protocol_version": w.protocol_version, "inputs": [(w.aliquot, 100)]},
    ),
    "evlims.isolation.services.runs.run_start": (STAFF, lambda w: {"run": _planned_run(w)}),
    "evlims.isolation.services.runs.run_record_step": (
        STAFF,
        lambda w: {"run": _started_run(w), "number": 1, "observed": {}},
    ),
    "evlims.isolation.services.runs.run_complete": (STAFF, lambda w: {"run": _all_steps_recorded(w)}),
    "evlims.isolation.services.runs.run_abort": (STAFF, lambda w: {"run": _planned_run(w), "reason": "spill"}),
    "evlims.isolation.services.runs.run_update": (
        STAFF,
        lambda w: {
            "run": w.run,
            "reason": "Column lot copied from the box",
            "expected_version": w.run.version,
            "changes": {"equipment": "qEV original, lot 7"},
        },
    ),
    "evlims.isolation.services.preparations.preparation_update": (
        STAFF,
        lambda w: {
            "prep": _second_preparation(w),
            "reason": "storage written up",
            "expected_version": _second_preparation(w).version,
            "changes": {"claimed_subtype": "small_ev"},
        },
    ),
    "evlims.isolation.services.preparations.preparation_add_functional_study": (
        STAFF,
        lambda w: {
            "prep": _second_preparation(w),
            "reason": "uptake assay",
            "expected_version": _second_preparation(w).version,
            "study": {"assay": "uptake", "controls": ["ev_depleted_fraction"]},
        },
    ),
    "evlims.characterization.services.measurements_record": (
        STAFF,
        lambda w: {"lab": w.lab, "results": validate_results([_marker_document(_second_preparation(w))])},
    ),
    "evlims.characterization.corrections.result_correct": (
        STAFF,
        lambda w: {
            "measurement": _staff_marker(w),
            "document": _marker_document(_second_preparation(w)) | {"method": "elisa"},
            "reason": "The blot was an ELISA",
        },
    ),
    "evlims.characterization.corrections.result_void": (
        STAFF,
        lambda w: {"measurement": _staff_marker(w), "reason": "Antibody lot recalled"},
    ),
    "evlims.characterization.services.record_results": (
        STAFF,
        lambda w: {"lab": w.lab, "documents": [_marker_document(_second_preparation(w))]},
    ),
    "evlims.instruments.services.instruments.instrument_register": (
        ADMIN,
        lambda w: {"lab": w.lab, "name": "Second NTA", "kind": "nta"},
    ),
    "evlims.instruments.services.instruments.api_key_issue": (
        ADMIN,
        lambda w: {"instrument": w.instrument, "scopes": ["read"]},
    ),
    "evlims.instruments.services.instruments.api_key_revoke": (ADMIN, lambda w: {"key": w.api_key, "reason": "lost"}),
    "evlims.instruments.services.watch.watch_folder_set": (
        ADMIN,
        lambda w: {"instrument": w.instrument, "folder": "", "file_format": "gen5", "reason": "Reader moved"},
    ),
    "evlims.instruments.services.results.raw_file_store": (
        STAFF,
        lambda w: {"lab": w.lab, "data": b"new bytes", "name": "n"},
    ),
    "evlims.instruments.services.results.results_ingest": (
        STAFF,
        lambda w: {"lab": w.lab, "documents": [_marker_document(_second_preparation(w))]},
    ),
    "evlims.instruments.services.file_ingestion.file_upload": (
        STAFF,
        lambda w: {"lab": w.lab, "data": NANOSIGHT.read_bytes() + b"\n\n", "name": "other.csv"},
    ),
    "evlims.instruments.services.file_ingestion.file_commit": (
        STAFF,
        lambda w: {
            "ingestion": (i := _fresh_ingestion(w)),
            "mapping": {i.parsed["samples"][0]["name"]: w.preparation.barcode},
            "dilutions": {i.parsed["samples"][0]["name"]: 200.0},
        },
    ),
    "evlims.instruments.services.uploads.file_commit_by_sample": (
        STAFF,
        lambda w: {
            "ingestion": (i := _fresh_ingestion(w)),
            "mapping": {i.parsed["samples"][0]["name"]: w.preparation.barcode},
            "dilutions": {i.parsed["samples"][0]["name"]: 200.0},
        },
    ),
    "evlims.instruments.services.uploads.file_upload_and_commit": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "data": NANOSIGHT.read_bytes() + b"\n\n\n",
            "name": "mapped.csv",
            "mapping": {_first_sample_name(): w.preparation.barcode},
            "dilutions": {_first_sample_name(): 200.0},
        },
    ),
    "evlims.instruments.services.plate_layouts.plate_layout_create": (
        STAFF,
        lambda w: {"lab": w.lab, "name": "BCA triplicates", "wells": small_wells()},
    ),
    "evlims.instruments.services.plate_layouts.plate_layout_update": (
        STAFF,
        lambda w: {
            "layout": _plate_layout(w),
            "expected_version": 1,
            "changes": {"fit": "quadratic"},
            "reason": "Curvature above 1000 µg/mL",
        },
    ),
    "evlims.instruments.services.plate_layouts.plate_layout_retire": (
        STAFF,
        lambda w: {"layout": _plate_layout(w), "reason": "New kit lot"},
    ),
    "evlims.characterization.services.imaging_record_with_images": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "document": {
                "kind": "imaging",
                "method": "tem",
                "preparation": _second_preparation(w).barcode,
                "imaging": {"technique": "tem", "wide_field": True, "close_up": True},
            },
            "images": [w.raw_file],
        },
    ),
    "evlims.characterization.blots.blot_record": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "blot": {
                "method": "western_blot",
                "markers": [{"protein": "CD63", "antibody": {"clone": "H5C6"}}],
                "lanes": [{"preparation": _second_preparation(w).barcode, "bands": [{"detected": True}]}],
            },
            "image": SimpleUploadedFile("blot.png", b"\x89PNG\r\n\x1a\n audited blot", content_type="image/png"),
        },
    ),
    "evlims.characterization.blots.blot_image_keep": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "image": SimpleUploadedFile("kept.png", b"\x89PNG\r\n\x1a\n kept blot", content_type="image/png"),
        },
    ),
    "evlims.review.services.review_submit": (
        STAFF,
        lambda w: {"preparation": _second_preparation(w), "justification": "accepted as it is"},
    ),
    "evlims.review.services.review_verify": (
        QA,
        lambda w: {"review": w.review, "password": PASSWORD, "statement": "checked"},
    ),
    "evlims.review.services.review_approve": (
        ADMIN,
        lambda w: {"review": _verified_review(w), "password": PASSWORD, "statement": "released"},
    ),
    "evlims.review.services.review_reject": (
        QA,
        lambda w: {"review": w.review, "password": PASSWORD, "statement": "incomplete"},
    ),
    "evlims.review.services.void_approvals": (
        STAFF,
        lambda w: {"preparation_ids": [_approved_review(w).preparation_id], "reason": "corrected volume"},
    ),
    "evlims.interlab.services.schemes.scheme_create": (
        STAFF,
        lambda w: {"lab": w.lab, "code": "AUD-EQA-2", "name": "Second scheme", "quantity": "particles_per_ml"},
    ),
    "evlims.interlab.services.schemes.round_create": (
        STAFF,
        lambda w: {"scheme": w.comparison_scheme, "code": "AUD-R2", "material": "pool", "sigma_pt": 1.0},
    ),
    "evlims.interlab.services.schemes.participant_enrol": (
        STAFF,
        lambda w: {"round": w.comparison_round, "lab": LabFactory()},
    ),
    "evlims.interlab.services.schemes.item_add": (STAFF, lambda w: {"participant": w.comparison_participant}),
    "evlims.interlab.services.schemes.round_checks_record": (
        STAFF,
        lambda w: {"round": w.comparison_round, "stability_before": [1.0, 1.1], "stability_after": [1.0]},
    ),
    "evlims.interlab.services.rounds.round_ship": (STAFF, lambda w: {"round": w.comparison_round}),
    "evlims.interlab.services.rounds.round_close": (STAFF, lambda w: {"round": _reported_round(w)}),
    "evlims.interlab.services.results.result_report": (
        STAFF,
        lambda w: {"item": _shipped_item(w), "value": 9.8, "standard_uncertainty": 0.3},
    ),
    "evlims.metrics.services.controls.control_material_create": (
        ADMIN,
        lambda w: {"lab": w.lab, "name": "Second control"},
    ),
    "evlims.metrics.services.controls.control_material_link_samples": (
        ADMIN,
        lambda w: {"material": w.control_material, "sample_barcodes": [w.sample.barcode]},
    ),
    "evlims.metrics.services.controls.control_material_update": (
        ADMIN,
        lambda w: {"material": w.control_material, "reason": "full baseline", "changes": {"baseline_points": 25}},
    ),
    "evlims.standards.services.materials.reference_lot_create": (
        STAFF,
        lambda w: {
            "lab": w.lab,
            "material": "rEV",
            "lot_number": "AUD-1",
            "readout": "fluorescent_nta",
            "assigned_value": 1e10,
            "assigned_uncertainty": 1e9,
            "unit": "particles/mL",
        },
    ),
    "evlims.standards.services.materials.spike_record": (
        STAFF,
        lambda w: {"lot": _reference_lot(w), "aliquot": w.aliquot, "amount": 10, "amount_unit": "µL"},
    ),
    "evlims.standards.services.materials.tracer_readout_record": (
        STAFF,
        lambda w: {"spike": _run_spike(w), "preparation": w.preparation, "value": 4e8, "unit": "particles/mL"},
    ),
    "evlims.standards.services.changes.tracer_readout_correct": (
        STAFF,
        lambda w: {"readout": w.tracer_readout, "value": 5e8, "reason": "Read the wrong channel"},
    ),
    "evlims.standards.services.changes.tracer_readout_void": (
        STAFF,
        lambda w: {"readout": w.tracer_readout, "reason": "Tube swapped"},
    ),
    "evlims.standards.services.changes.spike_correct": (
        STAFF,
        lambda w: {"spike": w.spike, "amount": 20, "reason": "20 µL, not 10"},
    ),
    "evlims.standards.services.changes.spike_void": (
        STAFF,
        lambda w: {"spike": _run_spike(w), "reason": "Spiked the wrong run"},
    ),
    "evlims.standards.services.dilutions.dilution_series_record": (
        STAFF,
        lambda w: {
            "preparation": w.preparation,
            "technique": "nta",
            "points": [{"dilution_factor": 100, "readings": [5e8]}, {"dilution_factor": 200, "readings": [2.5e8]}],
        },
    ),
}


@pytest.fixture
def world(db):
    return build_lab("AUD")


def _service_modules():
    """The service modules, a services package's public modules in place of the package."""
    for name in SERVICE_MODULES:
        module = import_module(name)
        yield module
        for found in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if not found.name.startswith("_"):
                yield import_module(f"{name}.{found.name}")


def _public_functions():
    found = {}
    for module in _service_modules():
        name = module.__name__
        for attribute, value in vars(module).items():
            if attribute.startswith("_") or not inspect.isfunction(value) or value.__module__ != name:
                continue
            found[f"{name}.{attribute}"] = value
    return found


def _function(qualified):
    module, name = qualified.rsplit(".", 1)
    return getattr(import_module(module), name)


def _database_state():
    """Every row of every evlims table (the audit chain head included), superseded and voided results too."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_app_config("evlims").get_models()
    }


def test_every_public_service_function_is_classified():
    functions = set(_public_functions())
    assert len(functions) > 40
    unclassified = sorted(functions - set(AUDITED) - set(NOT_AUDITED))
    assert not unclassified, f"classify these service functions in {__name__}: {unclassified}"
    assert not (set(AUDITED) | set(NOT_AUDITED)) - functions, "the tables name functions that no longer exist"


class _in_transaction_if_required:
    """void_approvals runs inside the transaction of the change that voids the approval (its contract)."""

    def __init__(self, name):
        self.block = transaction.atomic() if name.endswith("void_approvals") else None

    def __enter__(self):
        return self.block.__enter__() if self.block else None

    def __exit__(self, *exc):
        return self.block.__exit__(*exc) if self.block else False


class AuditWriteFailed(Exception):
    pass


def _refuse_audit(self, *args, **kwargs):
    raise AuditWriteFailed


def _refresh(world):
    for value in vars(world).values():
        if hasattr(value, "_meta") and getattr(value, "pk", None) is not None:
            value.refresh_from_db()
            if hasattr(value, "_evlims_memberships"):
                del value._evlims_memberships


def _check_service(name, world, outsider, monkeypatch) -> list[str]:
    """Refused → nothing written; audit write fails → nothing written; otherwise → audit events, chain intact."""
    role, build = AUDITED[name]
    function = _function(name)
    kwargs = build(world)  # prerequisites are written (and audited) before the service under test runs
    if role is None and "actor" in inspect.signature(function).parameters:
        kwargs["actor"] = None
    state = _database_state()
    problems = []
    if role is not None and name not in INTERNAL:
        try:
            with _in_transaction_if_required(name):
                function(**kwargs, actor=outsider)
            problems.append("a user without a role in the lab was not refused")
        except (PermissionDenied, ValidationError):
            if _database_state() != state:
                problems.append("a refused call wrote something")
    if role is not None:
        kwargs["actor"] = world.users[role]
    monkeypatch.setattr(AuditEvent, "save", _refuse_audit)
    monkeypatch.setattr(audit, "append_event", _refuse_audit)
    try:
        with _in_transaction_if_required(name):
            function(**kwargs)
        problems.append("ran although its audit event could not be written")
    except AuditWriteFailed:
        if _database_state() != state:
            problems.append("kept a change whose audit event was not written")
    finally:
        monkeypatch.undo()
    before = AuditEvent.objects.count()
    with _in_transaction_if_required(name):
        function(**kwargs)
    new = list(AuditEvent.objects.order_by("id")[before:])
    if not new:
        problems.append("wrote no audit event")
    elif not all(e.action and e.object_type and e.object_id and e.actor_label for e in new):
        problems.append("wrote an audit event without action, object or actor")
    if verify_chain(AuditEvent.objects.order_by("id")):
        problems.append("broke the audit chain")
    elif new and AuditChainHead.objects.get().last_hash != new[-1].entry_hash:
        problems.append("left the chain head behind")
    return problems


def test_every_audited_service_writes_its_event_in_the_transaction_of_its_change(world, monkeypatch):
    """Each service runs in a savepoint rolled back afterwards, so all share one world."""
    outsider = member(LabFactory(), Role.LAB_ADMIN, username="outsider-admin")
    failures = {}
    for name in sorted(AUDITED):
        _refresh(world)
        with transaction.atomic():
            problems = _check_service(name, world, outsider, monkeypatch)
            transaction.set_rollback(True)
        if problems:
            failures[name] = problems
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())


def test_audit_events_cannot_be_changed_or_deleted_through_the_model(world):
    event = AuditEvent.objects.order_by("id").first()
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.save(update_fields=["reason"])
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).reason != "rewritten"
    assert verify_chain(AuditEvent.objects.order_by("id")) == []


def test_tampering_below_the_model_is_detected(world):
    """Queryset updates and deletes bypass the model; the hash chain still shows them."""
    events = list(AuditEvent.objects.order_by("id"))
    AuditEvent.objects.filter(pk=events[3].pk).update(reason="Nothing to see here")
    AuditEvent.objects.filter(pk=events[7].pk).delete()
    problems = verify_chain(AuditEvent.objects.order_by("id"))
    assert f"event {events[3].pk}: content does not match its hash (the event was edited)." in problems
    assert f"event {events[8].pk}: link to the previous event is broken (an event was removed)." in problems


@transaction.atomic
def unaudited_donor_create(*, actor, lab):
    """A writer that forgets its audit event, to show the check above can fail."""
    from evlims.samples.models import Donor

    return Donor.objects.create(lab=lab, code=f"SILENT-{Donor.objects.count()}")


def test_the_check_reports_a_writer_without_audit(world, monkeypatch):
    name = f"{__name__}.unaudited_donor_create"
    monkeypatch.setitem(AUDITED, name, (STAFF, lambda w: {"lab": w.lab}))
    outsider = member(LabFactory(), Role.LAB_ADMIN, username="outsider-admin")
    with transaction.atomic():
        problems = _check_service(name, world, outsider, monkeypatch)
        transaction.set_rollback(True)
    assert problems == [
        "a user without a role in the lab was not refused",
        "ran although its audit event could not be written",
        "wrote no audit event",
    ]
