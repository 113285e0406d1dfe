"""Thawing from the sample page asks first, in the lab's words, and only the answer records the thaw."""

import re

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.samples import services
from tests.factories import LabFactory, ProjectFactory, member, storage_box

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_thaw_is_confirmed_before_it_is_recorded(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1")
    box = storage_box(lab, name="Box A", rows=4, columns=6)
    ana = member(lab, Role.LAB_STAFF, username="ana")
    sample = services.sample_register(
        actor=ana, project=project, biofluid="serum", volume_ml=2, aliquot_volumes_ul=[500], box=box
    )
    aliquot = sample.aliquots.get()

    page.goto(f"{live_server.url}/samples/{sample.pk}/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    page.locator(f"#aliquot-{aliquot.pk}").get_by_role("link", name="Thaw").click()
    expect(page.get_by_role("heading", name=f"Thaw {aliquot.barcode}?")).to_be_visible()
    expect(page.get_by_text("from 0 to 1")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/samples/{sample.pk}/$"))
    aliquot.refresh_from_db()
    assert aliquot.freeze_thaw_count == 0

    page.locator(f"#aliquot-{aliquot.pk}").get_by_role("link", name="Thaw").click()
    page.get_by_role("button", name="Yes, record the thaw").click()
    expect(page.get_by_text(f"{aliquot.barcode} thawed (cycle 1).")).to_be_visible()
    aliquot.refresh_from_db()
    assert aliquot.freeze_thaw_count == 1
