"""In the browser: a member opens the Levey–Jennings chart of a control material whose limits rest on a short
baseline, for particles per µg (a log-normal figure). The page says the limits are provisional, that they are
geometric on a logarithmic axis, and lists the R-4s the last run broke across the two materials measured in it,
with both preparations."""

import pytest
from playwright.sync_api import expect

from tests.approved_world import PASSWORD
from tests.control_world import BASELINE, two_levels
from tests.factories import LabFactory, ProjectFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/samples/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_provisional_log_scale_chart_with_r_4s_across_two_levels(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="QC1", title="Process control")
    ana = member(lab, username="ana")
    world = two_levels(lab, project, ana)
    log_in(page, live_server.url, "ana")

    page.goto(f"{live_server.url}/dashboard/controls/")
    page.get_by_role("link", name="High EV reference").first.click()
    expect(page.get_by_role("heading", name="High EV reference")).to_be_visible()

    notice = page.locator("#provisional-limits")
    expect(notice).to_contain_text(f"Provisional limits: estimated from {BASELINE} runs; 20 are needed.")
    expect(page.locator("main")).to_contain_text("the limits are geometric")
    expect(page.locator("main")).to_contain_text("the chart's axis is logarithmic")

    violations = page.get_by_role("table").filter(has_text="Preparations involved")
    row = violations.get_by_role("row").filter(has_text="R-4s")
    expect(row).to_contain_text("across levels within one run")
    expect(row).to_contain_text(world.last_high.run.code)
    expect(row).to_contain_text(world.last_low.barcode)
    expect(row).to_contain_text(world.last_high.barcode)
