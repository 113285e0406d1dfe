"""In the browser: a 96-well BCA layout is drawn on the plate (standards filled as a dilution series in duplicate,
blanks and samples dragged across, the buffer sample placed as duplicates by clicking), saved, chosen for the upload
of a SoftMax Pro export, and the preview draws the standard curve with its model and R², the buffer marked out of
range."""

import pytest
from playwright.sync_api import expect

from evlims.instruments.models import PlateLayout
from tests.factories import LabFactory, member
from tests.fixtures.instruments import SOFTMAX_BCA, instrument_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def _centre(page, well):
    box = page.locator(f"#well-{well}").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag(page, first, last):
    page.mouse.move(*_centre(page, first))
    page.mouse.down()
    page.mouse.move(*_centre(page, last), steps=4)
    page.mouse.up()


def test_drawing_a_layout_and_using_it_for_a_plate_upload(live_server, page):
    lab = LabFactory(name="Vesicle Lab", slug="vesicle-lab")
    member(lab, username="ana")
    page.goto(f"{live_server.url}/plate-layouts/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="New 96-well layout").click()
    expect(page.locator("#plate-toolbar")).to_be_visible()
    page.locator("#id_name").fill("BCA duplicates")

    page.locator("#series-tools summary").click()
    page.get_by_label("Top concentration (µg/mL)").fill("2000")
    page.get_by_label("Dilution factor between levels").fill("2")
    page.get_by_label("Levels", exact=True).fill("6")
    page.locator("#series-replicates").select_option("2")
    page.get_by_role("button", name="Fill the series").click()
    expect(page.locator("#well-F2")).to_have_attribute("aria-label", "Well F2: standard 62.5 µg/mL")

    page.locator("label[for=editor-role-blank]").click()
    _drag(page, "G1", "H2")
    page.locator("label[for=editor-role-sample]").click()
    page.get_by_label("Sample label", exact=True).fill("EV isolate 1")
    _drag(page, "A3", "A4")
    page.get_by_label("Sample label", exact=True).fill("EV isolate 2")
    _drag(page, "B3", "B4")
    page.get_by_label("Sample label", exact=True).fill("buffer only")
    page.get_by_label("Replicates per click").select_option("2")
    page.locator("#well-G7").click()
    page.locator("#well-H7").click()
    expect(page.locator("#well-H8")).to_have_attribute("aria-label", "Well H8: sample buffer only")
    expect(page.locator("#plate-check")).to_have_text(
        "6 standard concentrations, 4 blank wells, 3 samples. Ready to save."
    )
    page.get_by_role("button", name="Save the layout").click()
    expect(page.get_by_role("alert").first).to_contain_text("Plate layout BCA duplicates saved.")

    layout = PlateLayout.objects.get()
    assert layout.wells["A1"] == {"role": "standard", "ug_per_ml": 2000.0}
    assert layout.wells["F2"] == {"role": "standard", "ug_per_ml": 62.5}
    assert [well for well, spec in layout.wells.items() if spec["role"] == "blank"] == ["G1", "G2", "H1", "H2"]
    assert {well for well, spec in layout.wells.items() if spec.get("name") == "buffer only"} == {
        "G7",
        "G8",
        "H7",
        "H8",
    }

    page.goto(f"{live_server.url}/results/upload/")
    page.get_by_label("Instrument file").set_input_files(str(instrument_path(SOFTMAX_BCA)))
    page.get_by_label("Saved plate layout").select_option(
        label="BCA duplicates (96 wells (8 × 12), version 1, Vesicle Lab)"
    )
    page.get_by_role("button", name="Upload and preview").click()

    figure = page.locator("#standard-curve-figure")
    expect(figure.locator("img")).to_be_visible()
    expect(page.locator("#standard-curve-model")).to_have_text("linear fit")
    expect(page.locator("#standard-curve-r2")).to_contain_text("R² 0.9")
    expect(page.locator("#standard-curve-summary")).to_contain_text(
        "buffer only: blank-corrected absorbance -0.0503, out of range (below the standards)"
    )
    expect(page.locator("#plate-samples")).to_contain_text("EV isolate 2")
