"""A lab member registers a sample, splits it into aliquots placed in a box, and finds them on the box view."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.samples.models import Aliquot, Sample
from tests.factories import LabFactory, ProjectFactory, member, storage_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))


def test_register_split_and_store(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    box = storage_box(lab, name="Box A", rows=4, columns=6)
    member(lab, Role.LAB_STAFF, username="ana")

    page.goto(f"{live_server.url}/samples/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/samples/"))
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Samples")).to_be_visible()

    page.get_by_role("link", name="Register a sample").click()
    page.get_by_label("Project").select_option(label="PLASMA1 — Plasma EV biomarkers")
    page.get_by_label("Biofluid").select_option("blood_plasma")
    expect(page.locator("#group-blood")).to_be_visible()
    expect(page.locator("#group-urine")).to_be_hidden()
    page.get_by_label("Volume (mL)").fill("2")
    page.get_by_label("Anticoagulant").select_option("k2_edta")
    page.get_by_label("Number of preparation spins").fill("2")
    page.get_by_label("Time from collection to first spin (min)").fill("600")
    page.get_by_label("Number of aliquots").fill("1")
    page.get_by_label("Volume of each aliquot (µL)").fill("1500")
    page.get_by_role("button", name="Register sample").click()

    expect(page.get_by_text(re.compile(r"Sample EVS-\d+ registered"))).to_be_visible()
    sample = Sample.objects.get()
    parent = sample.aliquots.get()
    expect(page.locator("#quality-flags")).to_contain_text("allows at most 8 h")

    page.locator(f"#aliquot-{parent.pk}").get_by_role("link", name="Split").click()
    page.get_by_label("Volumes of the new aliquots (µL)").fill("500, 500, 250")
    page.get_by_label("Box").select_option(label=box.path)
    page.get_by_role("button", name="Split").click()
    expect(page.get_by_text(re.compile(rf"{parent.barcode} split into"))).to_be_visible()

    children = list(Aliquot.objects.filter(parent=parent).order_by("id"))
    assert [c.position_label for c in children] == ["A1", "A2", "A3"]

    # Move the last child to a free cell picked on the grid the move form loads for the chosen box.
    page.locator(f"#aliquot-{children[2].pk}").get_by_role("link", name="Move").click()
    page.get_by_label("Box").select_option(label=box.path)
    page.get_by_role("button", name="Pick free position C4").click()
    expect(page.locator("#id_position")).to_have_value("C4")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text(f"{children[2].barcode} is now in {box.path} at C4.")).to_be_visible()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sample-detail.png"), full_page=True)

    page.get_by_role("link", name="Boxes").click()
    page.get_by_role("link", name=box.path).click()
    grid = page.get_by_role("table", name=f"Positions of {box.path}")
    for child, position in zip(children, ["A1", "A2", "C4"], strict=True):
        expect(grid.locator(f'td[data-position="{position}"]')).to_contain_text(child.barcode)
    expect(grid.locator('td[data-position="A3"]')).to_contain_text("free")
    page.screenshot(path=str(SCREENSHOTS / "box-view.png"), full_page=True)
