"""POST /measurements/{id}/correct/ and /void/: the new version, the old kept with its reason, 400s naming the
field, 403 for those who may not, 404 for another lab's result; the detail shows the status; lists show current
results only. And a marker outside the vocabulary: 400 with the closest symbols unless protein_confirmed."""

import pytest

from evlims.characterization.models import Measurement
from evlims.characterization.services import record_results
from evlims.core.models import Role
from tests.api.conftest import key_client
from tests.api.evidence import marker, protein
from tests.factories import member

pytestmark = pytest.mark.django_db
API = "/api/v1"


def correct_url(measurement):
    return f"{API}/measurements/{measurement.pk}/correct/"


def void_url(measurement):
    return f"{API}/measurements/{measurement.pk}/void/"


@pytest.fixture
def recorded(staff, lab, evidence):
    """A protein and a CD63 result the staff member typed on the spare (not reviewed) preparation."""
    barcode = evidence.spare_preparation.barcode
    return record_results(actor=staff, lab=lab, documents=[protein(barcode), marker(barcode, "CD63")])


def test_correcting_answers_the_new_version_and_keeps_the_old(staff_api, recorded, evidence):
    old = recorded[0]
    document = protein(evidence.spare_preparation.barcode) | {
        "protein": {"assay": "bca", "concentration_ug_per_ml": 125.0}
    }
    response = staff_api.post(correct_url(old), document | {"reason": "Dilution not applied"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "current" and body["supersedes"] == old.pk and body["superseded_by"] is None
    assert body["protein"]["concentration_ug_per_ml"] == 125.0 and body["values"] == {"protein_ug_per_ml": 125.0}
    history = staff_api.get(f"{API}/measurements/{old.pk}/").json()
    assert history["status"] == "superseded" and history["superseded_by"] == body["id"]
    assert history["status_reason"] == "Dilution not applied" and history["status_changed_by"] == "staff"


def test_the_kind_and_subject_may_be_left_out(staff_api, recorded):
    body = {"method": "bca", "protein": {"assay": "bca", "concentration_ug_per_ml": 99.0}, "reason": "typo"}
    response = staff_api.post(correct_url(recorded[0]), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["preparation"] == recorded[0].preparation_id


def test_voiding_answers_the_voided_result_and_lists_drop_it(staff_api, recorded, evidence):
    cd63 = recorded[1]
    response = staff_api.post(void_url(cd63), {"reason": "Antibody lot recalled"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "voided" and response.json()["status_reason"] == "Antibody lot recalled"
    listed = staff_api.get(f"{API}/measurements/?preparation={evidence.spare_preparation.pk}").json()["results"]
    assert [m["id"] for m in listed] == [recorded[0].pk]
    assert staff_api.get(f"{API}/measurements/{cd63.pk}/").json()["status"] == "voided"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "reason", "Say why the result is voided"),
        ({"reason": ""}, "reason", "Say why the result is voided"),
        ({"reason": "x", "why": "y"}, "why", "Unknown field"),
    ],
)
def test_void_refusals_name_the_field(staff_api, recorded, body, field, words):
    response = staff_api.post(void_url(recorded[1]), body, format="json")
    assert response.status_code == 400
    assert words.lower() in response.json()[field][0].lower()
    assert Measurement.objects.filter(pk=recorded[1].pk).exists()


def test_correct_refusals_name_the_field(staff_api, recorded, evidence):
    barcode = evidence.spare_preparation.barcode
    cases = [
        (marker(barcode, "CD63"), "reason", "Say why the result is corrected"),
        (marker(barcode, "CD-63") | {"reason": "typo"}, "marker.protein", "Did you mean CD63?"),
        (marker(barcode, "CD63") | {"reason": "typo", "colour": "red"}, "colour", "Unknown field"),
        (protein(barcode) | {"reason": "typo"}, "kind", "same kind"),
        (marker("EVP-NOT-IT", "CD9") | {"reason": "typo"}, "preparation", "same subject"),
    ]
    for body, field, words in cases:
        response = staff_api.post(correct_url(recorded[1]), body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert words.lower() in " ".join(response.json()[field]).lower(), response.json()
    assert Measurement.all_versions.filter(preparation=evidence.spare_preparation).count() == 2


def test_a_superseded_result_cannot_be_changed_again(staff_api, recorded):
    staff_api.post(void_url(recorded[1]), {"reason": "first"}, format="json")
    response = staff_api.post(void_url(recorded[1]), {"reason": "second"}, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == ["This result is voided already: only the current result can be voided."]


def test_who_may_not_gets_403_and_another_lab_404(lab, recorded, qa_api, evidence, their_evidence, staff_api):
    from rest_framework.test import APIClient

    colleague = APIClient()
    colleague.force_login(member(lab, Role.LAB_STAFF, username="colleague"))
    for client in (qa_api, colleague, key_client(evidence.both_key)):
        assert client.post(void_url(recorded[1]), {"reason": "x"}, format="json").status_code == 403
    assert staff_api.post(void_url(their_evidence.measurement), {"reason": "x"}, format="json").status_code == 404
    assert Measurement.objects.filter(pk=recorded[1].pk).exists()


def test_a_lab_admin_may_void_what_an_instrument_posted(admin_api, staff_api, evidence):
    posted = evidence.measurement
    assert posted.recorded_by is None
    assert staff_api.post(void_url(posted), {"reason": "x"}, format="json").status_code == 403
    response = admin_api.post(void_url(posted), {"reason": "Wrong tube loaded"}, format="json")
    assert response.status_code == 200 and response.json()["status_changed_by"] == "admin"


def test_posted_markers_outside_the_vocabulary_are_refused_with_suggestions(staff_api, evidence):
    barcode = evidence.spare_preparation.barcode
    for typed, suggestion in [("CD-63", "CD63"), ("cd 9", "CD9"), ("TSG-101", "TSG101")]:
        response = staff_api.post(f"{API}/results/", {"results": [marker(barcode, typed)]}, format="json")
        assert response.status_code == 400, response.json()
        message = response.json()["results[0].marker.protein"][0]
        assert message.startswith(f"{typed} is not in the marker vocabulary. Did you mean {suggestion}?")
        assert '"protein_confirmed": true' in message
    confirmed = marker(barcode, "CD-63", protein_confirmed=True)
    response = staff_api.post(f"{API}/results/", {"results": [confirmed]}, format="json")
    assert response.status_code == 201, response.json()
    stored = Measurement.objects.get(pk=response.json()["measurements"][0])
    assert stored.marker.protein == "CD-63" and stored.marker.misev_category == ""


def test_known_symbols_and_aliases_post_as_before(staff_api, evidence):
    barcode = evidence.spare_preparation.barcode
    documents = [marker(barcode, "cd63"), marker(barcode, "Alix"), marker(barcode, "Cytochrome C")]
    response = staff_api.post(f"{API}/results/", {"results": documents}, format="json")
    assert response.status_code == 201, response.json()
    stored = Measurement.objects.filter(pk__in=response.json()["measurements"]).order_by("id")
    assert [m.marker.protein for m in stored] == ["CD63", "PDCD6IP", "CYCS"]


def test_the_schema_documents_both_endpoints_with_examples(staff_api):
    schema = staff_api.get(f"{API}/schema/?format=json").json()
    correct = schema["paths"]["/api/v1/measurements/{id}/correct/"]["post"]
    void = schema["paths"]["/api/v1/measurements/{id}/void/"]["post"]
    assert {"201", "400", "403", "404"} <= set(correct["responses"])
    assert {"200", "400", "403", "404"} <= set(void["responses"])
    assert correct["requestBody"]["content"]["application/json"]["examples"]
    assert void["requestBody"]["content"]["application/json"]["examples"]
    detail = schema["components"]["schemas"]["MeasurementDetailOutput"]["properties"]
    assert {"status", "supersedes", "superseded_by", "status_reason"} <= set(detail)
    marker_part = schema["components"]["schemas"]["MarkerPayloadRequest"]["properties"]
    assert "protein_confirmed" in marker_part
