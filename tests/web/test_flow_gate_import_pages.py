"""Importing gates on an FCS file's page: a FlowJo workspace or Gating-ML file is applied and the counts say which
gate and the file each came from; a file on a channel this FCS file lacks is a form error naming it; a file
calibrated by FCMPASS ($PnCALIBRATION) shows its axes in the file's units."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.cytometry import services
from evlims.cytometry.models import FlowResult
from tests.cytometry.ev_files import ev_file

pytestmark = pytest.mark.django_db
GATES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "gates"


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


def _acquisition(staff, lab, data=None):
    return services.acquisition_upload(
        actor=staff, lab=lab, data=data or ev_file(), name="ev_sample.fcs", dilution_factor=100
    )


def _import(client, acquisition, name, data):
    body = {"form": "import", "gates_file": SimpleUploadedFile(name, data), "particle_gate": "EVs"}
    return client.post(f"/flow/acquisitions/{acquisition.pk}/", body)


def test_the_page_offers_the_import_and_applies_a_workspace(member_client, staff, lab):
    acquisition = _acquisition(staff, lab)
    page = member_client.get(f"/flow/acquisitions/{acquisition.pk}/").content.decode()
    assert "Import gates" in page and "Gate file" in page
    response = _import(member_client, acquisition, "lab.wsp", (GATES_DIR / "ev_workspace.wsp").read_bytes())
    assert response.status_code == 302
    result = FlowResult.objects.get()
    assert result.source == "Imported from FlowJo workspace lab.wsp"
    page = member_client.get(f"/flow/acquisitions/{acquisition.pk}/").content.decode()
    assert "Imported from lab.wsp" in page and "16,000" in page and "CD9+ CD63+" in page


def test_an_unknown_channel_is_a_form_error_naming_it(member_client, staff, lab):
    acquisition = _acquisition(staff, lab)
    data = (GATES_DIR / "ev_gates.gatingml.xml").read_bytes().replace(b'"SSC-H"', b'"FSC-A"')
    response = _import(member_client, acquisition, "g.xml", data)
    assert response.status_code == 400
    assert "“FSC-A”, which the FCS file does not have" in response.content.decode()
    assert not FlowResult.objects.exists()


def test_the_typed_gates_still_apply_beside_the_import_form(member_client, staff, lab):
    acquisition = _acquisition(staff, lab)
    body = {"g0_name": "EVs", "g0_x": "SSC-H", "g0_x_min": "100", "particle_gate": "EVs"}
    assert member_client.post(f"/flow/acquisitions/{acquisition.pk}/", body).status_code == 302
    assert FlowResult.objects.get().source == "Drawn in evlims"


def test_a_file_calibrated_by_fcmpass_shows_its_units(member_client, staff, lab):
    acquisition = _acquisition(staff, lab, ev_file(extra=[("$P3CALIBRATION", "0.5,MESF")]))
    services.result_record(
        actor=staff, acquisition=acquisition, gates=[{"name": "EVs", "x": "SSC-H", "x_min": 100}], particle_gate="EVs"
    )
    page = member_client.get(f"/flow/acquisitions/{acquisition.pk}/").content.decode()
    assert "FL2-H in MESF (calibrated in the file)" in page
