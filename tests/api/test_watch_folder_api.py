"""Configuring an instrument's watched folder through the API: lab admins only, under the site's watch root only,
audited; a file then dropped there is the instrument's ingestion, listed at /ingestions/. Gen5 and EnVision files
are uploaded like any other, with the absorbance plate named by ``read``."""

import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from evlims.core.models import AuditEvent
from evlims.instruments.models import Instrument
from evlims.instruments.services import instrument_register, watch_all_folders

pytestmark = pytest.mark.django_db
API = "/api/v1"
PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"


@pytest.fixture
def root(tmp_path, settings):
    root = tmp_path / "watch"
    (root / "synergy").mkdir(parents=True)
    settings.EVLIMS = {**getattr(settings, "EVLIMS", {}), "WATCH_ROOT": str(root)}
    return root


@pytest.fixture
def reader(admin, lab):
    return instrument_register(actor=admin, lab=lab, name="Synergy H1", kind="plate_reader")


def test_admin_sets_the_folder_and_a_dropped_file_is_listed_as_the_instruments_ingestion(admin_api, reader, root):
    response = admin_api.post(
        f"{API}/instruments/{reader.pk}/watch-folder/",
        {"folder": "synergy", "format": "gen5", "read": "562", "reason": "Reader installed"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["watch_folder"] == str((root / "synergy").resolve())
    assert (body["watch_format"], body["watch_read"], body["watch_plate_layout"]) == ("gen5", "562", None)
    assert AuditEvent.objects.filter(action="instrument.watch_folder", reason="Reader installed").exists()
    path = root / "synergy" / "BCA.txt"
    path.write_bytes((PLATES / "gen5-bca-two-reads.txt").read_bytes())
    os.utime(path, (time.time() - 600, time.time() - 600))
    watch_all_folders()
    listed = admin_api.get(f"{API}/ingestions/").json()["results"]
    assert [(item["uploaded_name"], item["status"], item["instrument"]) for item in listed] == [
        ("BCA.txt", "preview", reader.pk)
    ]


@pytest.mark.parametrize("folder", ["/etc", "../../../../etc", "synergy/../..", "not-there"])
def test_a_folder_outside_the_root_is_refused_with_400(admin_api, reader, root, folder):
    response = admin_api.post(f"{API}/instruments/{reader.pk}/watch-folder/", {"folder": folder}, format="json")
    assert response.status_code == 400 and "watch_folder" in response.json(), response.json()
    assert Instrument.objects.get(pk=reader.pk).watch_folder == ""


def test_staff_may_not_set_a_folder_and_other_labs_do_not_see_the_instrument(staff_api, reader, root, other_admin):
    response = staff_api.post(f"{API}/instruments/{reader.pk}/watch-folder/", {"folder": "synergy"}, format="json")
    assert response.status_code == 403
    other = APIClient()
    other.force_login(other_admin)
    response = other.post(f"{API}/instruments/{reader.pk}/watch-folder/", {"folder": "synergy"}, format="json")
    assert response.status_code == 404
    assert Instrument.objects.get(pk=reader.pk).watch_folder == ""


def test_bad_format_and_unknown_fields_are_refused(admin_api, reader, root):
    url = f"{API}/instruments/{reader.pk}/watch-folder/"
    assert admin_api.post(url, {"folder": "synergy", "format": "pdf"}, format="json").status_code == 400
    response = admin_api.post(url, {"folder": "synergy", "path": "/etc"}, format="json")
    assert response.status_code == 400 and "path" in response.json()


def test_stop_watching(admin_api, reader, root):
    url = f"{API}/instruments/{reader.pk}/watch-folder/"
    admin_api.post(url, {"folder": "synergy"}, format="json")
    response = admin_api.post(url, {"folder": "", "reason": "Reader retired"}, format="json")
    assert response.status_code == 200 and response.json()["watch_folder"] == ""


def test_gen5_and_envision_files_upload_with_the_read_named(staff_api, lab):
    data = (PLATES / "gen5-results-decimal-comma.txt").read_bytes()

    def post(**fields):
        return staff_api.post(
            f"{API}/files/",
            {"file": SimpleUploadedFile("bca.txt", data), "lab": lab.pk, **fields},
            format="multipart",
        )

    refused = post()
    assert refused.status_code == 400 and "2 absorbance plates in the file" in str(refused.json())
    taken = post(read="660")
    assert taken.status_code in (200, 201), taken.json()
    assert taken.json()["status"] == "preview"
    counts = post(read="Concentration")
    assert counts.status_code == 400 and "calculated by Gen5" in str(counts.json())


def test_the_files_seen_are_listed_with_what_became_of_them(admin_api, staff_api, reader, root, other_admin):
    admin_api.post(f"{API}/instruments/{reader.pk}/watch-folder/", {"folder": "synergy"}, format="json")
    data = (PLATES / "gen5-384.txt").read_bytes()
    for name in ("plate.txt", "plate copy.txt"):
        path = root / "synergy" / name
        path.write_bytes(data)
        os.utime(path, (time.time() - 600, time.time() - 600))
    watch_all_folders()
    response = staff_api.get(f"{API}/instruments/{reader.pk}/watched-files/")
    assert response.status_code == 200
    listed = {item["name"]: item for item in response.json()}
    assert listed["plate.txt"]["status"] == "ingested" and listed["plate copy.txt"]["status"] == "duplicate"
    assert listed["plate copy.txt"]["ingestion"] == listed["plate.txt"]["ingestion"] is not None
    assert listed["plate.txt"]["size_bytes"] == len(data)
    other = APIClient()
    other.force_login(other_admin)
    assert other.get(f"{API}/instruments/{reader.pk}/watched-files/").status_code == 404
