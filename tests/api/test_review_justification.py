"""POST /reviews/: a preparation with mandatory failures needs a justification (400 without)."""

from evlims.compliance import selectors, services
from evlims.compliance.models import Review

API = "/api/v1"


def test_submission_without_a_justification_is_a_400(staff_api, evidence):
    preparation = evidence.spare_preparation
    services.evaluate_preparations([preparation.pk])
    preparation.refresh_from_db()
    assert selectors.mandatory_failures(preparation.evaluation.report)
    response = staff_api.post(f"{API}/reviews/", {"preparation": preparation.pk}, format="json")
    assert response.status_code == 400
    assert "Say why it should be reviewed as it is" in response.json()["justification"][0]
    assert not Review.objects.filter(preparation=preparation).exists()


def test_submission_with_a_justification_is_stored_and_read_back(staff_api, evidence):
    preparation = evidence.spare_preparation
    body = {"preparation": preparation.pk, "justification": "Pilot batch: no lysate left."}
    response = staff_api.post(f"{API}/reviews/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["justification"] == "Pilot batch: no lysate left."
    again = staff_api.get(f"{API}/reviews/{response.json()['id']}/").json()
    assert again["justification"] == "Pilot batch: no lysate left."
