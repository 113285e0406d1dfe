"""Raw instrument files through the API: upload, preview, commit with a mapping, failures kept, downloads."""

import hashlib
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.models import Measurement, ParticleAnalysis
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.instruments.models import Ingestion, RawFile
from evlims.instruments.parsers import ParseError, parse_bytes
from tests.api.conftest import key_client
from tests.api.evidence import NTA_FILE
from tests.fixtures.instruments import ALL_IN_REPO, export_path, instrument_path
from tests.shared_samples import ALL_REAL

pytestmark = pytest.mark.django_db
FILES = "/api/v1/files/"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instrument-files"
PLATE_MAP = json.loads((FIXTURES / "bca-plate-map.json").read_text())
# The EnSight export reads columns 1–4 only.
ENSIGHT_PLATE_MAP = {
    **PLATE_MAP,
    "wells": {
        **{well: role for well, role in PLATE_MAP["wells"].items() if well != "G7:H8"},
        "C3:C4": {"role": "sample", "name": "EV isolate 3"},
    },
}
# Every whole export: the in-repo ones always, the real ones when present (skipped otherwise).
EXPORTS = [pytest.param("repo", relative, id=relative) for relative in ALL_IN_REPO] + [
    pytest.param("shared", relative, id=f"real:{relative}") for relative in ALL_REAL
]
PLATE_MAPS = {
    "softmax-bca.csv": PLATE_MAP,
    "ensight-bca.csv": ENSIGHT_PLATE_MAP,
    "testdata_SM.csv": PLATE_MAP,
    "testdata_PE.csv": ENSIGHT_PLATE_MAP,
}


def upload(client, path_or_bytes, name=None, key=None, **fields):
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    name = name or (path_or_bytes.name if isinstance(path_or_bytes, Path) else "upload.csv")
    body = {"file": SimpleUploadedFile(name, data, "text/csv")}
    body.update({k: json.dumps(v) if isinstance(v, dict) else v for k, v in fields.items()})
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(FILES, body, format="multipart", **headers)


def counts():
    return Measurement.objects.count(), Ingestion.objects.count(), RawFile.objects.count()


def test_the_in_repo_exports_are_present():
    assert len(ALL_IN_REPO) >= 7
    assert all(instrument_path(relative).is_file() for relative in ALL_IN_REPO)


