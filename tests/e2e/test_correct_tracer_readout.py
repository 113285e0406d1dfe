"""In the browser: a person opens a tracer readout from the preparation page's recovery, corrects it on the
readout's page with a reason (the preparation's final volume carrying ISO 8655-2's pipetting uncertainty), sees
the new recovery with its uncertainty budget and the old version kept, then voids the corrected readout and the
recovery leaves the preparation page."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_spike_recovery import log_in
from tests.security.world import build_lab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_correct_then_void_a_tracer_readout(live_server, page):
    world = build_lab("COR")
    world.preparation.final_volume_ul = 100
    world.preparation.save(update_fields=["final_volume_ul"])
    log_in(page, live_server.url, world.staff.username)

    page.goto(f"{live_server.url}/preparations/{world.preparation.pk}/")
    recovery = page.locator("#spike-recovery")
    expect(recovery).to_contain_text("40.0 ±")
    recovery.get_by_role("link", name="details").click()

    form = page.locator("#correct-form")
    form.get_by_role("spinbutton", name="Tracer readout").fill("5e8")
    form.get_by_label("Pipetting uncertainty of the final volume from ISO 8655-2").check()
    form.get_by_label("Reason for the change").fill("Read on the wrong channel")
    form.get_by_role("button", name="Save the correction").click()

    expect(page.locator("#readout-recovery")).to_contain_text("50.0 ±")
    expect(page.locator("#budget-volume")).to_contain_text("Final volume of the preparation")
    expect(page.locator("#budget-lot")).to_contain_text("Assigned value of the lot")
    versions = page.locator("#versions")
    expect(versions).to_contain_text("Superseded by a correction")
    expect(versions).to_contain_text("Read on the wrong channel")

    void = page.locator("#void-form")
    void.get_by_label("Reason for the change").fill("Tube swapped at the reader")
    void.get_by_role("button", name="Void").click()
    expect(page.get_by_role("heading", name=world.preparation.barcode).first).to_be_visible()
    expect(page.locator("#spike-recovery")).to_contain_text("No tracer readout yet.")
