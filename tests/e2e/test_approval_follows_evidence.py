"""In the browser: a person corrects the source sample of an approved preparation. The edit page names the
approval the change voids before anything is saved, insists on a reason, and once saved the preparation's review
history shows the approval voided with that reason."""

import re

import pytest
from playwright.sync_api import expect

from evlims.compliance.models import Review
from tests.approved_world import approved_world
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def log_in(page, base_url, username):
    page.goto(f"{base_url}/samples/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_editing_the_source_sample_voids_the_approval_with_the_reason(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    world = approved_world(lab, project, member(lab, username="ana"))
    log_in(page, live_server.url, "ana")

    page.goto(f"{live_server.url}/samples/{world.sample.pk}/edit/")
    warning = page.locator("#approval-warning")
    expect(warning).to_contain_text("Saving this change voids an approval")
    expect(warning).to_contain_text(f"Preparation {world.preparation.barcode}")
    expect(warning).to_contain_text("approved by approver")

    page.get_by_label("Time from collection to first spin (min)").fill("90")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#sample-form")).to_contain_text("This record is part of an approved preparation")
    assert Review.objects.get(pk=world.review.pk).state == Review.State.APPROVED

    page.get_by_label("Time from collection to first spin (min)").fill("90")
    page.get_by_label(re.compile("Reason for the change")).fill("Delay misread from the collection sheet")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(f"Sample {world.sample.barcode} saved.")).to_be_visible()

    page.goto(f"{live_server.url}/compliance/preparations/{world.preparation.pk}/")
    history = page.locator("#review-history")
    expect(history).to_contain_text("Voided")
    expect(history).to_contain_text("Delay misread from the collection sheet")
    assert Review.objects.get(pk=world.review.pk).state == Review.State.VOIDED
