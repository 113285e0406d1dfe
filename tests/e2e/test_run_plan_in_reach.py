"""With a long list of aliquots on the run plan page, the plan button stays in sight however far one scrolls."""

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.samples import services
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_plan_button_stays_in_the_viewport(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1")
    ana = member(lab, Role.LAB_STAFF, username="ana")
    for _ in range(3):
        services.sample_register(
            actor=ana, project=project, biofluid="serum", volume_ml=2, aliquot_volumes_ul=[40] * 30
        )

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/runs/new/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    button = page.get_by_role("button", name="Plan the run")
    expect(button).to_be_in_viewport()
    assert page.locator("#aliquot-picker-table tbody tr").count() == 90
    page.locator("#aliquot-picker-table tbody tr").last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    expect(button).to_be_in_viewport()
