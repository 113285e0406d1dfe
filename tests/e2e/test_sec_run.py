"""A lab member runs the shipped qEV SEC protocol on three plasma aliquots, from planning to the preparations."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.isolation.models import EVPreparation, IsolationRun, ProtocolVersion
from evlims.isolation.services import library_load
from evlims.samples.models import Aliquot
from evlims.samples.services import sample_register
from evlims.web.forms.runs import version_label
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))


def test_sec_run_on_three_aliquots(live_server, page):
    library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", protocol__lab=None, version="1.0.0")
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    ana = member(lab, Role.LAB_STAFF, username="ana")
    sample = sample_register(
        actor=ana, project=project, biofluid="blood_plasma", volume_ml=Decimal("3"), aliquot_volumes_ul=[1000] * 3
    )
    aliquots = list(sample.aliquots.order_by("id"))

    page.goto(f"{live_server.url}/runs/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/runs/"))
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Isolation runs")).to_be_visible()

    # Plan: two aliquots scanned (one with its own volume), the third ticked in the list.
    page.get_by_role("link", name="Plan a run").click()
    page.get_by_label("Protocol version").select_option(label=version_label(version))
    page.get_by_label("Project*", exact=True).select_option(label=str(project))
    page.get_by_label("Scanned aliquots").fill(f"{aliquots[0].barcode}\n{aliquots[1].barcode} 0.5 mL")
    page.get_by_label("Default input volume").fill("500 µL")
    page.get_by_label(aliquots[2].barcode, exact=True).check()
    page.get_by_role("button", name="Plan the run").click()
    expect(page.get_by_text(re.compile(r"Run RUN-\d+ planned with 3 aliquot\(s\)"))).to_be_visible()
    run = IsolationRun.objects.get()

    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_role("heading", name=re.compile("Step 1 of 3"))).to_be_visible()
    expect(page.get_by_role("textbox", name="Speed (× g)")).to_have_value("1,500 x g")
    page.get_by_role("button", name="Save step 1").click()

    expect(page.get_by_text("Step 1 recorded: no deviation from the protocol.")).to_be_visible()
    page.get_by_role("textbox", name="Duration (min)").fill("12 min")  # two minutes longer than the protocol allows
    page.get_by_role("button", name="Save step 2").click()

    expect(page.get_by_text(re.compile(r"Step 2 recorded: 1 deviation\(s\)"))).to_be_visible()
    page.get_by_text("Other parameters of Size-exclusion chromatography").click()
    page.get_by_label("Column lot").fill("LOT-2291")
    page.get_by_role("button", name="Save step 3").click()

    expect(page.get_by_role("heading", name=re.compile("Complete run"))).to_be_visible()
    preparations = list(EVPreparation.objects.filter(run=run).order_by("barcode"))
    for position, prep in enumerate(preparations, start=1):
        expect(page.get_by_label(f"Final volume of {prep.barcode}")).to_have_value("1500")
        page.get_by_label(f"Storage location of {prep.barcode}").fill(f"Freezer F1, EV box 1, A{position}")
    page.get_by_role("button", name="Complete the run").click()

    expect(page.get_by_text(f"Run {run.code} completed: 3 EV preparation(s).")).to_be_visible()
    expect(page.locator("#run-status")).to_have_text("Completed")
    table = page.locator("#preparations")
    for prep, aliquot in zip(preparations, aliquots, strict=True):
        row = table.get_by_role("row").filter(has_text=prep.barcode)
        expect(row).to_contain_text(aliquot.barcode)
        expect(row).to_contain_text(sample.barcode)
        expect(row).to_contain_text("1500.0")
    expect(page.locator("#run-step-2")).to_contain_text("Deviation")
    lot = page.locator("#run-step-3").get_by_role("row").filter(has_text="column_lot")
    expect(lot).to_contain_text("LOT-2291")
    expect(lot).to_contain_text("the protocol does not set it")

    run.refresh_from_db()
    assert run.status == IsolationRun.Status.COMPLETED
    assert {p.input_aliquot_id: p.input_volume_ul for p in preparations} == {
        aliquots[0].pk: 500,
        aliquots[1].pk: 500,
        aliquots[2].pk: 500,
    }
    assert all(a.volume_ul == 500 for a in Aliquot.objects.filter(sample=sample))

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sec-run.png"), full_page=True)
