"""In the browser: a person voids a CD63 result of an APPROVED preparation. The void page names the approval it will
void before anything is saved; once saved, the review history shows the approval voided with the reason, and the
preparation's compliance report lists the value apart, struck through, as voided with that reason."""

import re

import pytest
from playwright.sync_api import expect

from evlims.characterization.models import Measurement
from evlims.characterization.services import record_results
from evlims.compliance.models import Review
from evlims.review import services as review_services
from tests.approved_world import PASSWORD, approved_world
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "Antibody lot 4411 recalled by the supplier"


def log_in(page, base_url, username):
    page.goto(f"{base_url}/samples/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def approved_with_cd63(lab, project, staff):
    """The approved preparation, with a CD63 blot recorded and the preparation approved again on it."""
    world = approved_world(lab, project, staff)
    document = {
        "kind": "marker",
        "method": "western_blot",
        "preparation": world.preparation.barcode,
        "marker": {"protein": "CD63", "detected": True, "antibody": {"clone": "H5C6"}},
    }
    cd63 = record_results(actor=staff, lab=lab, documents=[document], reason="Blot added before release")[0]
    review = review_services.review_submit(
        actor=staff, preparation=world.preparation, reason="Again", justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=world.verifier, review=review, password=PASSWORD, statement="Checked")
    review = review_services.review_approve(
        actor=world.approver, review=review, password=PASSWORD, statement="Released"
    )
    return world, cd63, review


def test_voiding_a_result_of_an_approved_preparation(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    world, cd63, review = approved_with_cd63(lab, project, member(lab, username="ana"))
    log_in(page, live_server.url, "ana")

    page.goto(f"{live_server.url}/preparations/{world.preparation.pk}/")
    page.locator(f"#measurement-{cd63.pk}").get_by_role("link", name=f"#{cd63.pk}").click()
    expect(page.locator("#result-summary")).to_contain_text("CD63 detected (Western blot)")
    page.get_by_role("link", name="Void this result").click()

    warning = page.locator("#approval-warning")
    expect(warning).to_contain_text("Saving this change voids an approval")
    expect(warning).to_contain_text(world.preparation.barcode)
    expect(warning).to_contain_text("approved by approver")
    page.get_by_role("button", name="Void this result").click()  # neither reason nor confirmation yet
    expect(page.locator("#void-form")).to_contain_text("Say why the result is voided.")
    assert Review.objects.get(pk=review.pk).state == Review.State.APPROVED

    page.get_by_label(re.compile("Reason for the change")).fill(REASON)
    page.get_by_label(re.compile("Void this result: it stays in the record")).check()
    page.get_by_role("button", name="Void this result").click()
    set_aside = page.locator("#results-set-aside")
    expect(set_aside).to_contain_text("CD63 detected (Western blot)")
    expect(set_aside.locator("s")).to_contain_text("CD63")
    expect(set_aside).to_contain_text("Voided on")
    expect(set_aside).to_contain_text(REASON)
    assert Measurement.all_versions.get(pk=cd63.pk).status == Measurement.Status.VOIDED
    assert Review.objects.get(pk=review.pk).state == Review.State.VOIDED

    page.goto(f"{live_server.url}/compliance/preparations/{world.preparation.pk}/")
    history = page.locator("#review-history")
    expect(history).to_contain_text("Voided")
    expect(history).to_contain_text(REASON)

    page.goto(f"{live_server.url}/compliance/preparations/{world.preparation.pk}/report/")
    report = page.locator("#results-set-aside")
    expect(report).to_contain_text("Results superseded or voided")
    expect(report.locator("s")).to_contain_text("CD63 detected (Western blot)")
    expect(report).to_contain_text("Voided on")
    expect(report).to_contain_text(REASON)
