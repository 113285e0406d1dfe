"""In the browser: a western blot of two lanes and two markers, the second marker added in the page, entered with its
image in one submission, shows four marker results on the preparation page; three tab-separated rows pasted from a
spreadsheet are previewed, then recorded together."""

import pytest
from playwright.sync_api import expect

from evlims.characterization.models import MarkerResult, Measurement
from evlims.instruments.models import RawFile
from tests.approved_world import PASSWORD
from tests.factories import LabFactory, ProjectFactory, member
from tests.web.test_results import make_preparation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def log_in(page, base_url, username):
    page.goto(f"{base_url}/samples/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def world():
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    project = ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")
    staff = member(lab, username="ana")
    staff.set_password(PASSWORD)
    staff.save()
    return staff, project


def test_a_blot_of_two_lanes_and_two_markers_with_its_image(live_server, page, world, tmp_path):
    staff, project = world
    preparation = make_preparation(staff, project, "EVP-BLOT1")
    log_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/results/blots/new/?preparation={preparation.pk}")
    page.get_by_label("Lysis buffer").fill("RIPA with protease inhibitors")
    page.get_by_label("Protein loaded per lane (µg)").fill("10")

    grid = page.locator("#blot-grid")
    expect(grid.locator("tbody tr")).to_have_count(3)
    columns = grid.locator("thead th.blot-marker")
    expect(columns).to_have_count(2)  # the second column is left empty: not recorded
    page.get_by_label("Marker 1: protein (HGNC symbol)").fill("CD63")
    page.locator("#marker-0-clone").fill("H5C6")
    page.get_by_role("button", name="Add a marker").click()  # no reload: the third column appears in the page
    expect(columns).to_have_count(3)
    page.get_by_label("Marker 3: protein (HGNC symbol)").fill("TSG101")
    page.locator("#marker-2-catalogue").fill("ab125011")

    expect(page.locator("#lane-0-preparation")).to_have_value("EVP-BLOT1")
    page.locator("#lane-0-preparation").press("Enter")  # moves to the next lane, sends nothing
    expect(page.locator("#lane-1-preparation")).to_be_focused()
    page.keyboard.type("EVP-BLOT1")
    page.select_option("#lane-0-band-0", "detected")
    page.select_option("#lane-0-band-2", "not_detected")
    page.select_option("#lane-1-band-0", "detected")
    page.select_option("#lane-1-band-2", "value")
    page.locator("#lane-1-value-2").fill("0.4")
    image = tmp_path / "blot.png"
    image.write_bytes(PNG)
    page.get_by_label("Blot image").set_input_files(str(image))
    page.get_by_role("button", name="Record the blot").click()

    expect(page.locator(".alert-success")).to_contain_text("Blot recorded: 4 marker results (CD63, TSG101)")
    assert page.url.startswith(f"{live_server.url}/preparations/{preparation.pk}/")
    markers = MarkerResult.objects.filter(measurement__preparation=preparation)
    assert markers.count() == 4
    for marker in markers:
        expect(page.locator(f"#measurement-{marker.measurement_id}")).to_be_visible()
    expect(page.locator("body")).to_contain_text("TSG101")
    raw = RawFile.objects.get(original_name="blot.png")
    assert set(Measurement.objects.values_list("raw_file_id", flat=True)) == {raw.pk}


def test_three_pasted_rows_are_previewed_then_recorded(live_server, page, world):
    staff, project = world
    for barcode in ("EVP-PASTE1", "EVP-PASTE2"):
        make_preparation(staff, project, barcode)
    log_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/results/paste/")
    text = "\n".join(
        [
            "Preparation\tKind\tMethod\tProtein (µg/mL)\tParticles/mL\tMarker\tDetected\tAntibody clone",
            "EVP-PASTE1\tProtein\tBCA\t125.5\t\t\t\t",
            "EVP-PASTE1\tParticle\tNTA\t\t1.20E+11\t\t\t",
            "EVP-PASTE2\tMarker\tWestern blot\t\t\tCD63\tyes\tH5C6",
        ]
    )
    page.get_by_label("Rows copied from a spreadsheet").fill(text)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#paste-preview")
    expect(preview).to_contain_text("3 rows read")
    expect(page.locator("#paste-row-2")).to_contain_text("125.5 µg/mL protein")
    expect(page.locator("#paste-row-4")).to_contain_text("CD63 detected")
    assert not Measurement.objects.exists()

    page.get_by_role("button", name="Record these 3 results").click()
    expect(page.locator(".alert-success")).to_contain_text("3 results recorded from the pasted rows")
    expect(page.locator("#ingestion-results")).to_contain_text("3 results recorded")
    assert sorted(Measurement.objects.values_list("kind", flat=True)) == ["marker", "particle", "protein"]
