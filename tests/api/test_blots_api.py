"""POST /api/v1/blots/: a western blot as JSON, or multipart with its image; 201 with one marker result per band,
400 naming the lane or field (nothing recorded, the image kept), keys refused, the schema with its example."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.models import MarkerResult, Measurement
from evlims.instruments.models import RawFile
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db
URL = "/api/v1/blots/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 40


@pytest.fixture
def preparations(staff, project):
    return [make_preparation(staff, project, f"EVP-A{n}") for n in (1, 2)]


def blot(*barcodes, second=None):
    return {
        "method": "western_blot",
        "lysate": {"buffer": "RIPA", "protein_loaded_ug": 10},
        "markers": [
            {"protein": "CD63", "antibody": {"clone": "H5C6"}},
            {"protein": "TSG101", "antibody": {"catalogue": "ab125011"}},
        ],
        "lanes": [
            {
                "preparation": barcode,
                "bands": [{"detected": True}, {"semi_quantitative_value": 0.4} if second is None else second],
            }
            for barcode in barcodes
        ],
    }


def test_a_json_blot_records_a_marker_result_per_band(staff_api, preparations):
    response = staff_api.post(URL, {"blot": blot(*(p.barcode for p in preparations))}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["measurements"]) == 4 and body["image"] is None
    stored = MarkerResult.objects.filter(measurement__in=body["measurements"]).order_by("measurement_id")
    assert [(m.protein, m.detection) for m in stored] == [
        ("CD63", "detected"),
        ("TSG101", "semi_quantitative"),
    ] * 2
    assert {m.measurement.ingestion_id for m in stored} == {body["ingestion"]}


def test_a_multipart_blot_carries_its_image(staff_api, preparations):
    image = SimpleUploadedFile("blot.tif", b"II*\x00" + b"\x01" * 40, content_type="image/tiff")
    data = {"blot": json.dumps(blot(preparations[0].barcode)), "image": image}
    response = staff_api.post(URL, data, format="multipart")
    assert response.status_code == 201, response.json()
    raw = RawFile.objects.get(pk=response.json()["image"])
    assert raw.original_name == "blot.tif" and raw.content_type == "image/tiff"
    assert set(Measurement.objects.values_list("raw_file_id", flat=True)) == {raw.pk}


def test_a_refused_blot_names_the_lane_and_field_and_keeps_the_image(staff_api, preparations):
    bad = blot(preparations[0].barcode, "EVP-NOPE", second={})
    data = {"blot": json.dumps(bad), "image": SimpleUploadedFile("blot.png", PNG, content_type="image/png")}
    response = staff_api.post(URL, data, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["blot.lanes[0].bands[1].detected"] == ["Say whether the marker was detected."]
    assert "blot.lanes[1].bands[1].detected" in body
    assert not Measurement.objects.exists()
    assert RawFile.objects.filter(pk=body["image_kept"], original_name="blot.png").exists()
    fixed = blot(preparations[0].barcode)
    response = staff_api.post(URL, {"blot": blot(preparations[0].barcode, "EVP-NOPE")}, format="json")
    assert response.json() == {"blot.lanes[1].preparation": ["No preparation EVP-NOPE in this lab."]}
    fixed["markers"][0]["protein"] = "CD-63"
    response = staff_api.post(URL, {"blot": fixed}, format="json")
    assert "Did you mean CD63?" in response.json()["blot.markers[0].protein"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "blot"),
        ({"blot": "not json"}, "blot"),
        ({"blot": json.dumps({"method": "western_blot", "markers": [], "lanes": []})}, "blot.markers"),
    ],
)
def test_malformed_requests_are_400s_naming_the_field(staff_api, data, field):
    response = staff_api.post(URL, data, format="multipart")
    assert response.status_code == 400
    assert field in response.json()


def test_a_file_that_is_not_an_image_is_refused(staff_api, preparations):
    fake = SimpleUploadedFile("blot.png", b"GIF89a....", content_type="image/png")
    response = staff_api.post(URL, {"blot": json.dumps(blot(preparations[0].barcode)), "image": fake})
    assert response.status_code == 400
    assert "is not a PNG, JPEG or TIFF image" in response.json()["image"][0]


def test_instrument_keys_and_readers_may_not_post_blots(write_key_api, qa_api, evidence):
    assert write_key_api.post(URL, {"blot": blot("EVP-X")}, format="json").status_code == 403
    assert qa_api.post(URL, {"blot": blot("EVP-X")}, format="json").status_code == 403


def test_the_schema_documents_the_endpoint_with_an_example(staff_api):
    schema = staff_api.get("/api/v1/schema/?format=json").json()
    post = schema["paths"]["/api/v1/blots/"]["post"]
    assert {"201", "400"} <= set(post["responses"])
    content = post["requestBody"]["content"]
    assert content["application/json"]["examples"] and "multipart/form-data" in content