@pytest.mark.parametrize(("origin", "relative"), EXPORTS)
def test_every_export_previews_with_its_sample_names(write_key_api, read_key_api, evidence, origin, relative):
    path = export_path(origin, relative)
    plate_map = PLATE_MAPS.get(path.name)
    options = {"plate_map": plate_map} if plate_map else {}
    expected = [s["name"] for s in parse_bytes(path.read_bytes(), **options).to_dict()["samples"]]
    assert expected, "every export holds at least one sample"
    response = upload(write_key_api, path, **options)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "preview" and body["samples"] == expected
    assert [s["name"] for s in body["parsed"]["samples"]] == expected
    assert body["raw_file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert body["instrument"] == evidence.instrument.pk and body["measurements"] == []
    again = read_key_api.get(f"/api/v1/ingestions/{body['id']}/")
    assert again.status_code == 200 and again.json()["samples"] == expected


def upload_committed_at_once(client, evidence):
    """The in-repo NTA export uploaded with its one sample mapped to the spare preparation (so committed)."""
    return upload(
        client,
        NTA_FILE,
        format="nanosight",
        mapping={"d200": evidence.spare_preparation.barcode},
        dilutions={"d200": 200},
    )


def test_upload_with_mapping_commits_at_once(write_key_api, evidence):
    before = Measurement.objects.count()
    response = upload_committed_at_once(write_key_api, evidence)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "committed"
    assert [m["preparation_barcode"] for m in body["measurements"]] == [evidence.spare_preparation.barcode]
    analysis = ParticleAnalysis.objects.get(measurement__preparation=evidence.spare_preparation)
    parsed = body["parsed"]["samples"][0]["concentration_per_ml"]
    assert analysis.concentration_per_ml == pytest.approx(parsed * 200) and analysis.dilution_factor == 200
    assert analysis.measurement.instrument == evidence.instrument and analysis.measurement.raw_file_id
    assert Measurement.objects.count() == before + 1


def test_an_uploaded_nta_file_brings_its_analyser_settings_into_the_experiment_document(write_key_api, evidence):
    preparation = evidence.spare_preparation
    response = upload(write_key_api, NTA_FILE, mapping={"d200": preparation.barcode}, dilutions={"d200": 200})
    assert response.status_code == 201, response.json()
    parsed = response.json()["parsed"]["samples"][0]["settings"]
    analysis = ParticleAnalysis.objects.get(measurement__preparation=preparation)
    assert analysis.settings == parsed
    assert (analysis.settings["shutter_ms"], analysis.settings["viscosity_cp"]) == (30, 0.9518)
    [document] = experiment_documents(preparations_with_evidence([preparation.pk])).values()
    [particle] = document["characterization"]["particle_analysis"]
    # SEC7 d200 export: five videos of 1498 frames at camera level 14, threshold 6, slider shutter 1206.
    assert particle["settings"] == {
        "camera_level": 14,
        "detection_threshold": 6,
        "shutter": 1206,
        "frames": 1498,
        "videos": 5,
        "temperature_c": 22.46,
    }
    assert "calibration" not in particle  # not in the file: a person records it


def test_the_calibration_no_export_records_is_given_at_commit(write_key_api, staff_api, evidence):
    """MISEV2023 asks how the analyser was calibrated; the file cannot say, so the upload (or the later commit)
    takes it and it reaches the experiment document with the file's own settings."""
    preparation = evidence.spare_preparation
    calibration = "100 nm polystyrene beads, checked 2026-01-05"
    at_upload = upload(
        write_key_api, NTA_FILE, mapping={"d200": preparation.barcode}, dilutions={"d200": 200}, calibration=calibration
    )
    assert at_upload.status_code == 201, at_upload.json()
    [document] = experiment_documents(preparations_with_evidence([preparation.pk])).values()
    [particle] = document["characterization"]["particle_analysis"]
    assert particle["calibration"] == calibration and particle["settings"]["camera_level"] == 14

    preview = upload(write_key_api, NTA_FILE)
    assert preview.status_code == 201 and preview.json()["status"] == "preview"
    other = evidence.preparation
    committed = staff_api.post(
        f"/api/v1/ingestions/{preview.json()['id']}/commit/",
        {"mapping": {"d200": other.barcode}, "dilutions": {"d200": 200}, "calibration": "beads, same day"},
        format="json",
    )
    assert committed.status_code == 200, committed.json()
    stored = ParticleAnalysis.objects.get(measurement__ingestion_id=preview.json()["id"])
    assert (stored.measurement.preparation, stored.calibration) == (other, "beads, same day")


def test_file_upload_retry_replays_and_writes_nothing(write_key_api, evidence):
    mapping = {"d200": evidence.spare_preparation.barcode}
    first = upload(write_key_api, NTA_FILE, key="file-1", mapping=mapping, dilutions={"d200": 200})
    after = counts()
    again = upload(write_key_api, NTA_FILE, key="file-1", mapping=mapping, dilutions={"d200": 200})
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert counts() == after
    other = upload(write_key_api, b"Some other,file\n1,2\n", key="file-1")
    assert other.status_code == 422
    assert other.json() == {"Idempotency-Key": ["This key was already used for a different request."]}
    assert counts() == after


@pytest.mark.parametrize("fixture", ["nanosight-truncated.csv", "wrong-format.csv", "binary.bin"])
def test_broken_file_is_a_400_with_the_parsers_message_and_is_kept(staff_api, evidence, fixture):
    data = (FIXTURES / fixture).read_bytes()
    try:
        parse_bytes(data)
    except ParseError as error:
        message = str(error)
    else:
        pytest.fail(f"{fixture} should not parse")
    before = Measurement.objects.count()
    response = upload(staff_api, data, name=fixture)
    assert response.status_code == 400
    body = response.json()
    assert body["file"] == [message]
    failed = Ingestion.objects.get(pk=body["ingestion"])
    assert failed.status == Ingestion.Status.FAILED and failed.error == message
    raw = RawFile.objects.get(pk=body["raw_file"])
    assert raw.file.read() == data and failed.raw_file == raw
    assert Measurement.objects.count() == before


def test_truncated_nanosight_names_the_line(staff_api, evidence):
    response = upload(staff_api, FIXTURES / "nanosight-truncated.csv", format="nanosight")
    assert response.status_code == 400
    assert "line " in response.json()["file"][0]


def test_broken_file_retry_answers_the_same(write_key_api, evidence):
    data = (FIXTURES / "nanosight-truncated.csv").read_bytes()
    first = upload(write_key_api, data, key="broken-1")
    after = counts()
    again = upload(write_key_api, data, key="broken-1")
    assert first.status_code == again.status_code == 400
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert counts() == after


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"mapping": "{not json"}, "mapping"),
        ({"mapping": "[1, 2]"}, "mapping"),
        ({"mapping": {"d200": ""}}, "mapping"),
        ({"mapping": {"d200": "EVP-1"}, "dilutions": {"d200": 0.2}}, "dilutions"),
        ({"mapping": {"d200": "EVP-1"}, "dilutions": {"other": 10}}, "dilutions"),
        ({"dilutions": {"d200": 10}}, "dilutions"),
        ({"format": "spreadsheet"}, "format"),
        ({"fit": "linear"}, "fit"),
    ],
)
def test_bad_metadata_is_refused_before_storing(staff_api, evidence, fields, error_field):
    before = counts()
    response = upload(staff_api, NTA_FILE, **fields)
    assert response.status_code == 400
    assert error_field in response.json(), response.json()
    assert counts() == before


