"""Flow cytometry pages: upload an FCS file for a preparation, see its header and warnings, the density plot
with the gates, apply gates and see the counts; calibrations are fitted from the page; another lab's file is a 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evlims.cytometry.models import FlowAcquisition, FlowCalibration
from tests.cytometry.ev_files import ev_file
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def preparation(staff, project):
    return make_preparation(staff, project, "EVP-FLOWWEB")


def _upload(client, preparation, data=None):
    body = {
        "file": SimpleUploadedFile("ev tube 1.fcs", data or ev_file(extra=[("$CYT", "CytoFLEX nano 2")])),
        "preparation": preparation.barcode,
        "role": "sample",
        "dilution_factor": "100",
    }
    return client.post("/flow/", body)


def test_upload_gate_and_see_the_counts(member_client, preparation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(member_client, preparation)
    assert response.status_code == 302
    acquisition = FlowAcquisition.objects.get()
    page = member_client.get(response["Location"]).content.decode()
    assert "CytoFLEX nano 2" in page and "20,000" in page
    assert "$CYT is given 2 times" in page  # the duplicated keyword, as a warning
    assert "<svg" in page and 'data-x="SSC-H"' in page
    gates = {
        "particle_gate": "EVs",
        "dilution_factor": "100",
        "g0_name": "EVs",
        "g0_x": "SSC-H",
        "g0_x_min": "100",
        "g1_name": "CD63+",
        "g1_x": "FL2-H",
        "g1_x_min": "1000",
        "g1_marker": "CD63",
        "g1_parent": "EVs",
    }
    gated = member_client.post(f"/flow/acquisitions/{acquisition.pk}/", gates)
    assert gated.status_code == 302
    page = member_client.get(gated["Location"]).content.decode()
    assert "16,000" in page and "8,000" in page and "50" in page
    assert "1.60 × 10⁸ particles/mL" in page
    assert "every axis is uncalibrated" in page
    prep_page = member_client.get(f"/preparations/{preparation.pk}/").content.decode()
    assert "ev tube 1.fcs" in prep_page and "1.60 × 10⁸ particles/mL" in prep_page


def test_a_gate_on_an_unknown_bound_is_refused_on_the_form(member_client, preparation):
    _upload(member_client, preparation)
    acquisition = FlowAcquisition.objects.get()
    response = member_client.post(
        f"/flow/acquisitions/{acquisition.pk}/",
        {"particle_gate": "Nope", "g0_name": "EVs", "g0_x": "SSC-H", "g0_x_min": "100"},
    )
    assert response.status_code == 400
    assert "The particle gate “Nope” is not one of the gates." in response.content.decode()


def test_a_file_that_is_not_fcs_is_refused_on_the_form(member_client, preparation):
    response = _upload(member_client, preparation, data=b"not an FCS file, a spreadsheet" * 3)
    assert response.status_code == 400
    assert "Not an FCS file" in response.content.decode()


def test_calibration_page_fits_and_lists(member_client, lab):
    body = {
        "lab": lab.pk,
        "name": "FL1 MESF",
        "kind": "fluorescence",
        "channel": "FL1-H",
        "units": "MESF",
        "beads": "Spherotech RCP-30-5A",
        "lot": "AG01",
        "calibrated_on": "2026-12-01",
        "measured": "20, 50, 500, 5000",
        "assigned": "0, 500, 5000, 50000",
    }
    assert member_client.post("/flow/calibrations/", body).status_code == 302
    assert FlowCalibration.objects.get().fit["slope"] == pytest.approx(1.0)
    scatter = body | {
        "name": "SSC size",
        "kind": "scatter",
        "channel": "SSC-H",
        "units": "nm",
        "beads": "Polystyrene 100, 200 and 300 nm",
        "measured": "300, 9000, 60000",
        "assigned": "100, 200, 300",
        "particle_index": "1.40",
        "bead_index": "1.591",
        "wavelength_nm": "488",
    }
    assert member_client.post("/flow/calibrations/", scatter).status_code == 302
    page = member_client.get("/flow/calibrations/").content.decode()
    assert "Spherotech RCP-30-5A" in page and "AG01" in page
    assert page.count('class="flow-calibration"') == 2 and page.count("<circle") == 6  # 3 beads above 0 each


def test_another_labs_file_is_not_found(member_client, outsider, other_lab):
    from evlims.cytometry import services

    theirs = services.acquisition_upload(actor=outsider, lab=other_lab, data=ev_file(), name="theirs.fcs")
    assert member_client.get(f"/flow/acquisitions/{theirs.pk}/").status_code == 404
    other = Client()
    other.force_login(outsider)
    assert other.get(f"/flow/acquisitions/{theirs.pk}/").status_code == 200
