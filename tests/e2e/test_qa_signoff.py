"""QA sign-off in the browser: a QA manager opens the queue and a preparation, sees what fails and verifies
with a password; a second QA manager approves; the record then shows as locked."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.compliance.models import Review, Signature
from evlims.core.models import Role
from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from evlims.review import services as review_services
from evlims.samples.services import sample_register
from tests.factories import LabFactory, ProjectFactory, member
from tests.run_states import completed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))
PASSWORD = "correct horse battery"


def submitted_preparation():
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    staff = member(lab, Role.LAB_STAFF, username="ana")
    isolation.library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")
    sample = sample_register(
        actor=staff,
        project=project,
        biofluid="blood_plasma",
        volume_ml=Decimal("3"),
        anticoagulant="k2_edta",
        processing_delay_min=45,
        aliquot_volumes_ul=[500],
    )
    run = isolation.run_plan(
        actor=staff, project=project, protocol_version=version, inputs=[(sample.aliquots.get(), 400)]
    )
    preparation = completed(run).preparations.get()  # only what a completed run produced is reviewed
    review_services.review_submit(
        actor=staff,
        preparation=preparation,
        reason="First plasma SEC batch",
        justification="Accepted as it is for this study.",
    )
    return preparation


def log_in(page, base_url, username):
    page.context.clear_cookies()
    page.goto(f"{base_url}/compliance/queue/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="QA review queue")).to_be_visible()


def test_qa_verify_and_approve(live_server, page):
    preparation = submitted_preparation()
    lab = preparation.lab
    member(lab, Role.QA_MANAGER, username="vera")
    member(lab, Role.QA_MANAGER, username="otto")

    log_in(page, live_server.url, "vera")
    row = page.locator("#queue-table tbody tr", has_text=preparation.barcode)
    expect(row).to_contain_text("Awaiting verification")
    expect(row).to_contain_text("M18.")  # the mandatory MISEV failures show in the queue
    row.get_by_role("link", name="Review").click()

    expect(page.get_by_role("heading", name=re.compile(f"Review of {preparation.barcode}"))).to_be_visible()
    page.get_by_role("link", name="Full compliance page").click()
    expect(page.locator("#ev-metric-score")).to_contain_text("%")
    expect(page.locator("#component-EVM\\.DG_USED")).to_contain_text("Not met")
    expect(page.locator("#next-steps li").first).to_contain_text("Mandatory")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "compliance-page.png"), full_page=False)
    page.screenshot(path=str(SCREENSHOTS / "compliance-page-full.png"), full_page=True)
    page.get_by_role("link", name="Review and sign").click()

    form = page.locator("#sign-verify")
    form.get_by_label("Statement of meaning").fill("Checked the record against MISEV2018")
    form.get_by_label("Your password").fill("wrong password")
    form.get_by_role("button", name="Verify and sign").click()
    expect(page.locator("#sign-verify")).to_contain_text("The password is not correct; nothing was signed.")
    assert not Signature.objects.exists()

    form = page.locator("#sign-verify")
    form.get_by_label("Statement of meaning").fill("Checked the record against MISEV2018")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Verify and sign").click()
    expect(page.locator("#review-state")).to_have_text("Verified, awaiting approval")
    expect(page.locator("#signatures")).to_contain_text("vera")

    log_in(page, live_server.url, "otto")
    page.locator("#queue-table tbody tr", has_text=preparation.barcode).get_by_role("link", name="Review").click()
    form = page.locator("#sign-approve")
    form.get_by_label("Statement of meaning").fill("Released for the biomarker study")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Approve and sign").click()
    expect(page.locator("#review-state")).to_have_text("Approved")
    expect(page.locator("#lock-badge")).to_be_visible()
    approval = Signature.objects.get(meaning="approved")
    expect(page.locator("#signatures")).to_contain_text(approval.content_hash)

    page.get_by_role("link", name="Full compliance page").click()
    expect(page.locator("#lock-badge")).to_contain_text("Locked")
    expect(page.locator("#review-history")).to_contain_text("Released for the biomarker study")
    page.screenshot(path=str(SCREENSHOTS / "compliance-locked.png"), full_page=False)
    assert Review.objects.get().state == Review.State.APPROVED
