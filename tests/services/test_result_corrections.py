"""Correcting and voiding results (characterization.corrections): the versions kept, who may, the reason, the
audit events, the approval voided on a locked preparation, and only current results counting anywhere."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.characterization.corrections import result_correct, result_void
from evlims.characterization.models import Measurement, SizeBin
from evlims.characterization.selectors import results_set_aside, version_chain
from evlims.characterization.services import record_results
from evlims.compliance import services as compliance
from evlims.compliance.models import ComplianceEvaluation, Review
from evlims.core.models import AuditEvent, Role
from evlims.instruments import services as instruments
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.metrics import services as metrics
from evlims.metrics.models import PreparationMetrics
from evlims.samples.services import sample_register
from tests.approved_world import approved_world
from tests.factories import member
from tests.run_states import completed_run_fields


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def preparation(staff, project):
    sample = sample_register(
        actor=staff, project=project, biofluid="urine", volume_ml=Decimal("10"), aliquot_volumes_ul=[4000]
    )
    run = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-C1", protocol_name="SEC", operator=staff, **completed_run_fields()
    )
    return EVPreparation.objects.create(
        lab=project.lab,
        run=run,
        input_aliquot=sample.aliquots.get(),
        barcode="EVP-C1",
        input_volume_ul=4000,
        final_volume_ul=200,
    )


def particle(barcode, concentration=4e11, bins=(2e9, 1e9, 1e9)):
    return {
        "kind": "particle",
        "method": "nta",
        "preparation": barcode,
        "particle": {
            "technique": "nta",
            "concentration_per_ml": concentration,
            "size_mode_nm": 95.0,
            "histogram": {"bin_center_nm": [50, 150, 250], "concentration_per_ml": list(bins)},
        },
    }


def protein(barcode, value=10.0):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "bca", "concentration_ug_per_ml": value},
    }


def marker(barcode, symbol="CD63", detected=True):
    return {
        "kind": "marker",
        "method": "western_blot",
        "preparation": barcode,
        "marker": {"protein": symbol, "detected": detected, "antibody": {"clone": "H5C6"}},
    }


def record(actor, lab, *documents, reason=""):
    return record_results(actor=actor, lab=lab, documents=list(documents), reason=reason)


def test_a_correction_is_a_new_result_superseding_the_old_with_reason_who_and_when(staff, lab, preparation):
    old = record(staff, lab, protein(preparation.barcode, 10.0))[0]
    new = result_correct(
        actor=staff, measurement=old, document=protein(preparation.barcode, 12.5), reason="Wrong dilution typed"
    )
    old = Measurement.all_versions.get(pk=old.pk)
    assert new.supersedes == old and old.superseded_by == new
    assert new.status == Measurement.Status.CURRENT and new.values == {"protein_ug_per_ml": 12.5}
    assert new.protein.concentration_ug_per_ml == 12.5 and new.recorded_by == staff
    assert old.status == Measurement.Status.SUPERSEDED and old.status_reason == "Wrong dilution typed"
    assert old.status_changed_by == staff and old.status_changed_at is not None
    assert list(Measurement.objects.filter(preparation=preparation)) == [new]
    assert [m.pk for m in version_chain(old)] == [new.pk, old.pk] == [m.pk for m in version_chain(new)]
    event = AuditEvent.objects.get(action="measurement.correct")
    assert event.object_id == str(old.pk) and event.reason == "Wrong dilution typed"
    assert event.changes["status"] == ["current", "superseded"] and event.changes["correction"] == new.pk
    assert event.changes["values"] == [{"protein_ug_per_ml": 10.0}, {"protein_ug_per_ml": 12.5}]


def test_the_subject_and_kind_are_filled_in_and_must_match(staff, lab, preparation):
    old = record(staff, lab, protein(preparation.barcode))[0]
    document = {"method": "bca", "protein": {"assay": "bca", "concentration_ug_per_ml": 11.0}}
    assert result_correct(actor=staff, measurement=old, document=document, reason="typo").preparation == preparation
    current = Measurement.objects.get(preparation=preparation)
    with pytest.raises(ValidationError) as kind:
        result_correct(actor=staff, measurement=current, document=marker(preparation.barcode), reason="typo")
    assert "kind" in kind.value.message_dict
    with pytest.raises(ValidationError) as subject:
        result_correct(actor=staff, measurement=current, document=protein("EVP-OTHER"), reason="typo")
    assert "preparation" in subject.value.message_dict


def test_the_correction_is_validated_as_recording_validates_with_the_field_named(staff, lab, preparation):
    old = record(staff, lab, marker(preparation.barcode))[0]
    with pytest.raises(ValidationError) as error:
        result_correct(actor=staff, measurement=old, document=marker(preparation.barcode, "CD-63"), reason="typo")
    assert "Did you mean CD63?" in error.value.message_dict["marker.protein"][0]
    assert Measurement.all_versions.count() == 1 and not AuditEvent.objects.filter(action="measurement.correct")


def test_void_marks_the_result_void_and_keeps_it(staff, lab, preparation):
    old = record(staff, lab, marker(preparation.barcode))[0]
    voided = result_void(actor=staff, measurement=old, reason="Antibody lot recalled")
    assert voided.status == Measurement.Status.VOIDED and voided.status_reason == "Antibody lot recalled"
    assert not Measurement.objects.filter(preparation=preparation).exists()
    assert [m.pk for m in results_set_aside([preparation.pk])] == [old.pk]
    event = AuditEvent.objects.get(action="measurement.void")
    assert event.reason == "Antibody lot recalled" and event.changes["status"] == ["current", "voided"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(staff, lab, preparation, reason):
    old = record(staff, lab, marker(preparation.barcode))[0]
    with pytest.raises(ValidationError) as error:
        result_void(actor=staff, measurement=old, reason=reason)
    assert "Say why the result is voided" in error.value.message_dict["reason"][0]
    with pytest.raises(ValidationError) as error:
        result_correct(actor=staff, measurement=old, document=marker(preparation.barcode), reason=reason)
    assert "reason" in error.value.message_dict
    assert Measurement.objects.get().status == Measurement.Status.CURRENT


def test_only_a_current_result_can_be_corrected_or_voided(staff, lab, preparation):
    old = record(staff, lab, marker(preparation.barcode))[0]
    result_correct(actor=staff, measurement=old, document=marker(preparation.barcode, "CD81"), reason="wrong blot")
    for attempt in (
        lambda: result_void(actor=staff, measurement=old, reason="again"),
        lambda: result_correct(actor=staff, measurement=old, document=marker(preparation.barcode), reason="again"),
    ):
        with pytest.raises(ValidationError) as error:
            attempt()
        assert "superseded by a correction already" in error.value.message_dict["status"][0]


def test_the_recorder_and_lab_admins_may_others_not(staff, admin, lab, preparation, qa_manager):
    colleague = member(lab, Role.LAB_STAFF, username="colleague")
    first, second = record(staff, lab, marker(preparation.barcode), marker(preparation.barcode, "CD9"))
    for outsider in (colleague, qa_manager):
        with pytest.raises(PermissionDenied):
            result_void(actor=outsider, measurement=first, reason="not mine")
    assert result_void(actor=admin, measurement=first, reason="lab admin").status == Measurement.Status.VOIDED
    assert result_void(actor=staff, measurement=second, reason="mine").status_changed_by == staff


def test_a_result_an_instrument_posted_is_for_lab_admins(staff, admin, lab, preparation):
    instrument = instruments.instrument_register(actor=admin, lab=lab, name="NS300", kind="nta")
    instruments.results_ingest(
        actor=None, lab=lab, documents=[particle(preparation.barcode)], instrument=instrument, external_run_id="r1"
    )
    posted = Measurement.objects.get()
    assert posted.recorded_by is None
    with pytest.raises(PermissionDenied):
        result_void(actor=staff, measurement=posted, reason="looks wrong")
    with pytest.raises(PermissionDenied):
        result_void(actor=instrument, measurement=posted, reason="instrument")
    corrected = result_correct(
        actor=admin, measurement=posted, document=particle(preparation.barcode, 2e11), reason="dilution"
    )
    assert corrected.instrument == instrument and corrected.recorded_by == admin


@pytest.fixture
def approved(lab, project, staff):
    world = approved_world(lab, project, staff)
    return world


def test_changing_a_result_of_an_approved_preparation_voids_the_approval_with_the_reason(approved):
    w = approved
    result = record(w.staff, w.lab, marker(w.preparation.barcode), reason="Blot added before release")[0]
    w.review.refresh_from_db()
    assert w.review.state == Review.State.VOIDED  # recording voided the first approval
    from evlims.review import services as review_services
    from tests.approved_world import PASSWORD

    review = review_services.review_submit(
        actor=w.staff, preparation=w.preparation, reason="Again", justification="Accepted as it is for this study."
    )
    review = review_services.review_verify(actor=w.verifier, review=review, password=PASSWORD, statement="Checked")
    review = review_services.review_approve(actor=w.approver, review=review, password=PASSWORD, statement="Released")
    result_void(actor=w.staff, measurement=result, reason="Antibody lot recalled")
    review.refresh_from_db()
    assert review.state == Review.State.VOIDED
    voiding = AuditEvent.objects.filter(action="review.void", object_id=str(review.pk)).get()
    assert voiding.reason == "Antibody lot recalled"


def test_a_refused_change_on_an_approved_preparation_leaves_the_approval(approved):
    w = approved
    with pytest.raises(ValidationError):
        record(w.staff, w.lab, marker(w.preparation.barcode))  # no reason: refused
    w.review.refresh_from_db()
    assert w.review.state == Review.State.APPROVED


def test_only_current_results_count_in_metrics_and_compliance(staff, lab, preparation):
    """A voided CD63 is no marker any more; a corrected count feeds the figures, the old one does not."""
    count, total, cd63, cd9 = record(
        staff,
        lab,
        particle(preparation.barcode, 4e11),
        protein(preparation.barcode, 10.0),
        marker(preparation.barcode, "CD63"),
        marker(preparation.barcode, "CD9"),
    )
    metrics.recompute([preparation.pk])
    compliance.evaluate_preparations([preparation.pk])
    before = ComplianceEvaluation.objects.get(preparation=preparation)
    assert {m["protein"] for m in before.document["characterization"]["markers"]} == {"CD63", "CD9"}

    corrected = result_correct(
        actor=staff, measurement=count, document=particle(preparation.barcode, 8e11, (1e9, 1e9, 2e9)), reason="dil."
    )
    result_void(actor=staff, measurement=cd63, reason="Antibody lot recalled")
    metrics.recompute([preparation.pk])
    compliance.evaluate_preparations([preparation.pk])

    figures = PreparationMetrics.objects.get(preparation=preparation)
    assert figures.particles_per_ug == pytest.approx(8e10)  # 8e11 / 10 µg/mL: the corrected count alone
    assert figures.small_ev_fraction == pytest.approx(0.5)  # the corrected histogram's bins only
    assert set(figures.provenance["particles_per_ug"]) == {corrected.pk, total.pk}
    assert count.pk not in {pk for pks in figures.provenance.values() for pk in pks}
    after = ComplianceEvaluation.objects.get(preparation=preparation)
    assert after.evidence_hash != before.evidence_hash
    assert [m["protein"] for m in after.document["characterization"]["markers"]] == ["CD9"]
    assert "CD63" not in str(after.full_report)
    assert after.document["characterization"]["particle_analysis"][0]["concentration_per_ml"] == 8e11
    assert SizeBin.objects.filter(analysis__measurement=count).count() == 0  # default manager: current only
    assert SizeBin.all_versions.filter(analysis__measurement=count).count() == 3  # kept in the record


@pytest.mark.django_db(transaction=True)
def test_changes_refresh_metrics_and_compliance_after_commit(staff, lab, preparation):
    """Real commits: the change hook's refresh runs once the correction's transaction commits."""
    count, cd63 = record(staff, lab, particle(preparation.barcode, 4e11), marker(preparation.barcode, "CD63"))
    assert ComplianceEvaluation.objects.get(preparation=preparation).document["characterization"]["markers"]
    corrected = result_correct(
        actor=staff, measurement=count, document=particle(preparation.barcode, 6e11), reason="dilution"
    )
    figures = PreparationMetrics.objects.get(preparation=preparation)
    assert figures.provenance["particle_yield_per_ml_input"] == [corrected.pk]
    result_void(actor=staff, measurement=cd63, reason="Antibody lot recalled")
    evaluation = ComplianceEvaluation.objects.get(preparation=preparation)
    assert "markers" not in evaluation.document["characterization"]
