"""Submitting a preparation with mandatory failures asks for a justification; the reviewer sees it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from evlims.compliance import selectors
from evlims.compliance.models import Review
from evlims.core.models import AuditEvent
from evlims.review import services as review_services
from tests.web import test_compliance_pages as pages

# The compliance pages' fixtures: a SEC run of plasma, its first preparation evaluated with results.
sec_version, run, preparation = pages.sec_version, pages.run, pages.preparation
text_of, PASSWORD = pages.text_of, pages.PASSWORD


def failing_titles(preparation):
    return [failure["title"] for failure in selectors.mandatory_failures(preparation.evaluation.report)]


def test_the_service_refuses_mandatory_failures_without_a_justification(staff, preparation):
    assert failing_titles(preparation)
    with pytest.raises(ValidationError) as refused:
        review_services.review_submit(actor=staff, preparation=preparation, reason="Ready", justification="  ")
    assert "justification" in refused.value.message_dict
    assert "Say why it should be reviewed as it is" in refused.value.message_dict["justification"][0]
    assert not Review.objects.exists()


def test_the_justification_is_stored_audited_and_signed(staff, qa_manager, preparation):
    review = review_services.review_submit(
        actor=staff, preparation=preparation, justification="Pilot batch: no lysate left."
    )
    assert review.justification == "Pilot batch: no lysate left."
    event = AuditEvent.objects.get(action="review.submit")
    assert event.changes["justification"] == "Pilot batch: no lysate left."
    assert event.changes["mandatory_failures"] == [
        f["id"] for f in selectors.mandatory_failures(preparation.evaluation.report)
    ]
    review_services.review_verify(actor=qa_manager, review=review, password=PASSWORD, statement="Checked the record.")
    assert review.signatures.get().content["justification"] == "Pilot batch: no lysate left."


def test_the_page_warns_and_asks_for_the_justification(client, staff, preparation):
    client.force_login(staff)
    url = reverse("evlims:compliance-preparation", args=[preparation.pk])
    page = text_of(client.get(url))
    assert 'id="mandatory-failures-warning"' in page
    assert all(title in page for title in failing_titles(preparation))
    assert "Justification for the mandatory failures" in page
    refused = client.post(reverse("evlims:submit-preparation", args=[preparation.pk]), {"note": "Ready"})
    assert refused.status_code == 200 and not Review.objects.exists()
    assert refused.context["submit_form"].errors["justification"]
    assert "Say why it should be reviewed as it is" in text_of(refused)
    accepted = client.post(
        reverse("evlims:submit-preparation", args=[preparation.pk]),
        {"note": "Ready", "justification": "Pilot batch: no lysate left."},
    )
    assert accepted.status_code == 302
    assert Review.objects.get().justification == "Pilot batch: no lysate left."


def test_the_reviewer_sees_the_justification(client, staff, qa_manager, preparation):
    review = review_services.review_submit(
        actor=staff, preparation=preparation, justification="Pilot batch: no lysate left."
    )
    client.force_login(qa_manager)
    page = text_of(client.get(reverse("evlims:review-detail", args=[review.pk])))
    assert 'id="review-justification"' in page
    assert "Justification for the mandatory failures" in page and "Pilot batch: no lysate left." in page
