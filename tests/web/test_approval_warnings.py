"""Edit pages of records an approval covers say, before saving, which approvals the change voids, and require the
reason then, saying why; saving voids the approval with that reason. Pages of unrelated records warn of nothing."""

import pytest
from django.urls import reverse

from evlims.compliance.models import Review
from evlims.core.models import AuditEvent
from tests.approved_world import approved_world

pytestmark = pytest.mark.django_db

LOCKED = "This record is part of an approved preparation: say why it is changed."


@pytest.fixture
def world(lab, project, staff):
    return approved_world(lab, project, staff)


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


def warned(html, world) -> bool:
    return 'id="approval-warning"' in html and f"Preparation {world.preparation.barcode}" in html


def test_sample_edit_warns_requires_the_reason_and_voids(member_client, world):
    url = reverse("evlims:sample-edit", args=[world.sample.pk])
    page = member_client.get(url).content.decode()
    assert warned(page, world) and "approved by approver" in page and "Reason for the change" in page
    form = member_client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(processing_delay_min=90, version=world.sample.version, reason="")
    refused = member_client.post(url, data)
    assert refused.status_code == 200 and LOCKED in refused.content.decode()
    world.review.refresh_from_db()
    assert world.review.state == Review.State.APPROVED
    data["reason"] = "Delay misread"
    assert member_client.post(url, data).status_code == 302
    world.review.refresh_from_db()
    assert world.review.state == Review.State.VOIDED
    assert AuditEvent.objects.get(action="review.void").reason == "Delay misread"


def test_donor_edit_warns_and_names_the_fields_that_void(member_client, world):
    page = member_client.get(reverse("evlims:donor-edit", args=[world.donor.pk])).content.decode()
    assert warned(page, world) and 'id="donor-evidence-fields"' in page and "Age band" in page


def test_thaw_of_the_input_aliquot_shows_the_warning_and_needs_the_reason(member_client, world):
    url = reverse("evlims:aliquot-thaw", args=[world.aliquot.pk])
    assert warned(member_client.get(url).content.decode(), world)
    refused = member_client.post(url, {"confirm": "1"})
    assert refused.status_code == 200 and LOCKED in refused.content.decode()
    world.aliquot.refresh_from_db()
    assert world.aliquot.freeze_thaw_count == 0
    assert member_client.post(url, {"note": "Repeat blot", "confirm": "1"}).status_code == 302
    world.review.refresh_from_db()
    assert world.review.state == Review.State.VOIDED


def test_run_correction_and_step_correction_pages(member_client, world):
    edit = reverse("evlims:run-edit", args=[world.run.pk])
    assert warned(member_client.get(edit).content.decode(), world)
    refused = member_client.post(edit, {"equipment": "qEV lot 7", "version": world.run.version, "reason": ""})
    assert LOCKED in refused.content.decode()
    step = reverse("evlims:run-step", args=[world.run.pk, 1])
    page = member_client.get(step).content.decode()
    assert warned(page, world) and "Reason for the change" in page
    saved = member_client.post(
        edit,
        {
            "equipment": "qEV lot 7",
            "started_at": world.run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            "completed_at": world.run.completed_at.strftime("%Y-%m-%d %H:%M:%S"),
            "version": world.run.version,
            "reason": "Lot from the box",
        },
    )
    assert saved.status_code == 302
    world.review.refresh_from_db()
    assert world.review.state == Review.State.VOIDED


def test_preparation_edit_warns(member_client, world):
    page = member_client.get(reverse("evlims:preparation-edit", args=[world.preparation.pk])).content.decode()
    assert warned(page, world)


def test_unrelated_records_warn_of_nothing(member_client, world):
    for url in (
        reverse("evlims:sample-edit", args=[world.other_sample.pk]),
        reverse("evlims:donor-edit", args=[world.other_donor.pk]),
    ):
        assert 'id="approval-warning"' not in member_client.get(url).content.decode()
