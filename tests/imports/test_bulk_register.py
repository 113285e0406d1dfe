"""The bulk commit of a manifest: the same records as the services row by row, all or nothing, one audit event,
a number of queries set by the batches rather than the rows."""

import math
from collections import Counter
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.models import HistoricalRecords

from evlims.conf import evlims_settings
from evlims.core.audit import verify_chain
from evlims.core.barcodes import issue_barcodes
from evlims.core.models import AuditEvent, BarcodeSequence
from evlims.samples import imports, services
from evlims.samples.import_columns import COLUMNS
from evlims.samples.models import Aliquot, CustodyEvent, Donor, ManifestImport, Sample
from evlims.samples.services import bulk, manifests
from tests.factories import DonorFactory, SampleFactory

from .conftest import checked_upload, csv_bytes, problem_tuples

Status = ManifestImport.Status

HEADER = [column.name for column in COLUMNS]  # every column of the manifest
# One row of every kind the commit handles: given and issued barcodes, a donor new to the lab named three
# times, a known donor, no donor; zero, one and several aliquots; blood, urine and culture fields; received_at
# given or left to the time of the import; text that looks like a formula.
ROWS = [
    {
        **{"barcode": "PL-1", "external_id": "S-1", "donor_code": "D-NEW", "biofluid": "blood_plasma"},
        **{"volume_ml": "4.5", "collected_at": "2024-03-01 08:15", "received_at": "2024-03-01 10:00"},
        **{"tube_type": "BD 367525", "anticoagulant": "K2-EDTA", "needle_gauge": "21", "processing_delay_min": "45"},
        **{"processing_temperature_c": "21.5", "prep_spin_g": "2500", "prep_spin_min": "15", "prep_spin_count": "2"},
        **{"hemolysis_a414": "0.21", "residual_platelets_per_ul": "9000", "fasting": "yes"},
        **{"storage_temperature_c": "-80", "aliquot_count": "3", "aliquot_volume_ul": "500", "remarks": "first tube"},
    },
    {
        **{"external_id": "S-2", "donor_code": "D-NEW", "biofluid": "serum", "volume_ml": "2"},
        **{"collected_at": "2024-03-01 08:20", "anticoagulant": "clot_activator", "processing_delay_min": "300"},
        **{"prep_spin_count": "1", "hemolysis_a414": "0.4", "fasting": "no"},
        **{"aliquot_count": "2", "aliquot_volume_ul": "250.5", "remarks": '=HYPERLINK("http://example.org")'},
    },
    {
        **{"barcode": "UR-2", "external_id": "S-3", "donor_code": "D-OLD", "biofluid": "urine", "volume_ml": "50"},
        **{"collected_at": "2024-03-02", "urine_collection": "first_morning", "pre_cleared": "yes"},
        **{"pre_clearing_g": "2000", "storage_temperature_c": "-20"},
    },
    {
        **{"biofluid": "cell_culture_medium", "volume_ml": "120", "collected_at": "2024-03-03 16:00"},
        **{"received_at": "2024-03-03 17:30", "storage_temperature_c": "-80", "cell_line": "HEK293T"},
        **{"cell_line_cellosaurus": "CVCL_0063", "passage": "12", "culture_medium": "DMEM"},
        **{"serum_supplement": "10% FBS", "serum_ev_depleted": "yes"},
        **{"serum_ev_depletion_method": "ultracentrifugation 18 h", "conditioning_time_h": "48"},
        **{"cell_count_at_harvest": "20000000", "viability_pct_at_harvest": "96.5"},
        **{"aliquot_count": "1", "aliquot_volume_ul": "1000"},
    },
    {
        **{"external_id": "S-5", "donor_code": "D-LATE", "biofluid": "whole_blood", "volume_ml": "3"},
        **{"anticoagulant": "k3_edta", "aliquot_count": "4", "aliquot_volume_ul": "100", "remarks": "-"},
    },
    {"external_id": "S-6", "donor_code": "D-NEW", "biofluid": "csf", "volume_ml": "1"},
]
MANIFEST = [HEADER] + [[row.get(name, "") for name in HEADER] for row in ROWS]
# The samples whose row leaves received_at to the time of the import (by external_id).
RECEIVED_AT_IMPORT = {"S-2", "S-3", "S-5", "S-6"}


