"""A manifest or instrument file in an encoding the LIMS cannot read without guessing (Shift-JIS, GB2312, UTF-16
without a byte-order mark) is refused with a message saying how to save it, through the services, the web pages
and the API, and writes no sample or result. Windows-1252 files keep working."""

import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.characterization.models import Measurement
from evlims.core.encodings import REFUSAL
from evlims.instruments.models import Ingestion
from evlims.samples.models import ManifestImport, Sample

from .conftest import checked_upload

Status = ManifestImport.Status
NANOSIGHT = Path(__file__).resolve().parents[1] / "fixtures" / "instrument-files" / "nanosight-failed-capture.csv"


def manifest_text(remark: str) -> str:
    return (
        "barcode,external_id,biofluid,volume_ml,tube_type,remarks\r\n"
        f"ENC-1,検体1,serum,1.5,採血管,{remark}\r\n"
        f"ENC-2,,urine,2,,{remark}\r\n"
    )


# Generated here, never stored: each is what a spreadsheet on a Japanese or Chinese Windows PC writes.
ENCODED = {
    "shift_jis": manifest_text("溶血なし 冷蔵保存").encode("shift_jis"),
    "gb2312": manifest_text("无溶血 冷藏").replace("検体1", "样本一").replace("採血管", "采血管").encode("gb2312"),
    "utf-16-no-bom": manifest_text("溶血なし").encode("utf-16-le"),
    "utf-16be-no-bom": manifest_text("溶血なし").encode("utf-16-be"),
}


@pytest.mark.parametrize("name", ENCODED)
def test_a_manifest_in_another_encoding_is_refused_and_registers_nothing(staff, project, name):
    manifest = checked_upload(staff, project, ENCODED[name])
    assert manifest.status == Status.INVALID
    [refusal] = manifest.errors
    assert (refusal["row"], refusal["severity"]) == (None, "error")
    assert refusal["message"].startswith(REFUSAL)
    assert not Sample.objects.exists()


def test_the_same_manifest_saved_as_utf8_keeps_its_japanese_text(staff, project):
    from evlims.samples.services import manifests

    manifest = checked_upload(staff, project, manifest_text("溶血なし 冷蔵保存").encode("utf-8"))
    assert manifest.status == Status.VALID, manifest.errors
    manifests.manifest_commit(manifest=manifest, actor=staff)
    assert Sample.objects.get(barcode="ENC-1").remarks == "溶血なし 冷蔵保存"


def test_a_windows_1252_manifest_is_still_read(staff, project):
    from evlims.samples.services import manifests

    text = "barcode,biofluid,volume_ml,remarks\r\nW-1,serum,1.5,Hämolyse: keine; Größe 10 µL bei –80 °C\r\n"
    manifest = checked_upload(staff, project, text.encode("cp1252"))
    assert manifest.status == Status.VALID, manifest.errors
    manifests.manifest_commit(manifest=manifest, actor=staff)
    assert Sample.objects.get(barcode="W-1").remarks == "Hämolyse: keine; Größe 10 µL bei –80 °C"


def test_the_import_page_shows_the_refusal(client, staff, project):
    client.force_login(staff)
    response = client.post(
        reverse("evlims:import-upload"),
        {"project": project.pk, "file": SimpleUploadedFile("検体.csv", ENCODED["shift_jis"])},
    )
    manifest = ManifestImport.objects.get()
    assert response.status_code == 302 and manifest.status == Status.INVALID
    page = client.get(response["Location"]).content.decode()
    assert "save it as UTF-8 (CSV UTF-8) and upload it again" in page
    assert 'id="import-preview"' not in page
    assert not Sample.objects.exists()


# Instrument files ----------------------------------------------------------------------------------------


def nanosight_in(codec: str) -> bytes:
    text = NANOSIGHT.read_text(encoding="utf-8").replace("Remarks,,", "Remarks,血漿サンプル 冷蔵保存,")
    return text.encode(codec)


def test_the_api_refuses_a_shift_jis_instrument_file_with_400(staff, lab):
    api = APIClient()
    api.force_login(staff)
    response = api.post(
        "/api/v1/files/",
        {"file": SimpleUploadedFile("NTA 検体.csv", nanosight_in("shift_jis"), "text/csv"), "lab": lab.pk},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["file"][0].startswith(REFUSAL)
    failed = Ingestion.objects.get(pk=body["ingestion"])
    assert failed.status == Ingestion.Status.FAILED and failed.error.startswith(REFUSAL)
    assert failed.raw_file_id == body["raw_file"]
    assert not Measurement.objects.exists()
    # The same export saved as UTF-8 is previewed.
    response = api.post(
        "/api/v1/files/",
        {"file": SimpleUploadedFile("NTA.csv", nanosight_in("utf-8"), "text/csv"), "lab": lab.pk},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 201 and response.json()["status"] == "preview"


def test_the_upload_page_refuses_a_gb2312_instrument_file_with_a_form_error(client, staff, lab):
    client.force_login(staff)
    data = NANOSIGHT.read_text(encoding="utf-8").replace("Remarks,,", "Remarks,血浆样本 冷冻保存,").encode("gb2312")
    response = client.post(
        reverse("evlims:result-upload"),
        {
            "lab": lab.pk,
            "file_format": "auto",
            "upload_token": uuid.uuid4().hex,
            "file": SimpleUploadedFile("n.csv", data),
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "save it as UTF-8 (CSV UTF-8) and upload it again" in page and 'id="upload-kept"' in page
    assert Ingestion.objects.get().status == Ingestion.Status.FAILED
    assert not Measurement.objects.exists()
