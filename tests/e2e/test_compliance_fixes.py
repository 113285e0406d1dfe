"""Fixing a preparation from its compliance page in the browser: a fix link opens the form with the field
focused; submitting with mandatory failures asks for a justification, which the QA manager then sees."""

import pytest
from playwright.sync_api import expect

from evlims.compliance import services
from evlims.compliance.models import Review
from evlims.core.models import Role
from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from tests.factories import LabFactory, ProjectFactory, member
from tests.web.test_compliance_pages import make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def failing_preparation():
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA2", title="Plasma EV biomarkers")
    staff = member(lab, Role.LAB_STAFF, username="ana")
    member(lab, Role.QA_MANAGER, username="qa-ben")
    isolation.library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")
    run = make_run(staff, project, version, count=1)
    preparation = run.preparations.get()
    services.evaluate_preparations([preparation.pk])
    return preparation


def log_in(page, url, username):
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_fix_link_focuses_the_field_and_submission_carries_a_justification(live_server, page):
    preparation = failing_preparation()
    compliance_url = f"{live_server.url}/compliance/preparations/{preparation.pk}/"
    log_in(page, compliance_url, "ana")
    expect(page.locator("#next-steps")).to_contain_text("Record how the preparation is stored")

    page.locator("#next-steps a.fix-link", has_text="on the preparation").first.click()
    page.wait_for_url(f"**/preparations/{preparation.pk}/edit/?focus=*")
    focus = page.url.split("focus=")[1]
    page.wait_for_function("name => document.activeElement && document.activeElement.name === name", arg=focus)
    assert page.evaluate("document.activeElement.name") == focus

    page.goto(compliance_url)
    warning = page.locator("#mandatory-failures-warning")
    expect(warning).to_contain_text("mandatory rule")
    form = page.locator("#submit-form")
    form.get_by_role("button", name="Submit for review with this justification").click()
    expect(page.locator("#submit-form")).to_contain_text("Say why it should be reviewed as it is")
    assert not Review.objects.exists()
    page.get_by_label("Justification for the mandatory failures (required)").fill(
        "Pilot preparation: characterisation follows next week."
    )
    page.locator("#submit-form").get_by_role("button", name="Submit for review with this justification").click()
    expect(page.locator("#review-state")).to_have_text("Awaiting verification")
    review = Review.objects.get()

    page.context.clear_cookies()
    log_in(page, f"{live_server.url}/compliance/reviews/{review.pk}/", "qa-ben")
    justification = page.locator("#review-justification")
    expect(justification).to_contain_text("Justification for the mandatory failures")
    expect(justification).to_contain_text("Pilot preparation: characterisation follows next week.")