@contextmanager
def request_by(user):
    """django-simple-history as the history middleware sets it up for a page request made by ``user``."""
    request = RequestFactory().get("/")
    request.user = user
    HistoricalRecords.context.request = request
    try:
        yield
    finally:
        del HistoricalRecords.context.request


def register_row_by_row(manifest, actor):
    """The commit as it was done before the bulk path: every row through donor_create and sample_register."""
    with manifest.file.open("rb") as stored:
        checked = imports.check_manifest(stored.read(), lab=manifest.lab, ignore_import_id=manifest.pk)
    assert not checked.errors
    donors = {donor.code: donor for donor in manifest.lab.donors.all()}
    for row in manifests._sample_rows(manifest, checked):
        if row.donor_code and row.donor_code not in donors:
            donors[row.donor_code] = services.donor_create(
                actor=actor, lab=manifest.lab, code=row.donor_code, project=manifest.project, reason=row.reason
            )
        services.sample_register(
            actor=actor,
            project=manifest.project,
            donor=donors.get(row.donor_code),
            aliquot_volumes_ul=row.aliquot_volumes_ul,
            reason=row.reason,
            **row.fields,
        )


# Left out of the comparison: primary keys and the moments of writing (foreign keys become natural keys).
WRITE_TIMES = {"id", "history_id", "created_at", "updated_at", "history_date", "occurred_at"}
MODELS = [Donor, Sample, Aliquot, CustodyEvent, Donor.history.model, Sample.history.model, Aliquot.history.model]


def database_content(written_since) -> dict:
    """Every donor, sample, aliquot, custody event and history row, and the barcode sequences, comparable
    between two runs: ids replaced by barcodes and donor codes, received_at checked and masked where the row
    left it to the time of the import."""
    natural = {
        Donor: dict(Donor.objects.values_list("id", "code")),
        Sample: dict(Sample.objects.values_list("id", "barcode")),
        Aliquot: dict(Aliquot.objects.values_list("id", "barcode")),
    }
    content = {"sequences": sorted(BarcodeSequence.objects.values_list("prefix", "last_value"))}
    for model in MODELS:
        keyed = {
            field.attname: natural[field.related_model]
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model in natural
        }
        rows = []
        for values in model.objects.values():
            row = {name: value for name, value in values.items() if name not in WRITE_TIMES}
            for attname, names in keyed.items():
                row[attname] = names.get(row[attname], row[attname])
            if row.get("external_id") in RECEIVED_AT_IMPORT:
                assert written_since <= row["received_at"] <= timezone.now(), row
                row["received_at"] = "time of import"
            rows.append(row)
        content[model._meta.label] = sorted(rows, key=repr)
    return content


