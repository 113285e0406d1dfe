"""The QA queue (who sees it, filters, flat queries) and signing: password, statement, who may sign,
the approved record's lock badge and voided reviews in the history."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evlims.compliance import services
from evlims.compliance.models import ComplianceEvaluation, Review, Signature
from evlims.core.models import Role
from evlims.review import services as review_services
from tests.factories import ProjectFactory, member

from . import test_compliance_pages as pages
from .test_compliance_pages import PASSWORD, add_results, evaluate, make_run

# Fixtures shared with the compliance page tests.
approver, foreign_run, preparation, run, sec_version = (
    pages.approver,
    pages.foreign_run,
    pages.preparation,
    pages.run,
    pages.sec_version,
)

QUEUE = reverse("evlims:qa-queue")


def sign(client, review, action, *, password=PASSWORD, statement="Checked the record and its evaluation"):
    return client.post(
        reverse("evlims:review-sign", args=[review.pk, action]),
        {f"{action}-password": password, f"{action}-statement": statement},
        follow=True,
    )


def queue_subjects(client, params=None) -> list[str]:
    response = client.get(QUEUE, params or {})
    assert response.status_code == 200
    return [str(row["subject"]) for row in response.context["page"].rows]


@pytest.fixture
def submitted(staff, preparation):
    return review_services.review_submit(
        actor=staff, preparation=preparation, justification="Accepted as it is for this study."
    )


def test_queue_is_for_reviewers_only(client, staff, qa_manager, submitted):
    client.force_login(staff)
    response = client.get(QUEUE)
    assert response.status_code == 403 and "QA managers and lab admins" in response.content.decode()
    assert (
        'href="/compliance/queue/"'
        not in client.get(reverse("evlims:compliance-run", args=[submitted.preparation.run_id])).content.decode()
    )
    client.force_login(qa_manager)
    assert queue_subjects(client) == [submitted.preparation.barcode]


def test_queue_row_shows_score_and_mandatory_misev_failures(client, qa_manager, submitted):
    client.force_login(qa_manager)
    row = client.get(QUEUE).context["page"].rows[0]
    evaluation = ComplianceEvaluation.objects.get(preparation=submitted.preparation)
    assert row["score"] == evaluation.ev_metric_pct
    failed_misev = [entry.split(":")[1] for entry in evaluation.failed_rules if entry.startswith("misev")]
    assert row["failures"] and set(row["failures"]) <= set(failed_misev)
    page = client.get(QUEUE).content.decode()
    assert row["failures"][0] in page and f"{evaluation.ev_metric_pct} %" in page


def test_queue_lists_run_reviews_with_their_preparations(client, staff, qa_manager, run):
    review_services.review_submit(actor=staff, run=run, justification="Pilot run, reviewed as it is")
    client.force_login(qa_manager)
    row = client.get(QUEUE).context["page"].rows[0]
    scores = list(ComplianceEvaluation.objects.filter(preparation__run=run).values_list("ev_metric_pct", flat=True))
    assert row["subject"] == run and row["preparations_evaluated"] == 2
    assert row["score"] == round(sum(scores) / 2, 1)


def test_queue_hides_closed_reviews_and_other_labs(client, staff, qa_manager, approver, submitted, foreign_run):
    outsider_qa = member(foreign_run.lab, Role.QA_MANAGER, username="foreign-qa")
    review_services.review_submit(
        actor=foreign_run.operator, run=foreign_run, justification="Pilot run, reviewed as it is"
    )
    client.force_login(qa_manager)
    assert queue_subjects(client) == [submitted.preparation.barcode]
    review_services.review_verify(actor=qa_manager, review=submitted, password=PASSWORD, statement="ok")
    assert queue_subjects(client) == [submitted.preparation.barcode]  # verified still waits for approval
    review_services.review_approve(actor=approver, review=submitted, password=PASSWORD, statement="ok")
    assert queue_subjects(client) == []
    client.force_login(outsider_qa)
    assert queue_subjects(client) == [foreign_run.code]


def test_queue_filters(client, staff, qa_manager, project, sec_version, submitted):
    urine_project = ProjectFactory(lab=project.lab, code="URINE")
    urine_run = make_run(staff, urine_project, sec_version, biofluid="urine", count=1)
    evaluate(urine_run)
    urine_review = review_services.review_submit(
        actor=staff, preparation=urine_run.preparations.get(), justification="Accepted as it is for this study."
    )
    Review.objects.filter(pk=urine_review.pk).update(submitted_at=timezone.now() - dt.timedelta(days=10))
    plasma, urine = submitted.preparation.barcode, urine_run.preparations.get().barcode
    client.force_login(qa_manager)
    assert queue_subjects(client) == [urine, plasma]  # oldest first
    assert queue_subjects(client, {"project": urine_project.pk}) == [urine]
    assert queue_subjects(client, {"biofluid": "blood_plasma"}) == [plasma]
    assert queue_subjects(client, {"age": "7"}) == [urine]
    assert queue_subjects(client, {"method": urine_run.method}) == [urine, plasma]
    other_method = make_run(staff, urine_project, sec_version, count=1)
    type(other_method).objects.filter(pk=other_method.pk).update(method="ultracentrifugation")
    assert queue_subjects(client, {"method": "ultracentrifugation"}) == []
    urine_failures = ComplianceEvaluation.objects.get(preparation=urine_run.preparations.get()).failed_rules
    assert "misev2023:M23.URINE.COLLECTION" in urine_failures
    assert queue_subjects(client, {"failing_rule": "misev2023:M23.URINE.COLLECTION"}) == [urine]
    shared = set(urine_failures) & set(ComplianceEvaluation.objects.get(preparation=submitted.preparation).failed_rules)
    assert queue_subjects(client, {"failing_rule": sorted(shared)[0]}) == [urine, plasma]


def test_queue_filter_by_failing_rule_reaches_run_reviews(client, staff, qa_manager, run):
    review_services.review_submit(actor=staff, run=run, justification="Pilot run, reviewed as it is")
    client.force_login(qa_manager)
    failing = ComplianceEvaluation.objects.filter(preparation__run=run).first().failed_rules[0]
    assert queue_subjects(client, {"failing_rule": failing}) == [run.code]
    assert queue_subjects(client, {"failing_rule": "misev2023:M23.URINE.COLLECTION"}) == []
    assert queue_subjects(client, {"biofluid": "blood_plasma"}) == [run.code]
    assert queue_subjects(client, {"biofluid": "urine"}) == []


def test_bad_queue_filter_is_a_form_error(client, qa_manager, submitted):
    client.force_login(qa_manager)
    response = client.get(QUEUE, {"failing_rule": "misev2018:NO.SUCH.RULE", "age": "abc"})
    assert response.status_code == 200 and response.context["page"] is None
    assert "failing_rule" in response.context["form"].errors and "age" in response.context["form"].errors


def queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(QUEUE).status_code == 200
    return len(captured)


def test_queue_is_flat(client, staff, qa_manager, project, sec_version, submitted):
    other = make_run(staff, project, sec_version, count=1)
    evaluate(other)
    review_services.review_submit(actor=staff, run=other, justification="Pilot run, reviewed as it is")
    client.force_login(qa_manager)
    small = queue_queries(client)
    for _ in range(3):
        more = make_run(staff, project, sec_version, count=2)
        evaluate(more)
        review_services.review_submit(actor=staff, run=more, justification="Pilot run, reviewed as it is")
        first = more.preparations.order_by("barcode").first()
        add_results(staff, first)
        services.evaluate_preparations([first.pk])
        review = review_services.review_submit(
            actor=staff, preparation=first, justification="Accepted as it is for this study."
        )
        review_services.review_verify(actor=qa_manager, review=review, password=PASSWORD, statement="ok")
    assert queue_queries(client) == small


def test_wrong_password_signs_nothing(client, qa_manager, submitted):
    client.force_login(qa_manager)
    response = sign(client, submitted, "verify", password="not my password")
    assert response.status_code == 200
    assert "The password is not correct; nothing was signed." in response.content.decode()
    assert response.context["sign_forms"][0]["form"].errors["password"]
    assert not Signature.objects.exists()
    submitted.refresh_from_db()
    assert submitted.state == Review.State.SUBMITTED


def test_missing_statement_is_a_form_error(client, qa_manager, submitted):
    client.force_login(qa_manager)
    response = sign(client, submitted, "verify", statement="")
    assert "statement" in response.context["sign_forms"][0]["form"].errors
    assert not Signature.objects.exists()


def test_self_verification_is_refused_with_the_service_message(client, lab, staff, submitted):
    admin = member(lab, Role.LAB_ADMIN, username="admin-producer")
    review_services.review_reject(actor=admin, review=submitted, password=PASSWORD, statement="redo")
    review = review_services.review_submit(
        actor=admin, preparation=submitted.preparation, justification="Accepted as it is for this study."
    )
    client.force_login(admin)
    response = sign(client, review, "verify")
    assert response.status_code == 200
    assert "You submitted or produced this record; someone else must review it." in response.content.decode()
    assert not Signature.objects.filter(review=review).exists()


def test_verifier_cannot_approve(client, qa_manager, submitted):
    review_services.review_verify(actor=qa_manager, review=submitted, password=PASSWORD, statement="ok")
    client.force_login(qa_manager)
    response = sign(client, submitted, "approve")
    assert "You verified this record; another QA manager must approve it." in response.content.decode()
    assert not Signature.objects.filter(meaning="approved").exists()


def test_lab_staff_sees_no_sign_form_and_cannot_sign(client, staff, lab, submitted):
    colleague = member(lab, Role.LAB_STAFF, username="colleague")
    client.force_login(colleague)
    page = client.get(reverse("evlims:review-detail", args=[submitted.pk]))
    assert page.context["sign_forms"] == [] and "Only QA managers and lab admins" in page.content.decode()
    response = sign(client, submitted, "verify")
    assert "does not allow you to sign" in response.content.decode()
    assert not Signature.objects.exists()


def test_unknown_action_is_404(client, qa_manager, submitted):
    client.force_login(qa_manager)
    assert sign(client, submitted, "delete").status_code == 404


def test_verify_then_approve_locks_the_record(client, qa_manager, approver, submitted):
    preparation = submitted.preparation
    client.force_login(qa_manager)
    response = sign(client, submitted, "verify")
    assert [item["action"] for item in response.context["sign_forms"]] == ["approve", "reject"]
    client.force_login(approver)
    response = sign(client, submitted, "approve", statement="Released for the biomarker study")
    page = response.content.decode()
    assert 'id="lock-badge"' in page and response.context["sign_forms"] == []
    signatures = list(Signature.objects.filter(review=submitted).order_by("signed_at"))
    assert [(s.signer, s.meaning) for s in signatures] == [(qa_manager, "verified"), (approver, "approved")]
    for signature in signatures:
        assert signature.content_hash in page
    assert "Released for the biomarker study" in page
    compliance_page = client.get(reverse("evlims:compliance-preparation", args=[preparation.pk])).content.decode()
    assert 'id="lock-badge"' in compliance_page and signatures[1].content_hash in compliance_page


def test_reject_closes_the_review(client, qa_manager, submitted):
    client.force_login(qa_manager)
    sign(client, submitted, "reject", statement="No electron microscopy")
    submitted.refresh_from_db()
    assert submitted.state == Review.State.REJECTED
    page = client.get(reverse("evlims:compliance-preparation", args=[submitted.preparation_id])).content.decode()
    assert "Rejected" in page and "No electron microscopy" in page and 'id="lock-badge"' not in page


def test_voided_approval_shows_in_history_and_unlocks(client, staff, qa_manager, approver, submitted):
    review_services.review_verify(actor=qa_manager, review=submitted, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=submitted, password=PASSWORD, statement="ok")
    with transaction.atomic():
        review_services.void_approvals(
            actor=staff, preparation_ids=[submitted.preparation_id], reason="Final volume corrected"
        )
    client.force_login(staff)
    page = client.get(reverse("evlims:compliance-preparation", args=[submitted.preparation_id])).content.decode()
    assert "Voided by a later change" in page and "Final volume corrected" in page
    assert 'id="lock-badge"' not in page
    assert "Submit for review" in page  # a voided review is closed: the record can be submitted again


def test_approved_run_locks_its_preparations(client, staff, qa_manager, approver, run):
    review = review_services.review_submit(actor=staff, run=run, justification="Pilot run, reviewed as it is")
    review_services.review_verify(actor=qa_manager, review=review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="ok")
    client.force_login(staff)
    rows = client.get(reverse("evlims:compliance-run", args=[run.pk])).context["rows"]
    assert all(row["locked"] for row in rows)
    prep_page = client.get(reverse("evlims:compliance-preparation", args=[rows[0]["preparation"].pk]))
    assert 'id="lock-badge"' in prep_page.content.decode()


def test_review_page_is_404_for_another_lab(client, outsider, submitted):
    client.force_login(outsider)
    assert client.get(reverse("evlims:review-detail", args=[submitted.pk])).status_code == 404
    assert sign(client, submitted, "verify").status_code == 404
    assert not Signature.objects.exists()


def test_nav_shows_qa_link_to_reviewers_only(client, staff, qa_manager, submitted):
    home = reverse("evlims:compliance-preparation", args=[submitted.preparation_id])
    client.force_login(staff)
    assert f'href="{QUEUE}">QA<' not in client.get(home).content.decode()
    client.force_login(qa_manager)
    assert client.get(home).content.decode().count(f'href="{QUEUE}">QA<') == 1


def test_queue_filters_on_unmet_ev_metric_component(client, qa_manager, submitted):
    client.force_login(qa_manager)
    response = client.get(QUEUE, {"failing_rule": "ev_metric:EVM.DG_USED"})
    assert response.status_code == 200 and not response.context["form"].errors
