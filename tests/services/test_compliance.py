import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.services import record_results
from evlims.compliance import services
from evlims.compliance.evaluator import evaluate
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.compliance.models import ComplianceEvaluation, Review, Signature
from evlims.core.models import AuditEvent, Role
from evlims.review import services as review_services
from tests.factories import member
from tests.run_states import completed_plasma_sec_run

EXAMPLE_DOCUMENTS = sorted((Path(services.__file__).parent / "examples").glob("*.json"))

PASSWORD = "correct horse battery"


@pytest.fixture
def run(staff, project):
    return completed_plasma_sec_run(staff, project, processing_delay_min=45)


@pytest.fixture
def verifier(lab):
    return member(lab, Role.QA_MANAGER, username="verifier")


@pytest.fixture
def approver(lab):
    return member(lab, Role.QA_MANAGER, username="approver")


def test_documents_are_built_in_constant_queries(run, django_assert_max_num_queries):
    ids = list(run.preparations.values_list("pk", flat=True))
    with django_assert_max_num_queries(5):
        documents = experiment_documents(preparations_with_evidence(ids))
    document = documents[ids[0]]
    assert document["sample"]["biofluid"] == "blood_plasma"
    assert document["sample"]["processing_delay_h"] == 0.75
    assert [step["method"] for step in document["separation"]][-1] == "sec"


def test_marker_result_changes_the_stored_evaluation(run, staff, lab):
    prep = run.preparations.first()
    assert services.evaluate_preparations([prep.pk]) == 1
    before = ComplianceEvaluation.objects.get(preparation=prep)
    assert services.evaluate_preparations([prep.pk]) == 0  # unchanged evidence is not re-evaluated
    record_results(
        actor=staff,
        lab=lab,
        documents=[
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": prep.barcode,
                "marker": {"protein": "CD9", "detected": True, "antibody": {"clone": "MM2/57", "dilution": "1:500"}},
            },
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": prep.barcode,
                "marker": {
                    "protein": "APOA1",
                    "detected": False,
                    "antibody": {"catalogue": "ab52945", "dilution": "1:1000"},
                },
            },
        ],
    )
    assert services.evaluate_preparations([prep.pk]) == 1
    after = ComplianceEvaluation.objects.get(preparation=prep)
    assert after.evidence_hash != before.evidence_hash
    assert after.failed_rules != before.failed_rules
    markers = after.document["characterization"]["markers"]
    assert {m["protein"] for m in markers} == {"CD9", "APOA1"}


def test_review_workflow_and_no_self_verification(run, staff, verifier, approver):
    prep = run.preparations.first()
    review = review_services.review_submit(
        actor=staff, preparation=prep, justification="Accepted as it is for this study."
    )
    staff_qa = member(run.lab, Role.LAB_ADMIN, username="producer-admin")
    run.operator = staff_qa
    run.save()
    with pytest.raises(PermissionDenied, match="someone else"):
        review_services.review_verify(actor=staff_qa, review=review, password=PASSWORD, statement="ok")
    with pytest.raises(PermissionDenied):
        review_services.review_verify(actor=staff, review=review, password=PASSWORD, statement="ok")
    with pytest.raises(ValidationError, match="password"):
        review_services.review_verify(actor=verifier, review=review, password="wrong", statement="ok")
    assert not Signature.objects.exists()
    review = review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="Checked")
    assert review.state == Review.State.VERIFIED
    with pytest.raises(PermissionDenied, match="verified this record"):
        review_services.review_approve(actor=verifier, review=review, password=PASSWORD, statement="ok")
    review = review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="Released")
    assert review.state == Review.State.APPROVED and review_services.is_locked(prep)
    signature = Signature.objects.get(meaning="approved")
    assert signature.content["preparation"] == prep.barcode
    assert signature.content_hash == services.canonical_hash(signature.content)
    with pytest.raises(ValidationError, match="open or approved"):
        review_services.review_submit(actor=staff, preparation=prep, justification="Accepted as it is for this study.")


def test_change_to_locked_record_needs_reason_and_voids(run, staff, verifier, approver):
    prep = run.preparations.first()
    review = review_services.review_submit(
        actor=staff, preparation=prep, justification="Accepted as it is for this study."
    )
    review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="ok")
    with pytest.raises(ValidationError, match="locked"):
        review_services.void_approvals(actor=staff, preparation_ids=[prep.pk], reason="")
    from evlims.core.locks import approvals_affected

    (warning,) = approvals_affected([prep.pk])
    assert warning["subject"] == f"Preparation {prep.barcode}" and warning["review_id"] == review.pk
    assert warning["approved_by"] == "approver" and warning["approved_at"] is not None
    assert approvals_affected([run.preparations.last().pk]) == []
    from django.db import transaction

    with transaction.atomic():
        assert review_services.void_approvals(actor=staff, preparation_ids=[prep.pk], reason="Volume corrected") == 1
    assert not review_services.is_locked(prep)
    assert approvals_affected([prep.pk]) == []
    assert AuditEvent.objects.filter(action="review.void", reason="Volume corrected").exists()


