"""In the browser: a NanoSight export that records no dilution is uploaded; the preview shows when the
instrument acquired it and the capture it rated unreliable; the commit form asks for the dilution with the
factor the name suggests pre-filled; once committed, the result page says the result was measured when the
file says (not when it was uploaded) and that the unreliable capture is left out of the mean."""

import pytest
from playwright.sync_api import expect

from evlims.characterization.models import Measurement
from tests.factories import LabFactory, ProjectFactory, member
from tests.fixtures.instruments import NANOSIGHT_ONE_UNRELIABLE, instrument_path
from tests.web.test_results import make_preparation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def test_uploading_a_file_without_dilution_and_committing_it(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    staff = member(lab, username="ana")
    preparation = make_preparation(staff, project, "EVP-E2E1", final_volume_ul=100)
    page.goto(f"{live_server.url}/samples/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/results/upload/")
    page.get_by_label("Instrument file").set_input_files(str(instrument_path(NANOSIGHT_ONE_UNRELIABLE)))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator("#acquired-at")).to_contain_text("3 Mar 2025 14:02 (from the file, site time)")
    expect(page.locator(".particle-sample .captures")).to_contain_text("invalid (Unreliable (instrument))")
    dilution = page.get_by_label("Dilution factor for EV12_1in2000")
    expect(dilution).to_have_value("2000.0")
    expect(page.locator("#mapping-form")).to_contain_text("Suggested by the name (“1in2000”): check it.")

    # Without a barcode's dilution decided nothing is recorded: clearing the suggestion is refused.
    page.get_by_label("Preparation for EV12_1in2000").fill(preparation.barcode)
    dilution.fill("")
    page.get_by_role("button", name="Record the mapped samples").click()
    expect(page.locator("#mapping-form")).to_contain_text("The file records no dilution")
    expect(page.get_by_label("Preparation for EV12_1in2000")).to_have_value(preparation.barcode)
    assert not Measurement.objects.exists()

    page.get_by_label("Dilution factor for EV12_1in2000").fill("2000")
    page.get_by_role("button", name="Record the mapped samples").click()
    expect(page.get_by_role("alert").first).to_contain_text("1 result recorded")

    page.goto(f"{live_server.url}/preparations/{preparation.pk}/")
    result = page.locator(f"#measurement-{Measurement.objects.get().pk}")
    expect(result.locator(".measured-when")).to_contain_text("Measured 3 Mar 2025 14:02 (from the file) · uploaded")
    expect(result.locator(".capture-note")).to_contain_text(
        "Mean of 4 of 5 captures; capture 3 left out: Unreliable (instrument)"
    )
