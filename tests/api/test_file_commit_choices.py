"""What a file commit says besides the mapping, through the API: the dilution a file does not record (a 400
naming the field, with the name's suggestion), the captures the instrument marked invalid (left out of the mean
unless kept), the acquisition time as the measurement time, and the reason a locked preparation asks for."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent
from evlims.instruments.models import Ingestion
from evlims.review import services as review_services
from tests.fixtures.instruments import NANOSIGHT_BEADS_COMBINED, NANOSIGHT_ONE_UNRELIABLE, instrument_bytes

pytestmark = pytest.mark.django_db
FILES = "/api/v1/files/"
PASSWORD = "correct horse battery"
UNRELIABLE_NAME = "EV12_1in2000 2025-03-03 14-02-11-ExperimentSummary.csv"
VALID = (2.10e08, 2.30e08, 2.20e08, 2.40e08)
ALL = (*VALID, 0.40e08)


def preview(client, relative=NANOSIGHT_ONE_UNRELIABLE, name=UNRELIABLE_NAME):
    body = {"file": SimpleUploadedFile(name, instrument_bytes(relative), "text/csv")}
    response = client.post(FILES, body, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


def commit(client, ingestion_id, **body):
    return client.post(f"/api/v1/ingestions/{ingestion_id}/commit/", body, format="json")


def test_the_preview_offers_the_dilution_the_name_suggests(staff_api, evidence):
    body = preview(staff_api)
    assert body["dilution_suggestions"] == {"EV12_1in2000": {"factor": 2000.0, "from": "1in2000"}}
    assert body["parsed"]["acquired_at"] == "2025-03-03T14:02:11"
    reasons = [capture["invalid_reason"] for capture in body["parsed"]["samples"][0]["captures"]]
    assert reasons == ["", "", "Unreliable (instrument)", "", ""]


def test_a_commit_without_the_dilution_is_refused_naming_the_field_and_the_suggestion(staff_api, evidence):
    ingestion = preview(staff_api)["id"]
    response = commit(staff_api, ingestion, mapping={"EV12_1in2000": evidence.spare_preparation.barcode})
    assert response.status_code == 400
    [message] = response.json()["dilutions"]
    assert "EV12_1in2000" in message and "records no dilution" in message
    assert "suggests 2000 (“1in2000”)" in message and "undiluted" in message
    # Never applied silently: nothing was recorded and the file stays previewed.
    assert Ingestion.objects.get(pk=ingestion).status == Ingestion.Status.PREVIEW
    assert not Measurement.objects.filter(preparation=evidence.spare_preparation).exists()


def test_the_same_refusal_on_an_upload_that_commits_at_once(staff_api, evidence):
    body = {
        "file": SimpleUploadedFile(UNRELIABLE_NAME, instrument_bytes(NANOSIGHT_ONE_UNRELIABLE), "text/csv"),
        "mapping": json.dumps({"EV12_1in2000": evidence.spare_preparation.barcode}),
    }
    response = staff_api.post(FILES, body, format="multipart")
    assert response.status_code == 400
    assert "suggests 2000" in response.json()["dilutions"][0] and response.json()["ingestion"]


def test_an_unknown_word_for_a_dilution_is_refused(staff_api, evidence):
    ingestion = preview(staff_api)["id"]
    mapping = {"EV12_1in2000": evidence.spare_preparation.barcode}
    response = commit(staff_api, ingestion, mapping=mapping, dilutions={"EV12_1in2000": "neat"})
    assert response.status_code == 400
    assert response.json()["dilutions"] == {
        "EV12_1in2000": ['Give the dilution factor as a number of at least 1, or "undiluted".']
    }


def test_invalid_captures_are_stored_with_their_reason_and_left_out_of_the_mean(staff_api, evidence):
    ingestion = preview(staff_api)["id"]
    mapping = {"EV12_1in2000": evidence.spare_preparation.barcode}
    response = commit(staff_api, ingestion, mapping=mapping, dilutions={"EV12_1in2000": 2000})
    assert response.status_code == 200, response.json()
    measurement = Measurement.objects.get(preparation=evidence.spare_preparation)
    analysis = measurement.particle
    assert analysis.concentration_per_ml == pytest.approx(sum(VALID) / 4 * 2000)
    assert analysis.dilution_factor == 2000.0
    captures = list(analysis.captures.order_by("id"))
    assert [(c.valid, c.invalid_reason, c.included_in_mean) for c in captures][2] == (
        False,
        "Unreliable (instrument)",
        False,
    )
    assert sum(c.included_in_mean for c in captures) == 4
    # The acquisition time is the measurement time: the file's wall clock, in the site's time zone.
    acquired = datetime(2025, 3, 3, 14, 2, 11, tzinfo=ZoneInfo(settings.TIME_ZONE))
    assert measurement.measured_at == acquired
    assert measurement.created_at > acquired  # the upload stays on record
    event = AuditEvent.objects.get(action="ingestion.commit", object_id=str(ingestion))
    assert event.changes["keep_invalid_captures"] is False and event.changes["measured_at_from"] == "file"
    assert event.changes["dilutions"] == {"EV12_1in2000": 2000.0}


def test_kept_invalid_captures_count_in_the_recomputed_mean(staff_api, evidence):
    ingestion = preview(staff_api)["id"]
    response = commit(
        staff_api,
        ingestion,
        mapping={"EV12_1in2000": evidence.spare_preparation.barcode},
        dilutions={"EV12_1in2000": "undiluted"},
        keep_invalid_captures=True,
    )
    assert response.status_code == 200, response.json()
    analysis = Measurement.objects.get(preparation=evidence.spare_preparation).particle
    assert analysis.concentration_per_ml == pytest.approx(sum(ALL) / 5)
    assert analysis.dilution_factor == 1.0
    assert "concentration_per_ml" in analysis.computed and "size_mean_nm" in analysis.computed
    assert all(capture.included_in_mean for capture in analysis.captures.all())
    assert analysis.captures.filter(valid=False, invalid_reason="Unreliable (instrument)").count() == 1
    event = AuditEvent.objects.get(action="ingestion.commit", object_id=str(ingestion))
    assert event.changes["keep_invalid_captures"] is True


def test_a_file_without_an_acquisition_time_falls_back_and_says_so(staff_api, evidence):
    body = preview(staff_api, NANOSIGHT_BEADS_COMBINED, "beads.csv")
    assert body["parsed"]["acquired_at"] is None
    sample = body["samples"][0]
    response = commit(
        staff_api, body["id"], mapping={sample: evidence.spare_preparation.barcode}, dilutions={sample: "undiluted"}
    )
    assert response.status_code == 200, response.json()
    measurement = Measurement.objects.get(preparation=evidence.spare_preparation)
    assert measurement.measured_at == Ingestion.objects.get(pk=body["id"]).created_at
    assert "measured_at (upload time)" in measurement.particle.computed


def test_a_date_given_at_commit_is_used_when_the_file_states_none(staff_api, evidence):
    body = preview(staff_api, NANOSIGHT_BEADS_COMBINED, "beads.csv")
    sample = body["samples"][0]
    response = commit(
        staff_api,
        body["id"],
        mapping={sample: evidence.spare_preparation.barcode},
        dilutions={sample: 10000},
        measured_at="2025-02-01T09:30:00",
    )
    assert response.status_code == 200, response.json()
    measurement = Measurement.objects.get(preparation=evidence.spare_preparation)
    assert measurement.measured_at == datetime(2025, 2, 1, 9, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))
    assert "measured_at (given at commit)" in measurement.particle.computed


def test_a_locked_preparation_needs_a_reason(staff_api, evidence, qa_manager, admin):
    review = review_services.review_verify(actor=qa_manager, review=evidence.review, password=PASSWORD, statement="ok")
    review_services.review_approve(actor=admin, review=review, password=PASSWORD, statement="Released")
    assert review_services.is_locked(evidence.preparation)
    ingestion = preview(staff_api)["id"]
    choices = {"mapping": {"EV12_1in2000": evidence.preparation.barcode}, "dilutions": {"EV12_1in2000": 2000}}
    response = commit(staff_api, ingestion, **choices)
    assert response.status_code == 400
    assert "reason" in response.json() and "locked" in response.json()["reason"][0]
    response = commit(staff_api, ingestion, **choices, reason="Second NTA run after the review")
    assert response.status_code == 200, response.json()
    assert not review_services.is_locked(evidence.preparation)
    event = AuditEvent.objects.get(action="ingestion.commit", object_id=str(ingestion))
    assert event.reason == "Second NTA run after the review"
