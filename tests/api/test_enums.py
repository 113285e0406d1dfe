"""Enumerations refuse values they do not offer, naming the accepted ones; nothing becomes "other" silently."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.models import Measurement
from evlims.characterization.payloads import MARKER_METHODS
from evlims.web.forms.results import MARKER_METHODS as FORM_MARKER_METHODS
from tests.api.evidence import NTA_FILE, marker, particle

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _accepted(message: str) -> list[str]:
    return message.split("accepted values: ", 1)[1].rstrip(".").split(", ")


def test_an_unknown_choice_lists_the_accepted_values(staff_api, ours):
    response = staff_api.post(
        f"{API}/samples/", {"project": ours.project.pk, "biofluid": "lymph", "volume_ml": "1.5"}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["biofluid"]
    assert message.startswith('"lymph" is not one of the accepted values: ')
    assert {"serum", "blood_plasma", "other"} <= set(_accepted(message))


def test_a_choice_inside_a_list_names_its_position(admin_api, evidence):
    response = admin_api.post(
        f"{API}/instruments/{evidence.instrument.pk}/keys/", {"scopes": ["read", "admin"]}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["scopes"]["1"]
    assert set(_accepted(message)) == {"read", "results:write"}


def test_a_choice_in_a_result_document_names_its_path(write_key_api, evidence):
    document = particle(evidence.preparation.barcode, technique="spr")
    response = write_key_api.post(f"{API}/results/", {"results": [document]}, format="json")
    assert response.status_code == 400
    [message] = response.json()["results[0].particle.technique"]
    assert message.startswith('"spr" is not one of the accepted values: nta, zetaview')


def test_a_choice_in_a_form_field_of_an_upload(staff_api, evidence):
    body = {"file": SimpleUploadedFile(NTA_FILE.name, NTA_FILE.read_bytes(), "text/csv"), "format": "nanosite"}
    response = staff_api.post(f"{API}/files/", body, format="multipart")
    assert response.status_code == 400
    assert {"auto", "nanosight", "generic"} <= set(_accepted(response.json()["format"][0]))


@pytest.mark.parametrize("method", ["western blot", "wb", "flow", "ELISA"])
def test_an_unknown_marker_method_is_refused_not_made_other(write_key_api, evidence, method):
    document = marker(evidence.preparation.barcode) | {"method": method}
    before = Measurement.objects.count()
    response = write_key_api.post(f"{API}/results/", {"results": [document]}, format="json")
    assert response.status_code == 400
    [message] = response.json()["results[0].method"]
    assert _accepted(message) == list(MARKER_METHODS)
    assert Measurement.objects.count() == before


@pytest.mark.parametrize("method", MARKER_METHODS)
def test_every_marker_method_offered_is_stored_as_sent(write_key_api, evidence, method):
    document = marker(evidence.preparation.barcode) | {"method": method}
    response = write_key_api.post(f"{API}/results/", {"results": [document]}, format="json")
    assert response.status_code == 201, response.json()
    [measurement] = response.json()["measurements"]
    assert Measurement.objects.get(pk=measurement).method == method


def test_the_result_form_offers_the_marker_methods_the_document_accepts():
    assert set(FORM_MARKER_METHODS) == set(MARKER_METHODS)
