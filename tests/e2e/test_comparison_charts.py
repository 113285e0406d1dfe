"""A lab member opens the method comparison page and sees the charts drawn, then a control's Levey–Jennings chart."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evlims.core.models import Role
from evlims.metrics.models import ControlMaterial
from tests.factories import LabFactory, ProjectFactory, SampleFactory, member
from tests.services.test_control_charts import CRAFTED, control_run, preparation, protocol_version, size_bins

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("EVLIMS_SCREENSHOT_DIR", "/tmp/evlims-screenshots"))

# Draws an <img> onto a canvas and counts the pixels that are not white: a broken or empty image gives 0.
INKED_PIXELS = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) inked++;
  }
  return inked;
}"""


def sign_in(page, url, username):
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()


def drawn(page, selector) -> int:
    image = page.locator(f"{selector} img")
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")
    return image.evaluate(INKED_PIXELS)


def test_comparison_and_levey_jennings_charts_render(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1")
    ana = member(lab, Role.LAB_STAFF, username="ana")
    sec, uc = protocol_version(lab, "sec-plasma", "1.0"), protocol_version(lab, "uc-urine", "2.1")
    sec_preparations = []
    for index in range(6):
        sec_preparations.append(
            preparation(
                project,
                ana,
                version=sec,
                particles_per_ug=(1 + index) * 1e10,
                particle_yield_per_ml_input=(2 + index) * 1e9,
            )
        )
        preparation(
            project,
            ana,
            version=uc,
            method="uc",
            biofluid="urine",
            particles_per_ug=(1 + index) * 2e9,
            particle_yield_per_ml_input=(1 + index) * 5e8,
        )
    with_sizes = sec_preparations[0]
    # A peaked distribution: rising to 150 nm, then falling.
    size_bins(with_sizes, [(50 + 10 * i, 1e8 * min(i + 1, 20 - i)) for i in range(20)])
    material = ControlMaterial.objects.create(
        lab=lab, name="Reference EV", target_mean_particles_per_ug=1e10, target_sd_particles_per_ug=1e9
    )
    control_sample = SampleFactory(project=project, barcode="CTRL-1")
    material.samples.add(control_sample)
    control_run(project, ana, control_sample, CRAFTED, version=sec)

    # Every run: the fixtures' runs started in 2025, before the page's default window of the last 12 months.
    sign_in(page, f"{live_server.url}/dashboard/comparison/?started_from=", "ana")
    expect(page.get_by_role("heading", name="Method comparison")).to_be_visible()
    page.locator(f'input[name="overlay"][value="{with_sizes.pk}"]').check()
    page.get_by_role("button", name="Overlay the ticked preparations").click()
    expect(page.locator("#table-sizes")).to_contain_text(with_sizes.barcode)
    for chart in ("#chart-scatter", "#chart-box-purity", "#chart-box-yield", "#chart-overlay"):
        assert drawn(page, chart) > 2000, chart
    summary = page.locator("#table-summary")
    expect(summary).to_contain_text("Particles per µg protein")
    expect(summary.locator("tbody tr").first).to_contain_text("6")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "method-comparison.png"), full_page=True)

    page.get_by_role("link", name="Control charts").click()
    page.get_by_role("link", name="Reference EV").first.click()
    assert drawn(page, "#chart-levey-jennings") > 2000
    westgard = page.locator("#table-westgard")
    expect(westgard.locator("tbody tr").nth(2)).to_contain_text("1-2s, 1-3s")
    expect(westgard.locator("tbody tr").nth(5)).to_contain_text("1-2s, 2-2s")
    page.screenshot(path=str(SCREENSHOTS / "levey-jennings.png"), full_page=True)
