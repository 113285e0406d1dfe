"""The western blot page: shared details once, lanes × markers, the image; all or nothing, errors on the lane and
cell with every value kept, the "Did you mean" of an unknown marker, a locked preparation's reason."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evlims.characterization.models import MarkerResult, Measurement
from evlims.compliance.models import Review
from evlims.instruments.models import RawFile
from tests.approved_world import approved_world

from .test_results import make_preparation

URL = reverse("evlims:blot-new")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def preparations(staff, project):
    return [make_preparation(staff, project, f"EVP-W{n}") for n in (1, 2, 3)]


def posted(lab, lanes, markers=(("CD63", "H5C6"), ("TSG101", "4A10")), **extra):
    """The form as a person fills it: lanes are (barcode, [band, …]) with a band "detected", "not_detected" or a
    value."""
    data = {
        "lab": lab.pk,
        "method": "western_blot",
        "lysate_buffer": "RIPA",
        "lysate_reducing": "no",
        "protein_loaded_ug": "10",
        "compared_with_source_lysate": "yes",
        "blot_token": "token-1",
        "lanes": str(len(lanes)),
        "markers": str(len(markers)),
    }
    for j, (protein, clone) in enumerate(markers):
        data |= {f"marker-{j}-protein": protein, f"marker-{j}-clone": clone, f"marker-{j}-dilution": "1:1000"}
    for i, (barcode, bands) in enumerate(lanes):
        data[f"lane-{i}-preparation"] = barcode
        for j, band in enumerate(bands):
            if band in ("detected", "not_detected"):
                data[f"lane-{i}-band-{j}"] = band
            elif band is not None:
                data |= {f"lane-{i}-band-{j}": "value", f"lane-{i}-value-{j}": band}
    return data | extra


def test_a_blot_of_three_lanes_and_two_markers_with_its_image_is_one_submission(member_client, lab, preparations):
    lanes = [(p.barcode, ["detected", "not_detected"]) for p in preparations[:2]] + [
        (preparations[2].barcode, ["0.8", "detected"])
    ]
    image = SimpleUploadedFile("blot.png", PNG, content_type="image/png")
    response = member_client.post(URL, posted(lab, lanes, image=image))
    assert response.status_code == 302
    markers = MarkerResult.objects.select_related("measurement__preparation")
    assert markers.count() == 6
    raw = RawFile.objects.get(original_name="blot.png")
    assert {m.measurement.raw_file_id for m in markers} == {raw.pk}
    third = {m.protein: m for m in markers if m.measurement.preparation == preparations[2]}
    assert third["CD63"].detection == "semi_quantitative" and third["CD63"].semi_quantitative_value == 0.8
    assert {m.lysate_buffer for m in markers} == {"RIPA"} and {m.protein_loaded_ug for m in markers} == {10}
    assert {m.antibody_clone for m in markers if m.protein == "TSG101"} == {"4A10"}
    ingestion = markers.first().measurement.ingestion
    assert response["Location"] == reverse("evlims:ingestion-detail", args=[ingestion.pk])
    page = member_client.get(response["Location"]).content.decode()
    assert "6 results recorded" in page and "blot.png" in page


def test_one_bad_lane_refuses_the_blot_with_errors_on_the_lane_and_cell_and_every_value_kept(
    member_client, lab, preparations
):
    lanes = [(preparations[0].barcode, ["detected", "detected"]), ("EVP-NONE", ["detected", None]), ("", [None, None])]
    image = SimpleUploadedFile("blot.png", PNG, content_type="image/png")
    response = member_client.post(URL, posted(lab, lanes, image=image))
    assert response.status_code == 200
    grid = response.context["grid"]
    assert grid.lanes[1].cells[1].errors == ["Say whether TSG101 was detected in this lane, or give its value."]
    assert not Measurement.objects.exists()
    page = response.content.decode()
    assert 'value="EVP-NONE"' in page and 'value="H5C6"' in page and 'value="RIPA"' in page
    kept = RawFile.objects.get(original_name="blot.png")  # kept, and offered again
    assert response.context["kept"] == kept and f'name="kept_image" value="{kept.pk}"' in page

    lanes[1] = ("EVP-NONE", ["detected", "not_detected"])
    response = member_client.post(URL, posted(lab, lanes, kept_image=str(kept.pk)))
    assert response.context["grid"].lanes[1].errors == ["No preparation EVP-NONE in this lab."]
    assert 'id="lane-1"' in response.content.decode() and not Measurement.objects.exists()

    lanes[1] = (preparations[1].barcode, ["detected", "not_detected"])
    response = member_client.post(URL, posted(lab, lanes, kept_image=str(kept.pk)))
    assert response.status_code == 302
    assert {m.raw_file_id for m in Measurement.objects.all()} == {kept.pk}
    assert Measurement.objects.count() == 4  # the empty third row is not recorded


def test_an_unknown_marker_gets_did_you_mean_and_record_it_as_typed(member_client, lab, preparations):
    lanes = [(preparations[0].barcode, ["detected", "detected"])]
    data = posted(lab, lanes, markers=(("CD-63", "H5C6"), ("MADEUP1", "X1")))
    response = member_client.post(URL, data)
    grid = response.context["grid"]
    assert "CD-63 is not in the marker vocabulary. Did you mean CD63?" in grid.markers[0].errors[0]
    assert "Record it as typed" in grid.markers[1].errors[0]
    assert 'name="marker-1-confirmed"' in response.content.decode()
    data |= {"marker-0-protein": "CD63", "marker-1-confirmed": "1"}
    assert member_client.post(URL, data).status_code == 302
    assert sorted(MarkerResult.objects.values_list("protein", flat=True)) == ["CD63", "MADEUP1"]


def test_a_locked_preparation_shows_the_approval_and_asks_for_a_reason(member_client, lab, project, staff):
    world = approved_world(lab, project, staff)
    data = posted(lab, [(world.preparation.barcode, ["detected", "detected"])])
    response = member_client.post(URL, data)
    page = response.content.decode()
    assert 'id="approval-warning"' in page and world.preparation.barcode in page
    assert "approved and locked" in response.context["form"].errors["reason"][0]
    assert not Measurement.objects.filter(kind="marker").exists()
    response = member_client.post(URL, data | {"reason": "Blot added after release"})
    assert response.status_code == 302
    assert Review.objects.get(pk=world.review.pk).state == Review.State.VOIDED


def test_add_a_lane_and_add_a_marker_without_scripts_keep_the_values(member_client, lab, preparations):
    data = posted(lab, [(preparations[0].barcode, ["detected", "not_detected"])], add="lane")
    grid = member_client.post(URL, data).context["grid"]
    assert len(grid.lanes) == 2 and grid.lanes[0].preparation == preparations[0].barcode
    data |= {"lanes": "2", "add": "marker"}
    grid = member_client.post(URL, data).context["grid"]
    assert len(grid.markers) == 3 and grid.markers[1].protein == "TSG101"
    assert not Measurement.objects.exists()


def test_the_page_starts_from_a_preparation_and_loads_its_script(member_client, preparations):
    response = member_client.get(f"{URL}?preparation={preparations[0].pk}")
    page = response.content.decode()
    assert f'value="{preparations[0].barcode}"' in page
    assert "evlims/js/blot-grid.js" in page and "<script>" not in page


def test_a_file_that_is_not_an_image_is_refused_on_the_image_field(member_client, lab, preparations):
    lanes = [(preparations[0].barcode, ["detected", "detected"])]
    fake = SimpleUploadedFile("blot.png", b"not an image", content_type="image/png")
    response = member_client.post(URL, posted(lab, lanes, image=fake))
    assert "is not a PNG, JPEG or TIFF image" in response.context["form"].errors["image"][0]
    assert not Measurement.objects.exists()


def test_readers_may_not_record_a_blot(client, qa_manager):
    client.force_login(qa_manager)
    assert client.get(URL).status_code == 403