def test_the_bulk_commit_writes_what_the_services_write_row_by_row(staff, project):
    DonorFactory(lab=project.lab, project=project, code="D-OLD")
    issue_barcodes(evlims_settings.SAMPLE_BARCODE_PREFIX, 3)  # the sequences are not new
    issue_barcodes(evlims_settings.ALIQUOT_BARCODE_PREFIX, 7)
    manifest = checked_upload(staff, project, csv_bytes(MANIFEST))
    assert (manifest.status, manifest.row_count) == (Status.VALID, 6)

    with transaction.atomic():
        started = timezone.now()
        with request_by(staff):
            register_row_by_row(manifest, staff)
        by_services = database_content(started)
        transaction.set_rollback(True)
    assert not Sample.objects.exists()

    started = timezone.now()
    assert manifests.manifest_commit(manifest=manifest, actor=staff).status == Status.COMMITTED
    in_bulk = database_content(started)

    assert in_bulk == by_services
    # The comparison is about something: every kind of record is there, as the services wrote it.
    counts = {label: len(rows) for label, rows in by_services.items() if label != "sequences"}
    assert counts == {
        "evlims.Donor": 3,
        "evlims.Sample": 6,
        "evlims.Aliquot": 10,
        "evlims.CustodyEvent": 10,
        "evlims.HistoricalDonor": 3,
        "evlims.HistoricalSample": 6,
        "evlims.HistoricalAliquot": 10,
    }
    assert by_services["sequences"] == [("EVA", 17), ("EVS", 7)]
    history = {row["barcode"]: row for row in by_services["evlims.HistoricalSample"]}
    assert history["PL-1"]["history_change_reason"] == f"Manifest import {manifest.pk}, row 2"
    assert history["PL-1"]["history_user_id"] == staff.pk
    assert history["EVS-0000004"]["donor_id"] == "D-NEW" and history["EVS-0000004"]["remarks"].startswith("=")


def aliquot_manifest(rows: int, *, tag: str = "A", donors: int = 0) -> bytes:
    header = ["external_id", "donor_code", "biofluid", "volume_ml", "aliquot_count", "aliquot_volume_ul"]
    return csv_bytes(
        [header]
        + [[f"{tag}-{n}", f"{tag}-D{n % donors}" if donors else "", "serum", "2", "2", "500"] for n in range(rows)]
    )


def everything_written() -> dict:
    return {model._meta.label: model.objects.count() for model in [*MODELS, AuditEvent]} | {
        "sequences": sorted(BarcodeSequence.objects.values_list("prefix", "last_value"))
    }


def assert_only_the_refusal_is_written(before: dict) -> None:
    """Nothing of the file is written; the refused commit itself is audited (manifest.commit_refused)."""
    assert everything_written() == before | {"evlims.AuditEvent": before["evlims.AuditEvent"] + 1}
    assert AuditEvent.objects.latest("id").action == "manifest.commit_refused"


def test_a_clash_midway_rolls_back_every_batch_and_names_the_row(staff, project, monkeypatch):
    manifest = checked_upload(staff, project, aliquot_manifest(6, donors=3))
    # A tube stored without the sequence holds the barcode the sequence will issue to row 6's first aliquot.
    Aliquot.objects.create(
        lab=project.lab, sample=SampleFactory(project=project), barcode="EVA-0000009", initial_volume_ul=1, volume_ul=1
    )
    before = everything_written()
    monkeypatch.setattr(bulk, "BATCH_ROWS", 2)
    inserted, real_insert = [], bulk._insert

    def insert_and_note(model, objects, *args):
        real_insert(model, objects, *args)
        inserted.append((model.__name__, len(objects)))

    monkeypatch.setattr(bulk, "_insert", insert_and_note)

    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)

    # Two batches of samples and aliquots were in the database when the third batch's aliquots clashed.
    assert inserted == [("Donor", 3)] + [("Sample", 2), ("Aliquot", 4)] * 2 + [("Sample", 2)]
    assert manifest.status == Status.INVALID
    assert problem_tuples(manifest) == [
        (
            6,
            "aliquot_volume_ul",
            "error",
            "EVA-0000009, issued to an aliquot of this row, is already in use by an aliquot of this lab: the barcode "
            "sequence is behind the stored records. Ask an administrator.",
        )
    ]
    assert_only_the_refusal_is_written(before)


def test_a_clash_the_database_cannot_explain_afterwards_still_writes_nothing(staff, project, monkeypatch):
    """A row inserted inside the failed savepoint is gone with it: the message then says what the database said."""
    manifest = checked_upload(staff, project, aliquot_manifest(4))
    before = everything_written()
    real_insert = bulk._insert

    def take_a_barcode_first(model, objects, *args):
        if model is Sample:
            SampleFactory(project=project, barcode=objects[-1].barcode)
        real_insert(model, objects, *args)

    monkeypatch.setattr(bulk, "_insert", take_a_barcode_first)
    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)
    assert manifest.status == Status.INVALID
    [(row, column, severity, message)] = problem_tuples(manifest)
    assert (row, column, severity) == (None, "", "error")
    assert message.startswith("The database refused the registration (") and "nothing was imported" in message
    assert_only_the_refusal_is_written(before)