def test_empty_file_is_refused_without_a_trace(staff_api, evidence):
    before = counts()
    response = upload(staff_api, FIXTURES / "empty.csv")
    assert response.status_code == 400 and response.json() == {"file": ["The submitted file is empty."]}
    assert counts() == before


def test_missing_file_is_refused(staff_api, evidence):
    response = staff_api.post(FILES, {"format": "auto"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_file_too_large_is_refused(staff_api, evidence, settings):
    settings.EVLIMS = {"IMPORT_MAX_BYTES": 100}
    before = counts()
    response = upload(staff_api, NTA_FILE)
    assert response.status_code == 400 and "limit" in response.json()["file"][0]
    assert counts() == before


def test_mapping_to_another_labs_preparation_keeps_the_preview(write_key_api, evidence, their_evidence):
    before = Measurement.objects.count()
    response = upload(
        write_key_api, NTA_FILE, mapping={"d200": their_evidence.preparation.barcode}, dilutions={"d200": 200}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["mapping"] == {"d200": [f"No preparation {their_evidence.preparation.barcode} in this lab."]}
    ingestion = Ingestion.objects.get(pk=body["ingestion"])
    assert ingestion.status == Ingestion.Status.PREVIEW
    assert Measurement.objects.count() == before
    # Corrected, the same ingestion is committed.
    response = key_client(evidence.both_key).post(
        f"/api/v1/ingestions/{ingestion.pk}/commit/",
        {"mapping": {"d200": evidence.preparation.barcode}, "dilutions": {"d200": 200}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "committed"
    assert Measurement.objects.count() == before + 1


def test_commit_of_a_previewed_file_by_a_person(staff_api, evidence):
    path = f"/api/v1/ingestions/{evidence.file_ingestion.pk}/commit/"
    response = staff_api.post(path, {"mapping": {"nope": evidence.preparation.barcode}}, format="json")
    assert response.status_code == 400 and response.json() == {"mapping": {"nope": ["Not a sample of this file."]}}
    response = staff_api.post(path, {"mapping": {}}, format="json")
    assert response.status_code == 400 and "mapping" in response.json()
    # The file records no dilution: the commit names the field and what the sample's name suggests.
    response = staff_api.post(path, {"mapping": {"d200": evidence.preparation.barcode}}, format="json")
    assert response.status_code == 400
    [message] = response.json()["dilutions"]
    assert "records no dilution" in message and "undiluted" in message and "suggests 200" in message
    assert Ingestion.objects.get(pk=evidence.file_ingestion.pk).status == Ingestion.Status.PREVIEW
    undiluted = {"mapping": {"d200": evidence.preparation.barcode}, "dilutions": {"d200": "undiluted"}}
    response = staff_api.post(path, undiluted, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "committed" and len(body["measurements"]) == 1
    analysis = Measurement.objects.get(pk=body["measurements"][0]["id"]).particle
    assert analysis.dilution_factor == 1.0 and not analysis.dilution_applied_in_file
    # Committing again changes nothing.
    again = staff_api.post(path, undiluted, format="json")
    assert again.status_code == 200 and again.json()["measurements"] == body["measurements"]


def test_failed_ingestion_cannot_be_committed(staff_api, evidence):
    failed = upload(staff_api, FIXTURES / "wrong-format.csv").json()["ingestion"]
    response = staff_api.post(
        f"/api/v1/ingestions/{failed}/commit/", {"mapping": {"d200": evidence.preparation.barcode}}, format="json"
    )
    assert response.status_code == 400 and "ingestion" in response.json()


def test_raw_file_download_is_an_attachment_of_opaque_bytes(read_key_api, evidence):
    response = read_key_api.get(f"/api/v1/raw-files/{evidence.raw_file.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == NTA_FILE.read_bytes()
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_ingestion_list_filters_by_status(staff_api, evidence):
    rows = staff_api.get("/api/v1/ingestions/?status=preview").json()["results"]
    assert [row["id"] for row in rows] == [evidence.file_ingestion.pk]
    assert rows[0]["format"] == "nanosight" and rows[0]["raw_file"]["id"] == evidence.raw_file.pk
    assert staff_api.get("/api/v1/ingestions/?status=lost").status_code == 400
