"""Imported gates through the API: a Gating-ML 2.0 file or FlowJo workspace posted for an FCS file answers the
result with each count naming its gate and the file; a file with an unknown channel is a 400 naming it. Where
the file is shared (MIFlowCyt-EV's data sharing) is recorded through ``data-sharing``."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.cytometry import services
from tests.cytometry.ev_files import ev_file
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db
GATES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "gates"


@pytest.fixture
def acquisition(staff, lab, project):
    preparation = make_preparation(staff, project, "EVP-GMLAPI")
    return services.acquisition_upload(
        actor=staff, lab=lab, data=ev_file(), name="ev_sample.fcs", preparation=preparation, dilution_factor=100
    )


def _post(client, acquisition, name, data, **fields):
    body = {"gates_file": SimpleUploadedFile(name, data)} | fields
    return client.post(f"/api/v1/flow/acquisitions/{acquisition.pk}/imported-gates/", body, format="multipart")


@pytest.mark.parametrize("name", ["ev_gates.gatingml.xml", "ev_workspace.wsp"])
def test_imported_gates_answer_counts_naming_gate_and_file(staff_api, acquisition, name):
    response = _post(staff_api, acquisition, name, (GATES_DIR / name).read_bytes(), particle_gate="EVs")
    assert response.status_code == 201, response.json()
    result = response.json()
    counts = {c["gate"]: c for c in result["counts"]}
    assert counts["EVs"]["events"] == 16_000 and counts["CD63+"]["percent_of_parent"] == 50.0
    assert {c["source"] for c in result["counts"]} == {name}
    assert name in result["source"] and result["concentration_per_ml"] == pytest.approx(1.6e8)


def test_an_unknown_channel_is_a_400_naming_it(staff_api, acquisition):
    data = (GATES_DIR / "ev_gates.gatingml.xml").read_bytes().replace(b'"SSC-H"', b'"FSC-A"')
    response = _post(staff_api, acquisition, "g.xml", data)
    assert response.status_code == 400
    assert "FSC-A" in response.json()["gates_file"][0]


def test_hostile_xml_is_a_400(staff_api, acquisition):
    data = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    response = _post(staff_api, acquisition, "g.xml", data)
    assert response.status_code == 400 and "DTD" in response.json()["gates_file"][0]


def test_another_labs_acquisition_is_not_found(staff_api, outsider, other_lab):
    theirs = services.acquisition_upload(actor=outsider, lab=other_lab, data=ev_file(), name="theirs.fcs")
    data = (GATES_DIR / "ev_gates.gatingml.xml").read_bytes()
    assert _post(staff_api, theirs, "g.xml", data).status_code == 404


def test_where_the_file_is_shared_is_recorded(staff_api, acquisition):
    url = f"/api/v1/flow/acquisitions/{acquisition.pk}/data-sharing/"
    body = {"data_repository": "FlowRepository", "data_accession": "FR-FCM-Z2ZY"}
    response = staff_api.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data_url"] == "https://flowrepository.org/id/FR-FCM-Z2ZY"
    detail = staff_api.get(f"/api/v1/flow/acquisitions/{acquisition.pk}/").json()
    assert detail["data_accession"] == "FR-FCM-Z2ZY"
    refused = staff_api.post(url, {"data_repository": "FlowRepository", "data_accession": "nope"}, format="json")
    assert refused.status_code == 400 and "FlowRepository id" in refused.json()["data_accession"][0]
