"""Spikes and tracer readouts are corrected or voided with a reason, never edited: the old version stays
(superseded or voided, with who, when and why), recovery is computed from the current version, and a change to
what an approved preparation's recovery rests on voids that approval with the change's reason."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.compliance.models import Review
from evlims.core.models import AuditEvent, Role
from evlims.isolation.models import EVPreparation
from evlims.review import services as review_services
from evlims.standards import services
from evlims.standards.models import Spike, Status, TracerReadout
from evlims.standards.recovery import preparation_recoveries
from tests.approved_world import PASSWORD, approved_world
from tests.factories import member

pytestmark = pytest.mark.django_db


def _lot(w):
    return services.reference_lot_create(
        actor=w.staff,
        lab=w.lab,
        material="rEV",
        lot_number="C-1",
        readout="fluorescent_nta",
        assigned_value=1e10,
        assigned_uncertainty=1e9,
        unit="particles/mL",
    )


@pytest.fixture
def world(lab, project, staff):
    w = approved_world(lab, project, staff)
    EVPreparation.objects.filter(run=w.run).update(final_volume_ul=Decimal("100"))
    w.preparation.refresh_from_db()
    w.spike = services.spike_record(actor=w.staff, lot=_lot(w), run=w.run, amount=10, amount_unit="µL")
    w.readout = services.tracer_readout_record(
        actor=w.staff,
        spike=w.spike,
        preparation=w.preparation,
        value=4e8,
        standard_uncertainty=2e7,
        unit="particles/mL",
        reason="Spike recovery measured",
    )
    w.review = _approve_again(w)
    return w


def _approve_again(w):
    """Recording the readout voided the approval (it changed the recovery): the preparation is approved again."""
    review = review_services.review_submit(
        actor=w.staff, preparation=w.preparation, reason="Ready", justification="Accepted with its recovery."
    )
    review = review_services.review_verify(actor=w.verifier, review=review, password=PASSWORD, statement="Checked")
    return review_services.review_approve(actor=w.approver, review=review, password=PASSWORD, statement="Released")


def _recovery(preparation):
    rows = preparation_recoveries(preparation)
    assert len(rows) == 1
    return rows[0].recovery


def test_a_corrected_readout_supersedes_the_old_one_and_recovery_follows(world):
    w = world
    assert _recovery(w.preparation).percent == pytest.approx(40.0)
    new = services.tracer_readout_correct(
        actor=w.staff, readout=w.readout, value=5e8, volume_uncertainty_ul=2.0, reason="Read the wrong channel"
    )
    old = TracerReadout.all_versions.get(pk=w.readout.pk)
    assert old.status == Status.SUPERSEDED and old.status_reason == "Read the wrong channel"
    assert old.status_changed_by == w.staff and old.status_changed_at is not None
    assert old.value == 4e8  # the old version is kept as it was
    assert new.supersedes == old and new.value == 5e8 and new.standard_uncertainty == 2e7  # carried over
    assert new.spike == w.spike and new.preparation == w.preparation
    result = _recovery(w.preparation)
    assert result.percent == pytest.approx(50.0)
    # 10 % lot, 4 % readout (2e7 of 5e8), 2 % volume
    assert result.percent_uncertainty == pytest.approx(50.0 * (0.01 + 0.0016 + 0.0004) ** 0.5)
    event = AuditEvent.objects.filter(action="tracer_readout.correct").get()
    assert event.reason == "Read the wrong channel"
    assert event.changes["value"] == [4e8, 5e8] and event.changes["correction"] == new.pk


def test_a_voided_readout_counts_nowhere_and_is_kept(world):
    w = world
    services.tracer_readout_void(actor=w.staff, readout=w.readout, reason="Tube swapped")
    assert preparation_recoveries(w.preparation) == []
    kept = TracerReadout.all_versions.get(pk=w.readout.pk)
    assert kept.status == Status.VOIDED and kept.status_reason == "Tube swapped"
    assert AuditEvent.objects.filter(action="tracer_readout.void", reason="Tube swapped").count() == 1
    with pytest.raises(ValidationError, match="voided already"):
        services.tracer_readout_correct(actor=w.staff, readout=kept, value=1.0, reason="again")


def test_a_change_needs_a_reason_the_recorder_or_an_admin_and_writes_nothing_otherwise(world, lab):
    w = world
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="Say why the tracer readout is corrected"):
        services.tracer_readout_correct(actor=w.staff, readout=w.readout, value=1.0, reason="  ")
    other = member(lab, Role.LAB_STAFF, username="other-staff")
    with pytest.raises(PermissionDenied, match="Only the person who recorded"):
        services.tracer_readout_void(actor=other, readout=w.readout, reason="not mine")
    with pytest.raises(PermissionDenied):
        services.spike_void(actor=w.verifier, spike=w.spike, reason="QA may not")
    with pytest.raises(ValidationError) as refused:
        services.tracer_readout_correct(actor=w.staff, readout=w.readout, value=-1, reason="negative")
    assert "value" in refused.value.message_dict
    assert AuditEvent.objects.count() == before
    assert TracerReadout.all_versions.count() == 1 and TracerReadout.objects.get().status == Status.CURRENT
    admin = member(lab, Role.LAB_ADMIN, username="the-admin")
    services.tracer_readout_void(actor=admin, readout=w.readout, reason="admin may")


def test_changing_what_an_approved_recovery_rests_on_voids_the_approval_with_the_reason(world):
    w = world
    w.review.refresh_from_db()
    assert w.review.state == Review.State.APPROVED
    services.tracer_readout_correct(actor=w.staff, readout=w.readout, value=3e8, reason="Recounted")
    w.review.refresh_from_db()
    assert w.review.state == Review.State.VOIDED
    assert AuditEvent.objects.filter(action="review.void", reason="Recounted").exists()


def test_a_corrected_spike_carries_its_readouts_and_a_voided_one_needs_none(world):
    w = world
    new = services.spike_correct(
        actor=w.staff, spike=w.spike, amount=20, amount_uncertainty_default=True, reason="20 µL, not 10"
    )
    assert Spike.all_versions.get(pk=w.spike.pk).status == Status.SUPERSEDED
    assert new.amount == 20 and new.supersedes_id == w.spike.pk and new.run == w.run and new.lot == w.spike.lot
    # 20 µL pipette: sqrt(1.0^2/3 + 0.5^2) % of 20 µL
    assert new.amount_uncertainty == pytest.approx(20 * (1.0 / 3 + 0.25) ** 0.5 / 100)
    assert "ISO 8655-2" in new.amount_uncertainty_basis and "20 µL pipette" in new.amount_uncertainty_basis
    assert TracerReadout.objects.get().spike == new
    assert _recovery(w.preparation).percent == pytest.approx(20.0)  # 4e7 of 2e8
    event = AuditEvent.objects.get(action="spike.correct")
    assert event.changes["readouts_moved"] == [w.readout.pk] and event.changes["amount"] == [10.0, 20.0]
    with pytest.raises(ValidationError, match="void them first"):
        services.spike_void(actor=w.staff, spike=new, reason="wrong lot")
    services.tracer_readout_void(actor=w.staff, readout=TracerReadout.objects.get(), reason="wrong lot")
    services.spike_void(actor=w.staff, spike=new, reason="wrong lot")
    assert Spike.objects.filter(run=w.run).count() == 0 and Spike.all_versions.filter(run=w.run).count() == 2


def test_volume_uncertainties_are_entered_or_the_iso_default_not_both(world):
    w = world
    with pytest.raises(ValidationError, match="not both"):
        services.spike_record(
            actor=w.staff,
            lot=w.spike.lot,
            run=w.run,
            amount=10,
            amount_unit="µL",
            amount_uncertainty=0.1,
            amount_uncertainty_default=True,
        )
    with pytest.raises(ValidationError, match="for a volume of the lot"):
        services.spike_record(
            actor=w.staff,
            lot=w.spike.lot,
            run=w.run,
            amount=1e8,
            amount_unit="particles",
            amount_uncertainty_default=True,
        )
    with pytest.raises(ValidationError, match="1 \\(undiluted\\) or more"):
        services.tracer_readout_correct(actor=w.staff, readout=w.readout, dilution_factor=0.5, reason="r")
    new = services.tracer_readout_correct(
        actor=w.staff, readout=w.readout, volume_uncertainty_default=True, reason="pipette figures"
    )
    # 100 µL pipette: sqrt(0.8^2/3 + 0.3^2) % of 100 µL
    assert new.volume_uncertainty_ul == pytest.approx((0.64 / 3 + 0.09) ** 0.5)
    assert "100 µL pipette" in new.volume_uncertainty_basis


def test_a_new_readout_on_an_approved_preparation_needs_a_reason_and_voids_the_approval(world):
    w = world
    with pytest.raises(ValidationError, match="part of approved preparation .*: say why it is changed"):
        services.tracer_readout_record(
            actor=w.staff, spike=w.spike, preparation=w.preparation, value=4.2e8, unit="particles/mL"
        )
    assert TracerReadout.objects.filter(preparation=w.preparation).count() == 1
    w.review.refresh_from_db()
    assert w.review.state == Review.State.APPROVED
    services.tracer_readout_record(
        actor=w.staff, spike=w.spike, preparation=w.preparation, value=4.2e8, unit="particles/mL", reason="Replicate"
    )
    w.review.refresh_from_db()
    assert w.review.state == Review.State.VOIDED
