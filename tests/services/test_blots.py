"""A western blot recorded as one entry (characterization.blots.blot_record): one marker result per band in one
transaction with one audit event, the image kept first (even when the blot is refused) and linked from every band,
refusals keyed by lane, marker and cell, a locked preparation's reason, and the bands counted by compliance."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.characterization.blots import BlotRefused, blot_documents, blot_record, image_type
from evlims.characterization.models import MarkerResult, Measurement
from evlims.compliance import services as compliance
from evlims.compliance.models import ComplianceEvaluation, Review
from evlims.core.models import AuditEvent
from evlims.instruments.models import Ingestion, RawFile
from tests.approved_world import approved_world
from tests.web.test_results import make_preparation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIFF = b"II*\x00" + b"\x01" * 64


def png(name="blot.png", data=PNG):
    return SimpleUploadedFile(name, data, content_type="image/png")


def blot(*barcodes, markers=("CD63", "TSG101"), bands=None):
    return {
        "method": "western_blot",
        "lysate": {"buffer": "RIPA", "reducing": False, "protein_loaded_ug": 10, "compared_with_source": True},
        "markers": [
            {"protein": name, "antibody": {"clone": f"clone-{name}", "dilution": "1:1000", "supplier": "Abcam"}}
            for name in markers
        ],
        "lanes": [
            {"preparation": barcode, "bands": bands[i] if bands else [{"detected": True}, {"detected": False}]}
            for i, barcode in enumerate(barcodes)
        ],
    }


@pytest.fixture
def preparations(staff, project):
    return [make_preparation(staff, project, f"EVP-B{n}") for n in (1, 2, 3)]


def test_a_blot_is_one_marker_result_per_band_in_one_transaction_with_one_audit_event(staff, lab, preparations):
    barcodes = [p.barcode for p in preparations]
    events = AuditEvent.objects.count()
    ingestion, measurements, replayed = blot_record(actor=staff, lab=lab, blot=blot(*barcodes), image=png())
    assert not replayed
    assert len(measurements) == 6
    markers = MarkerResult.objects.filter(measurement__in=measurements).select_related("measurement__preparation")
    seen = {(m.measurement.preparation.barcode, m.protein, m.detection) for m in markers}
    assert seen == {(b, "CD63", "detected") for b in barcodes} | {(b, "TSG101", "not_detected") for b in barcodes}
    for marker in markers:  # the shared details, typed once, are every band's
        assert (marker.lysate_buffer, marker.lysate_reducing, marker.protein_loaded_ug) == ("RIPA", False, 10)
        assert marker.compared_with_source_lysate is True
        assert marker.antibody_clone == f"clone-{marker.protein}" and marker.antibody_dilution == "1:1000"
        assert marker.measurement.method == "western_blot" and marker.measurement.recorded_by == staff
    raw = RawFile.objects.get(original_name="blot.png")
    assert raw.content_type == "image/png"
    assert {m.raw_file_id for m in measurements} == {raw.pk}
    assert {m.ingestion_id for m in measurements} == {ingestion.pk}
    assert ingestion.status == Ingestion.Status.COMMITTED and ingestion.raw_file == raw
    new = list(AuditEvent.objects.order_by("id")[events:])
    assert [e.action for e in new] == ["raw_file.store", "blot.record"]  # the image kept first, then the blot
    event = new[-1]
    assert event.changes["measurement_ids"] == [m.pk for m in measurements]
    assert event.changes["image"]["raw_file"] == raw.pk
    assert event.changes["markers"] == ["CD63", "TSG101"] and event.changes["lanes"] == barcodes


def test_every_band_is_a_marker_result_compliance_counts(staff, lab, preparations):
    prep = preparations[0]
    blot_record(actor=staff, lab=lab, blot=blot(prep.barcode, markers=("CD63", "ALB")))
    compliance.evaluate_preparations([prep.pk])
    evaluation = ComplianceEvaluation.objects.get(preparation=prep)
    found = {m["protein"]: m for m in evaluation.document["characterization"]["markers"]}
    assert set(found) == {"CD63", "ALB"}
    assert found["CD63"]["detected"] is True and found["ALB"]["detected"] is False


def test_one_bad_lane_refuses_the_whole_blot_naming_the_lane_and_cell_and_keeps_the_image(staff, lab, preparations):
    bands = [
        [{"detected": True}, {"detected": True}],
        [{"detected": True}, {}],
        [{"detected": True}, {"detected": "maybe"}],
    ]
    bad = blot(preparations[0].barcode, "EVP-NOPE", preparations[2].barcode, bands=bands)
    with pytest.raises(BlotRefused) as refused:
        blot_record(actor=staff, lab=lab, blot=bad, image=png())
    errors = refused.value.message_dict
    assert "lanes[1].bands[1].detected" in errors  # no band given
    assert "lanes[2].bands[1].detected" in errors  # not a yes or no
    assert Measurement.objects.count() == 0 and not Ingestion.objects.exists()
    kept = refused.value.raw_file
    assert kept is not None and RawFile.objects.filter(pk=kept.pk, original_name="blot.png").exists()

    bands[1][1], bands[2][1] = {"detected": False}, {"detected": False}
    with pytest.raises(BlotRefused) as refused:
        blot_record(actor=staff, lab=lab, blot=bad, image=kept)  # the kept image is offered again
    assert refused.value.message_dict == {"lanes[1].preparation": ["No preparation EVP-NOPE in this lab."]}
    assert Measurement.objects.count() == 0


def test_an_unknown_marker_is_refused_on_its_column_with_suggestions_unless_confirmed(staff, lab, preparations):
    typo = blot(preparations[0].barcode, markers=("CD-63", "TSG101"))
    with pytest.raises(ValidationError) as refused:
        blot_record(actor=staff, lab=lab, blot=typo)
    [message] = refused.value.message_dict["markers[0].protein"]
    assert "CD-63 is not in the marker vocabulary. Did you mean CD63?" in message
    made_up = blot(preparations[0].barcode, markers=("MADEUP1", "TSG101"))
    made_up["markers"][0]["protein_confirmed"] = True
    _ingestion, measurements, _ = blot_record(actor=staff, lab=lab, blot=made_up)
    assert MarkerResult.objects.get(measurement=measurements[0]).protein == "MADEUP1"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda b: b.pop("lanes"), "lanes"),
        (lambda b: b["lanes"][0]["bands"].pop(), "lanes[0].bands"),
        (lambda b: b["markers"][1].update(antibody={"dilution": "1:500"}), "markers[1].antibody.clone"),
        (lambda b: b.update(colour="blue"), "colour"),
        (lambda b: b["lysate"].update(protein_loaded_ug=-1), "lysate.protein_loaded_ug"),
    ],
)
def test_refusals_name_their_place_in_the_blot(staff, lab, preparations, change, key):
    bad = blot(preparations[0].barcode)
    change(bad)
    with pytest.raises(ValidationError) as refused:
        blot_record(actor=staff, lab=lab, blot=bad)
    assert key in refused.value.message_dict
    assert not Measurement.objects.exists()


def test_the_image_must_be_a_png_jpeg_or_tiff_by_its_content(staff, lab, preparations, settings):
    with pytest.raises(ValidationError) as refused:
        blot_record(actor=staff, lab=lab, blot=blot(preparations[0].barcode), image=png("blot.png", b"%PDF-1.4"))
    assert "is not a PNG, JPEG or TIFF image" in refused.value.message_dict["image"][0]
    assert image_type(TIFF) == "image/tiff" and image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    settings.EVLIMS = {"IMPORT_MAX_BYTES": 10}
    with pytest.raises(ValidationError) as refused:
        blot_record(actor=staff, lab=lab, blot=blot(preparations[0].barcode), image=png())
    assert "the largest accepted is 10" in refused.value.message_dict["image"][0]
    assert not RawFile.objects.exists() and not Measurement.objects.exists()


def test_the_same_form_sent_twice_records_the_blot_once(staff, lab, preparations):
    first = blot_record(actor=staff, lab=lab, blot=blot(preparations[0].barcode), idempotency_key="blot:abc")
    again = blot_record(actor=staff, lab=lab, blot=blot(preparations[0].barcode), idempotency_key="blot:abc")
    assert again[2] is True and again[0] == first[0]
    assert [m.pk for m in again[1]] == [m.pk for m in first[1]]
    assert Measurement.objects.count() == 2


def test_people_of_other_labs_and_readers_are_refused_before_anything_is_kept(lab, outsider, qa_manager, preparations):
    for actor in (outsider, qa_manager):
        with pytest.raises(PermissionDenied):
            blot_record(actor=actor, lab=lab, blot=blot(preparations[0].barcode), image=png())
    assert not RawFile.objects.exists()


def test_a_locked_preparation_needs_a_reason_and_the_approval_is_voided(lab, project, staff):
    world = approved_world(lab, project, staff)
    locked = blot(world.preparation.barcode)
    with pytest.raises(ValidationError) as refused:
        blot_record(actor=staff, lab=lab, blot=locked)
    assert "approved and locked" in refused.value.message_dict["reason"][0]
    assert Review.objects.get(pk=world.review.pk).state == Review.State.APPROVED
    blot_record(actor=staff, lab=lab, blot=locked, reason="CD63 blot added after release")
    assert Review.objects.get(pk=world.review.pk).state == Review.State.VOIDED


def test_blot_documents_are_marker_result_documents():
    documents, places = blot_documents(blot("EVP-1", "EVP-2"))
    assert places == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert documents[1] == {
        "kind": "marker",
        "method": "western_blot",
        "preparation": "EVP-1",
        "marker": {
            "protein": "TSG101",
            "antibody": {"clone": "clone-TSG101", "dilution": "1:1000", "supplier": "Abcam"},
            "lysate": {"buffer": "RIPA", "reducing": False, "protein_loaded_ug": 10, "compared_with_source": True},
            "detected": False,
        },
    }
