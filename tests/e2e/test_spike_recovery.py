"""In the browser: a person records a reference-material lot with its assigned value and standard uncertainty,
spikes 10 µL of it into an isolation run, records the tracer read back in one of the run's preparations, and
sees the recovery with its standard uncertainty on the preparation page."""

import pytest
from playwright.sync_api import expect

from tests.security.world import PASSWORD, build_lab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/samples/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_lot_spike_readout_and_the_recovery_on_the_preparation_page(live_server, page):
    world = build_lab("REC")
    world.preparation.final_volume_ul = 100
    world.preparation.save(update_fields=["final_volume_ul"])
    log_in(page, live_server.url, world.staff.username)

    page.goto(f"{live_server.url}/standards/")
    page.get_by_role("link", name="Record a lot").click()
    page.get_by_label("Reference material").fill("rEV (recombinant GFP EVs)")
    page.get_by_label("Lot number").fill("REV-BROWSER")
    page.get_by_label("Readout of the tracer").select_option(label="Fluorescent NTA count")
    page.get_by_role("spinbutton", name="Assigned value").fill("1e10")
    page.get_by_label("Standard uncertainty (k=1)").fill("1e9")
    page.get_by_label("Unit of the assigned value").select_option("particles/mL")
    page.get_by_role("button", name="Record").click()
    expect(page.locator("#assigned-value")).to_contain_text("1.00 × 10¹⁰ particles/mL")

    page.get_by_role("link", name="Record a spike of this lot").click()
    page.get_by_label("Isolation run code").fill(world.run.code)
    page.get_by_label("Amount spiked").fill("10")
    page.get_by_label("Unit of the amount").select_option("µL")
    page.get_by_role("button", name="Record").click()
    spikes = page.locator("#spike-table")
    expect(spikes).to_contain_text(f"Each input of run {world.run.code}")
    expect(spikes).to_contain_text("Blood plasma")

    spikes.get_by_role("link", name="Record a tracer readout").click()
    page.get_by_label("Preparation barcode").fill(world.preparation.barcode)
    page.get_by_role("spinbutton", name="Tracer readout").fill("4e8")
    page.get_by_label("Unit of the readout").select_option("particles/mL")
    page.get_by_label("Standard uncertainty (k=1)").fill("2e7")
    page.get_by_role("button", name="Record").click()

    expect(page.get_by_role("heading", name=world.preparation.barcode).first).to_be_visible()
    recovery = page.locator("#spike-recovery")
    # 4e8/mL x 0.1 mL of 10 µL x 1e10/mL: 40 %, u = 40 % x sqrt(0.10² + 0.05²) = 4.5 points.
    expect(recovery).to_contain_text("40.0 ± 4.5 %")
    expect(recovery).to_contain_text("REV-BROWSER")
