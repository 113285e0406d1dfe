"""The flow cytometry API: upload an FCS file for a preparation (header and warnings answered at once), gate it
(counts per gate, concentration of the original sample), record a bead calibration; refusals are 400s naming the
field or keyword, another lab's records are 404s."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.cytometry.models import FlowAcquisition
from tests.cytometry.ev_files import GATES, ev_file
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def preparation(staff, project):
    return make_preparation(staff, project, "EVP-FLOWAPI")


def _upload(client, preparation, data=None, **fields):
    body = {"file": SimpleUploadedFile("ev.fcs", data or ev_file()), "preparation": preparation.barcode} | fields
    return client.post("/api/v1/flow/acquisitions/", body, format="multipart")


def test_upload_then_gate_through_the_api(staff_api, preparation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(staff_api, preparation, dilution_factor=100)
    assert response.status_code == 201, response.json()
    acquisition = response.json()
    assert acquisition["event_count"] == 20_000 and acquisition["volume_ul"] == 10.0
    assert acquisition["header"]["parameters"][1]["name"] == "FL1-H" and acquisition["preparation"] == "EVP-FLOWAPI"
    detail = staff_api.get(f"/api/v1/flow/acquisitions/{acquisition['id']}/").json()
    assert detail["status"] == "read"  # the task ran (eagerly here, once the upload committed)
    gated = staff_api.post(
        f"/api/v1/flow/acquisitions/{acquisition['id']}/results/",
        {"gates": GATES, "particle_gate": "EVs"},
        format="json",
    )
    assert gated.status_code == 201, gated.json()
    result = gated.json()
    assert {c["gate"]: c["events"] for c in result["counts"]} == {
        "EVs": 16_000,
        "CD9+": 4_000,
        "CD63+": 8_000,
        "CD9+CD63+": 4_000,
    }
    assert result["concentration_per_ml"] == pytest.approx(1.6e8) and result["measurement"]
    assert staff_api.get(f"/api/v1/flow/results/{result['id']}/").json()["particle_gate"] == "EVs"


def test_a_file_that_is_not_fcs_is_kept_and_refused_naming_why(staff_api, preparation):
    response = _upload(staff_api, preparation, data=b"Date,Concentration\n2026-01-01,5\n" * 4)
    assert response.status_code == 400
    body = response.json()
    assert "Not an FCS file" in body["file"][0]
    assert FlowAcquisition.objects.get(pk=body["acquisition"]).status == "failed"


def test_a_gate_on_an_unknown_parameter_is_a_400(staff_api, preparation):
    acquisition = _upload(staff_api, preparation).json()
    response = staff_api.post(
        f"/api/v1/flow/acquisitions/{acquisition['id']}/results/",
        {"gates": [{"name": "EVs", "x": "FSC-A", "x_min": 1}], "particle_gate": "EVs"},
        format="json",
    )
    assert response.status_code == 400 and "FSC-A" in str(response.json())


def test_a_calibration_is_fitted_and_stored(staff_api):
    body = {
        "name": "FL1 MESF",
        "kind": "fluorescence",
        "channel": "FL1-H",
        "units": "MESF",
        "beads": "Spherotech RCP-30-5A",
        "lot": "AG01",
        "calibrated_on": "2026-12-01",
        "measured": [20, 50, 500, 5000],
        "assigned": [0, 500, 5000, 50000],
    }
    response = staff_api.post("/api/v1/flow/calibrations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["fit"]["slope"] == pytest.approx(1.0)
    refused = staff_api.post("/api/v1/flow/calibrations/", body | {"measured": [1, 2]}, format="json")
    assert refused.status_code == 400


def test_another_labs_acquisition_is_not_found(staff_api, outsider, other_lab):
    from evlims.cytometry import services

    theirs = services.acquisition_upload(actor=outsider, lab=other_lab, data=ev_file(), name="theirs.fcs")
    assert staff_api.get(f"/api/v1/flow/acquisitions/{theirs.pk}/").status_code == 404
    response = staff_api.post(
        f"/api/v1/flow/acquisitions/{theirs.pk}/results/", {"gates": GATES, "particle_gate": "EVs"}, format="json"
    )
    assert response.status_code == 404
