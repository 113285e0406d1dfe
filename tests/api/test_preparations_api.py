"""Preparations with metrics and compliance, experiment documents, and QA reviews through the API."""

import pytest

from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.compliance.models import Review
from evlims.compliance.services import evaluate_preparations
from evlims.metrics.services import recompute
from tests.api.evidence import protein

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_preparation_list_and_detail(staff_api, evidence):
    recompute([evidence.preparation.pk])
    rows = staff_api.get(f"{API}/preparations/?run={evidence.run.pk}").json()["results"]
    assert {row["barcode"] for row in rows} == {evidence.preparation.barcode, evidence.spare_preparation.barcode}
    row = next(r for r in rows if r["id"] == evidence.preparation.pk)
    assert row["particle_count"] == 1 and row["protein_count"] == 0
    assert row["ev_metric_pct"] is not None  # evaluated when the review was submitted
    detail = staff_api.get(f"{API}/preparations/{evidence.preparation.pk}/").json()
    assert detail["run_code"] == evidence.run.code and detail["compliance"]["evaluated_at"]
    assert detail["metrics"]["computed_at"] and detail["metrics"]["size_mode_nm"] == pytest.approx(61.7)


def test_unevaluated_preparation_answers_with_nulls(staff_api, evidence):
    prep = evidence.spare_preparation.pk
    compliance = staff_api.get(f"{API}/preparations/{prep}/compliance/").json()
    assert compliance == {
        "preparation": prep,
        "evaluated_at": None,
        "ev_metric_pct": None,
        "mandatory_failed": None,
        "failed_rules": [],
        "rulesets": {},
        "evidence_hash": None,
        "report": None,
    }
    metrics = staff_api.get(f"{API}/preparations/{prep}/metrics/").json()
    assert metrics["computed_at"] is None and metrics["particles_per_ug"] is None and metrics["provenance"] == {}


def test_compliance_is_the_stored_evaluation(staff_api, staff, evidence):
    from evlims.compliance.models import ComplianceEvaluation

    evaluation = ComplianceEvaluation.objects.get(preparation=evidence.preparation)
    body = staff_api.get(f"{API}/preparations/{evidence.preparation.pk}/compliance/").json()
    assert body["report"] == evaluation.full_report and body["evidence_hash"] == evaluation.evidence_hash
    assert body["failed_rules"] == evaluation.failed_rules and body["ev_metric_pct"] == evaluation.ev_metric_pct


def test_metrics_follow_new_results(staff_api, evidence):
    staff_api.post(f"{API}/results/", {"results": [protein(evidence.preparation.barcode, 40.0)]}, format="json")
    recompute([evidence.preparation.pk])
    metrics = staff_api.get(f"{API}/preparations/{evidence.preparation.pk}/metrics/").json()
    assert metrics["particles_per_ug"] == pytest.approx(4.3e10 / 40.0)
    assert metrics["provenance"]["particles_per_ug"]


def test_experiment_document_is_the_evaluators_input(staff_api, evidence):
    body = staff_api.get(f"{API}/preparations/{evidence.preparation.pk}/experiment/").json()
    expected = experiment_documents(preparations_with_evidence([evidence.preparation.pk]))[evidence.preparation.pk]
    assert body == expected
    assert body["id"] == evidence.preparation.barcode
    assert body["characterization"]["particle_analysis"][0]["concentration_per_ml"] == 4.3e10
    assert [step["method"] for step in body["separation"]] == ["differential_centrifugation", "sec"]


def test_submit_for_review(staff_api, qa_api, evidence):
    # The run's preparations fail mandatory rules: without a justification it is refused, naming the field.
    refused = staff_api.post(f"{API}/reviews/", {"run": evidence.run.pk, "note": "Batch 3"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["justification"]
    assert evidence.spare_preparation.barcode in refused.json()["justification"][0]
    submission = {"run": evidence.run.pk, "note": "Batch 3", "justification": "Method pilot; blots follow."}
    response = staff_api.post(f"{API}/reviews/", submission, format="json")
    assert response.status_code == 201, response.json()
    review = response.json()
    assert review["run_code"] == evidence.run.code and review["state"] == "submitted" and review["signatures"] == []
    again = staff_api.post(f"{API}/reviews/", {"run": evidence.run.pk}, format="json")
    assert again.status_code == 400 and "subject" in again.json()
    listed = staff_api.get(f"{API}/reviews/?state=submitted").json()["results"]
    assert {row["id"] for row in listed} == {review["id"], evidence.review.pk}
    assert qa_api.get(f"{API}/reviews/{review['id']}/").json()["note"] == "Batch 3"


def test_review_submission_refusals(staff_api, qa_api, evidence, their_evidence):
    before = Review.objects.count()
    both = {"preparation": evidence.spare_preparation.pk, "run": evidence.run.pk}
    assert staff_api.post(f"{API}/reviews/", both, format="json").json() == {
        "non_field_errors": ["Submit either a preparation or a run."]
    }
    assert staff_api.post(f"{API}/reviews/", {}, format="json").status_code == 400
    foreign = staff_api.post(f"{API}/reviews/", {"preparation": their_evidence.spare_preparation.pk}, format="json")
    assert foreign.status_code == 400 and list(foreign.json()) == ["preparation"]
    qa = qa_api.post(f"{API}/reviews/", {"preparation": evidence.spare_preparation.pk}, format="json")
    assert qa.status_code == 403
    assert Review.objects.count() == before


def test_signing_is_not_offered_by_the_api(qa_api, admin_api, evidence):
    """Signatures need the signer's password typed again: they are given on the web pages only."""
    for action in ("verify", "approve", "reject"):
        assert qa_api.post(f"{API}/reviews/{evidence.review.pk}/{action}/", {}, format="json").status_code == 404
    response = admin_api.patch(f"{API}/reviews/{evidence.review.pk}/", {"state": "approved"}, format="json")
    assert response.status_code == 405
    assert Review.objects.get(pk=evidence.review.pk).state == Review.State.SUBMITTED


def test_evaluation_refresh_is_visible(staff_api, evidence):
    evaluate_preparations([evidence.spare_preparation.pk])
    body = staff_api.get(f"{API}/preparations/{evidence.spare_preparation.pk}/compliance/").json()
    assert body["evaluated_at"] and body["report"]
