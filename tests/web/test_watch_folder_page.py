"""The instrument's page in lab administration sets its watched folder (under the site's watch root only) and lists
the files seen there with what became of each."""

import os
import time
from pathlib import Path

import pytest
from django.urls import reverse

from evlims.core.models import AuditEvent, Role
from evlims.instruments import services
from evlims.instruments.models import Instrument
from tests.factories import member

pytestmark = pytest.mark.django_db
PLATES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "plate-reader"


@pytest.fixture
def root(tmp_path, settings):
    root = tmp_path / "watch"
    (root / "envision").mkdir(parents=True)
    settings.EVLIMS = {**getattr(settings, "EVLIMS", {}), "WATCH_ROOT": str(root)}
    return root


@pytest.fixture
def boss(lab):
    return member(lab, Role.LAB_ADMIN, username="boss")


@pytest.fixture
def reader(boss, lab):
    return services.instrument_register(actor=boss, lab=lab, name="EnVision 2105", kind="plate_reader")


def test_an_admin_sets_the_folder_and_sees_the_files_taken(client, boss, reader, root):
    client.force_login(boss)
    page = client.get(reverse("evlims:lab-admin-instrument", args=[reader.pk])).content.decode()
    assert "Watched folder" in page and str(root) in page and "No file seen yet." in page
    url = reverse("evlims:lab-admin-instrument-watch-folder", args=[reader.pk])
    response = client.post(url, {"folder": "envision", "file_format": "envision", "read": "", "reason": "Installed"})
    assert response.status_code == 302
    assert Instrument.objects.get(pk=reader.pk).watch_folder == str((root / "envision").resolve())
    assert AuditEvent.objects.filter(action="instrument.watch_folder", reason="Installed").exists()
    for name, data in (("bca.csv", (PLATES / "envision-bca.csv").read_bytes()), ("copy.csv", None)):
        path = root / "envision" / name
        path.write_bytes(data or (root / "envision" / "bca.csv").read_bytes())
        os.utime(path, (time.time() - 600, time.time() - 600))
    services.watch_all_folders()
    page = client.get(reverse("evlims:lab-admin-instrument", args=[reader.pk])).content.decode()
    assert "Duplicate, not ingested again" in page and "Same content as bca.csv" in page and "Ingested" in page


def test_a_folder_outside_the_root_is_a_form_error(client, boss, reader, root):
    client.force_login(boss)
    url = reverse("evlims:lab-admin-instrument-watch-folder", args=[reader.pk])
    response = client.post(url, {"folder": "../../../etc", "file_format": "auto"})
    assert response.status_code == 400
    assert f"The folder must lie under {root.resolve()}" in response.content.decode()
    assert Instrument.objects.get(pk=reader.pk).watch_folder == ""


def test_lab_staff_cannot_set_a_folder(client, lab, reader, root):
    client.force_login(member(lab, Role.LAB_STAFF, username="tech"))
    url = reverse("evlims:lab-admin-instrument-watch-folder", args=[reader.pk])
    assert client.post(url, {"folder": "envision", "file_format": "auto"}).status_code == 403
    assert Instrument.objects.get(pk=reader.pk).watch_folder == ""
