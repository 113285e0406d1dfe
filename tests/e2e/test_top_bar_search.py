"""The top bar's search in the browser: a barcode scanner types a preparation's label followed by Enter and the
preparation's page opens; typed words list what matches, grouped by kind of record."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.isolation import services as isolation
from evlims.isolation.models import ProtocolVersion
from evlims.samples.services import sample_register
from tests.factories import DonorFactory, LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))
PASSWORD = "correct horse battery"


def bench():
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    staff = member(lab, Role.LAB_STAFF, username="ana")
    donor = DonorFactory(lab=lab, project=project, code="DON-0042")
    isolation.library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")
    sample = sample_register(
        actor=staff,
        project=project,
        donor=donor,
        biofluid="blood_plasma",
        volume_ml=Decimal("3"),
        aliquot_volumes_ul=[500],
    )
    run = isolation.run_plan(
        actor=staff, project=project, protocol_version=version, inputs=[(sample.aliquots.get(), 400)]
    )
    return sample, run, run.preparations.get()


def sign_in(page, base_url):
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your labs at a glance")).to_be_visible()


def test_a_scanned_barcode_opens_its_record(live_server, page):
    _, _, preparation = bench()
    sign_in(page, live_server.url)
    box = page.get_by_role("searchbox", name="Scan a barcode or search")
    # The start page puts the cursor in the box: a scanner can send its keystrokes straight away.
    expect(box).to_be_focused()
    # A scanner types the label's characters (here in small letters, as with caps lock on) and ends with Enter.
    page.keyboard.type(preparation.barcode.lower())
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/preparations/{preparation.pk}/$"))
    expect(page.get_by_text(preparation.barcode).first).to_be_visible()
    # The box is empty again for the next label, and "/" brings the cursor back to it (Alt+K, its access key, is
    # the browser's own and is not sent by synthetic key presses).
    box = page.get_by_role("searchbox", name="Scan a barcode or search")
    expect(box).to_have_value("")
    expect(box).to_have_attribute("accesskey", "k")
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type(f"  {preparation.run.code} ")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/runs/{preparation.run_id}/$"))


def test_words_list_the_matching_records_by_kind(live_server, page):
    sample, run, preparation = bench()
    sign_in(page, live_server.url)
    box = page.get_by_role("searchbox", name="Scan a barcode or search")
    box.fill("plasma1")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=plasma1$"))
    expect(page.get_by_role("heading", name="Search for “plasma1”")).to_be_visible()
    expect(box).to_have_value("plasma1")
    for section, code in (
        ("#results-donor", "DON-0042"),
        ("#results-sample", sample.barcode),
        ("#results-run", run.code),
        ("#results-preparation", preparation.barcode),
    ):
        expect(page.locator(section)).to_contain_text(code)
    expect(page.locator("#results-sample .badge")).to_have_text("1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search-results.png"), full_page=True)
    page.locator("#results-run").get_by_role("link", name=run.code).click()
    expect(page).to_have_url(re.compile(rf"/runs/{run.pk}/$"))