def test_one_audit_event_per_import_and_the_chain_still_verifies(staff, project):
    DonorFactory(lab=project.lab, project=project, code="A-D0")
    manifest = checked_upload(staff, project, aliquot_manifest(30, donors=4))
    before = AuditEvent.objects.count()

    manifest = manifests.manifest_commit(manifest=manifest, actor=staff)

    [event] = AuditEvent.objects.order_by("id")[before:]
    assert (event.action, event.object_type, event.object_id) == ("manifest.commit", "manifestimport", str(manifest.pk))
    assert event.actor == staff and event.lab == project.lab
    assert event.changes == {
        "file": "manifest.csv",
        "sha256": manifest.sha256,
        "samples": 30,
        "aliquots": 60,
        "donors_created": ["A-D1", "A-D2", "A-D3"],
        "donors_linked": 1,
        "sample_barcodes_from_file": 0,
        "barcodes_issued": {"EVS": ["EVS-0000001", "EVS-0000030"], "EVA": ["EVA-0000001", "EVA-0000060"]},
    }
    assert verify_chain(AuditEvent.objects.order_by("id")) == []
    assert Sample.history.filter(history_change_reason=f"Manifest import {manifest.pk}, row 31").count() == 1


def test_queries_grow_with_the_batches_not_the_rows(staff, project, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_ROWS", 10)
    tables = {model._meta.db_table: model._meta.label for model in MODELS}

    def commit_statements(rows: int, tag: str) -> tuple[dict, dict, int]:
        manifest = checked_upload(staff, project, aliquot_manifest(rows, tag=tag, donors=rows))
        before = everything_written()
        with CaptureQueriesContext(connection) as captured:
            assert manifests.manifest_commit(manifest=manifest, actor=staff).status == Status.COMMITTED
        written = {label: everything_written()[label] - before[label] for label in tables.values()}
        inserts, others = Counter(), 0
        for query in captured.captured_queries:
            table = query["sql"].split('"')[1] if query["sql"].startswith("INSERT INTO") else None
            if table in tables:
                inserts[tables[table]] += 1
            else:
                others += 1
        return written, dict(inserts), others

    commit_statements(1, "W")  # the first commit also creates the barcode sequences and the audit chain's head
    small_written, small_inserts, small_others = commit_statements(20, "S")
    large_written, large_inserts, large_others = commit_statements(60, "L")
    # Each row brings a donor of its own and two aliquots; every table is written 10 records per insert ...
    assert small_written["evlims.Sample"] == 20 and small_written["evlims.CustodyEvent"] == 40
    assert small_inserts == {label: math.ceil(count / 10) for label, count in small_written.items()}
    assert large_inserts == {label: math.ceil(count / 10) for label, count in large_written.items()}
    # ... and every other statement (the re-check, locks, sequences, the audit event) is the same for 20 or 60 rows.
    assert large_others == small_others


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs PostgreSQL's row locks and threads"
)
@pytest.mark.django_db(transaction=True)
def test_two_commits_at_the_same_moment_register_the_rows_once(staff, project):
    from tests.integration.test_concurrency import race

    manifest = checked_upload(staff, project, aliquot_manifest(40, donors=5))
    outcomes = race(*[lambda: manifests.manifest_commit(manifest=manifest, actor=staff)] * 2)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    assert {value.status for _, value in outcomes} == {Status.COMMITTED}
    assert (Sample.objects.count(), Aliquot.objects.count(), Donor.objects.count()) == (40, 80, 5)
    assert AuditEvent.objects.filter(action="manifest.commit").count() == 1