def test_reject_needs_statement(run, staff, verifier):
    review = review_services.review_submit(
        actor=staff, preparation=run.preparations.first(), justification="Accepted as it is for this study."
    )
    with pytest.raises(ValidationError, match="statement|means"):
        review_services.review_reject(actor=verifier, review=review, password=PASSWORD, statement=" ")
    review = review_services.review_reject(actor=verifier, review=review, password=PASSWORD, statement="No EM")
    assert review.state == Review.State.REJECTED


@pytest.mark.parametrize("verifiers_needed", [2])
def test_required_verifiers_setting(run, staff, verifier, approver, settings, verifiers_needed):
    settings.EVLIMS = {"REQUIRED_VERIFIERS": verifiers_needed}
    review = review_services.review_submit(
        actor=staff, preparation=run.preparations.first(), justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="1")
    assert review.state == Review.State.SUBMITTED
    review = review_services.review_verify(actor=approver, review=review, password=PASSWORD, statement="2")
    assert review.state == Review.State.VERIFIED


def test_new_result_on_approved_preparation_needs_reason_and_voids(run, staff, verifier, approver, lab):
    prep = run.preparations.first()
    review = review_services.review_submit(
        actor=staff, preparation=prep, justification="Accepted as it is for this study."
    )
    review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="ok")
    marker = {
        "kind": "marker",
        "method": "western_blot",
        "preparation": prep.barcode,
        "marker": {"protein": "TSG101", "detected": True},
    }
    with pytest.raises(ValidationError, match="approved and locked"):
        record_results(actor=staff, lab=lab, documents=[marker])
    assert review_services.is_locked(prep)
    record_results(actor=staff, lab=lab, documents=[marker], reason="Late western blot")
    assert not review_services.is_locked(prep)
    assert Review.objects.get(pk=review.pk).state == Review.State.VOIDED


@pytest.mark.parametrize("example", EXAMPLE_DOCUMENTS, ids=[path.stem for path in EXAMPLE_DOCUMENTS])
def test_summary_counts_mandatory_misev_failures_and_unmet_components(example):
    # The summary is read from the verdicts; it must say what the report written out says: failed mandatory and
    # mandatory-if-applicable rules of the two MISEV rule sets, every failed rule and unmet EV-METRIC component.
    report = evaluate(json.loads(example.read_text(encoding="utf-8")))
    written = report.to_dict()
    components = written["ev_metric"]["components"]
    failed = [f"ev_metric:{key}" for key, component in components.items() if component["state"] == "not_met"]
    mandatory = 0
    for key, part in written.items():
        if key == "ev_metric" or not isinstance(part, dict) or "rules" not in part:
            continue
        for rule in part["rules"]:
            if rule["status"] == "fail":
                failed.append(f"{key}:{rule['id']}")
                mandatory += key in ("misev2018", "misev2023") and rule["level"] in (
                    "mandatory",
                    "mandatory_if_applicable",
                )
    assert services._summary(report) == (written["ev_metric"]["score_pct"], mandatory, failed)
    assert failed  # each example fails something, so the comparison is not of empty lists


def test_closing_a_review_writes_its_own_audit_action(run, staff, verifier, approver):
    from evlims.core.models import AuditEvent

    approved = review_services.review_submit(
        actor=staff, preparation=run.preparations.first(), justification="Accepted as it is for this study."
    )
    review_services.review_verify(actor=verifier, review=approved, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=approved, password=PASSWORD, statement="Released")
    rejected = review_services.review_submit(
        actor=staff, preparation=run.preparations.last(), justification="Accepted as it is for this study."
    )
    review_services.review_reject(actor=verifier, review=rejected, password=PASSWORD, statement="No EM")
    closing = AuditEvent.objects.filter(action__in=["review.approve", "review.reject"]).order_by("id")
    assert [(e.action, e.changes["state"], e.reason) for e in closing] == [
        ("review.approve", "approved", "Released"),
        ("review.reject", "rejected", "No EM"),
    ]


def test_a_run_with_failing_preparations_needs_a_justification_that_its_signatures_cover(run, staff, verifier):
    """A run is submitted whole, so a failing preparation in it asks for the same justification as alone."""
    with pytest.raises(ValidationError, match="Say why it should be reviewed as it is") as refused:
        review_services.review_submit(actor=staff, run=run)
    barcodes = sorted(run.preparations.values_list("barcode", flat=True))
    assert all(barcode in str(refused.value) for barcode in barcodes)
    assert not Review.objects.exists()
    review = review_services.review_submit(actor=staff, run=run, justification="Method pilot; blots follow.")
    event = AuditEvent.objects.get(action="review.submit")
    assert event.changes["justification"] == "Method pilot; blots follow."
    assert event.changes["mandatory_failures"]
    review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="Checked")
    assert Signature.objects.get().content["justification"] == "Method pilot; blots follow."
