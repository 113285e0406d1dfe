"""What the LIMS keeps of each upload: its own file name (identical bytes are stored once, but every upload keeps
the name it came with), and an audit event for every ingestion and manifest check, passed or failed."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.core.audit import verify_chain
from evlims.core.models import AuditEvent
from evlims.instruments.models import Ingestion, RawFile
from evlims.instruments.services import file_ingestion
from evlims.samples.models import ManifestImport
from evlims.samples.services import manifests
from evlims.samples.tasks import validate_manifest_import
from tests.security.world import NANOSIGHT, build_lab

from .conftest import checked_upload, csv_bytes, upload

Status = ManifestImport.Status


@pytest.fixture
def world(db):
    return build_lab("NAMES")


def events_of(obj, prefix=""):
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk), action__startswith=prefix)
        .order_by("id")
        .values_list("action", flat=True)
    )


# Names ----------------------------------------------------------------------------------------------------


def test_identical_bytes_share_one_stored_file_and_each_upload_keeps_its_name(world):
    second, replayed = file_ingestion.file_upload(
        actor=world.staff, lab=world.lab, data=NANOSIGHT.read_bytes(), name="second name.csv"
    )
    assert not replayed and second.raw_file_id == world.ingestion.raw_file_id
    assert RawFile.objects.filter(lab=world.lab, sha256=second.raw_file.sha256).count() == 1
    assert (world.ingestion.uploaded_name, second.uploaded_name) == ("NAMES-nta.csv", "second name.csv")
    assert second.raw_file.original_name == "NAMES-nta.csv"


def test_the_api_returns_each_uploads_own_name(world):
    api = APIClient()
    api.force_login(world.staff)
    response = api.post(
        "/api/v1/files/",
        {"file": SimpleUploadedFile("again via api.csv", NANOSIGHT.read_bytes(), "text/csv"), "lab": world.lab.pk},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["uploaded_name"] == "again via api.csv"
    assert body["raw_file"]["id"] == world.raw_file.pk and body["raw_file"]["original_name"] == "NAMES-nta.csv"
    detail = api.get(f"/api/v1/ingestions/{body['id']}/").json()
    assert detail["uploaded_name"] == "again via api.csv"
    listed = {item["id"]: item["uploaded_name"] for item in api.get("/api/v1/ingestions/").json()["results"]}
    assert listed[body["id"]] == "again via api.csv" and listed[world.ingestion.pk] == "NAMES-nta.csv"
    found = api.get("/api/v1/ingestions/", {"search": "via api"}).json()["results"]
    assert [item["id"] for item in found] == [body["id"]]


def test_the_pages_show_and_download_each_uploads_own_name(world, client):
    client.force_login(world.staff)
    token = uuid.uuid4().hex
    response = client.post(
        reverse("evlims:result-upload"),
        {
            "lab": world.lab.pk,
            "file_format": "auto",
            "upload_token": token,
            "file": SimpleUploadedFile("web second.csv", NANOSIGHT.read_bytes()),
        },
    )
    second = Ingestion.objects.get(uploaded_name="web second.csv")
    assert response.status_code == 302 and second.raw_file_id == world.raw_file.pk

    listing = client.get(reverse("evlims:ingestion-list")).content.decode()
    assert "web second.csv" in listing and "NAMES-nta.csv" in listing
    page = client.get(reverse("evlims:ingestion-detail", args=[second.pk])).content.decode()
    assert f"Ingestion #{second.pk} · web second.csv" in page
    assert "the same bytes were first uploaded as NAMES-nta.csv" in page
    download = client.get(reverse("evlims:raw-file", args=[world.raw_file.pk]), {"ingestion": second.pk})
    assert 'filename="web second.csv"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == NANOSIGHT.read_bytes()
    # Without the upload, or with one of other bytes, the stored file keeps the name it first came with.
    plain = client.get(reverse("evlims:raw-file", args=[world.raw_file.pk]), {"ingestion": "x"})
    assert 'filename="NAMES-nta.csv"' in plain["Content-Disposition"]

    samples = second.parsed["samples"]
    file_ingestion.file_commit(
        actor=world.staff,
        ingestion=second,
        mapping={samples[0]["name"]: world.preparation.barcode},
        dilutions={samples[0]["name"]: 200.0},
    )
    preparation = client.get(reverse("evlims:preparation-detail", args=[world.preparation.pk])).content.decode()
    assert "web second.csv" in preparation and "NAMES-nta.csv" in preparation


def test_a_second_manifest_of_identical_bytes_keeps_its_own_name(staff, project, client):
    data = csv_bytes([["barcode", "biofluid", "volume_ml"], ["SAME-1", "serum", "1"]])
    first = checked_upload(staff, project, data, name="site A.csv")
    manifests.manifest_commit(manifest=first, actor=staff)
    second = checked_upload(staff, project, data, name="site A (copy).csv")
    assert (first.original_name, second.original_name) == ("site A.csv", "site A (copy).csv")
    assert second.status == Status.INVALID and f"already committed as import {first.pk}" in second.errors[0]["message"]
    client.force_login(staff)
    page = client.get(reverse("evlims:import-detail", args=[second.pk])).content.decode()
    assert "site A (copy).csv" in page
    download = client.get(reverse("evlims:import-file", args=[second.pk]))
    assert "site A (copy).csv" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action="manifest.upload", object_id=str(second.pk)).get().changes["file"] == (
        "site A (copy).csv"
    )


# Audit events ---------------------------------------------------------------------------------------------


def test_every_instrument_upload_is_audited_previewed_failed_and_committed(world):
    preview, _ = file_ingestion.file_upload(
        actor=world.staff, lab=world.lab, data=NANOSIGHT.read_bytes() + b"\n", name="preview.csv"
    )
    [event] = AuditEvent.objects.filter(action="ingestion.preview", object_id=str(preview.pk))
    assert event.actor == world.staff and event.lab == world.lab
    assert event.changes == {
        "status": "preview",
        "file": "preview.csv",
        "raw_file": preview.raw_file_id,
        "sha256": preview.raw_file.sha256,
        "format": "nanosight",
        "samples": len(preview.parsed["samples"]),
    }
    with pytest.raises(file_ingestion.FileRejected) as refused:
        file_ingestion.file_upload(
            actor=world.staff, lab=world.lab, data="Remarks,検体 採血管\r\n".encode("shift_jis"), name="検体.csv"
        )
    failed = refused.value.ingestion
    [event] = AuditEvent.objects.filter(action="ingestion.failed", object_id=str(failed.pk))
    assert event.changes["file"] == "検体.csv" and event.changes["status"] == "failed"
    assert event.changes["error"].startswith("The file is not UTF-8")

    name = preview.parsed["samples"][0]["name"]
    file_ingestion.file_commit(
        actor=world.staff,
        ingestion=preview,
        mapping={name: world.preparation.barcode},
        dilutions={name: 1.0},
        reason="first run",
    )
    assert events_of(preview) == ["ingestion.preview", "measurements.record", "ingestion.commit"]
    commit = AuditEvent.objects.get(action="ingestion.commit", object_id=str(preview.pk))
    assert commit.changes["file"] == "preview.csv" and commit.changes["mapping"] == {name: world.preparation.barcode}
    assert commit.reason == "first run"
    assert verify_chain(AuditEvent.objects.order_by("id")) == []


def test_a_replayed_upload_writes_no_second_event(world):
    key = uuid.uuid4().hex
    data = NANOSIGHT.read_bytes() + b"\n\n\n"
    first, _ = file_ingestion.file_upload(
        actor=world.staff, lab=world.lab, data=data, name="a.csv", idempotency_key=key
    )
    again, replayed = file_ingestion.file_upload(
        actor=world.staff, lab=world.lab, data=data, name="a.csv", idempotency_key=key
    )
    assert replayed and again.pk == first.pk
    assert events_of(first) == ["ingestion.preview"]


def test_an_instrument_keys_upload_is_audited_in_the_instruments_name(world):
    with pytest.raises(file_ingestion.FileRejected) as refused:
        file_ingestion.file_upload(
            actor=None, lab=world.lab, data=b"\x00\x01binary", name="b.bin", instrument=world.instrument
        )
    failed = refused.value.ingestion
    [event] = AuditEvent.objects.filter(action="ingestion.failed", object_id=str(failed.pk))
    assert event.actor is None and event.actor_label == f"instrument:{world.instrument.name}"


def test_a_manifest_check_and_its_outcome_are_audited(staff, project):
    manifest = checked_upload(
        staff, project, csv_bytes([["barcode", "biofluid", "volume_ml", "remarks"], ["A-1", "serum", "1", "=1+1"]])
    )
    assert events_of(manifest) == ["manifest.upload", "manifest.check_started", "manifest.checked"]
    checked = AuditEvent.objects.get(action="manifest.checked", object_id=str(manifest.pk))
    assert checked.actor == staff
    assert checked.changes == {
        "file": "manifest.csv",
        "sha256": manifest.sha256,
        "status": "valid",
        "rows": 1,
        "errors": 0,
        "warnings": 1,
    }
    invalid = checked_upload(staff, project, "barcode\r\n検体\r\n".encode("shift_jis"), name="sjis.csv")
    assert AuditEvent.objects.get(action="manifest.checked", object_id=str(invalid.pk)).changes | {"sha256": ""} == {
        "file": "sjis.csv",
        "sha256": "",
        "status": "invalid",
        "rows": 0,
        "errors": 1,
        "warnings": 0,
    }


def test_a_failed_check_is_audited_in_the_name_of_whoever_ran_it(staff, project, monkeypatch):
    manifest = upload(staff, project, csv_bytes([["barcode", "biofluid", "volume_ml"], ["F-1", "serum", "1"]]))

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost its database connection")

    monkeypatch.setattr(manifests, "check_manifest", broken)
    assert validate_manifest_import(manifest.pk, staff.pk) == Status.FAILED
    failed = AuditEvent.objects.get(action="manifest.failed", object_id=str(manifest.pk))
    assert failed.actor == staff
    assert failed.changes["file"] == "manifest.csv" and failed.changes["message"].startswith("Checking stopped")
    assert verify_chain(AuditEvent.objects.order_by("id")) == []
