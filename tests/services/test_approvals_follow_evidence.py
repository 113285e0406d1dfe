"""A change to anything a signed approval covers voids it, with the change's reason, and re-evaluates the
preparations it affects: the source sample, the donor fields the evaluation reads, a thaw of the input aliquot,
the run's fields, a recorded step, the preparation. A change to an unrelated record voids nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from evlims.compliance.models import Review
from evlims.core import hooks
from evlims.core.models import AuditEvent
from evlims.isolation import services as isolation
from evlims.samples import services as samples
from tests.approved_world import approved_world
from tests.factories import storage_box

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(lab, project, staff):
    return approved_world(lab, project, staff)


@pytest.fixture
def changed(monkeypatch):
    """The preparations handed to the re-evaluation hook."""
    seen = set()
    original = hooks.preparations_changed

    def spy(ids):
        ids = list(ids)
        seen.update(int(pk) for pk in ids)
        return original(ids)

    monkeypatch.setattr(hooks, "preparations_changed", spy)
    return seen


def assert_voided(world, reason, changed):
    world.review.refresh_from_db()
    assert world.review.state == Review.State.VOIDED
    event = AuditEvent.objects.get(action="review.void", object_id=str(world.review.pk))
    assert event.reason == reason
    assert world.preparation.pk in changed


def assert_still_approved(world):
    world.review.refresh_from_db()
    assert world.review.state == Review.State.APPROVED
    assert not AuditEvent.objects.filter(action="review.void").exists()


def test_a_sample_edit_voids_the_approval_and_re_evaluates(world, changed):
    samples.sample_update(
        sample=world.sample,
        actor=world.staff,
        reason="Processing delay misread from the sheet",
        expected_version=world.sample.version,
        changes={"processing_delay_min": 90},
    )
    assert_voided(world, "Processing delay misread from the sheet", changed)


def test_a_donor_field_the_evaluation_reads_voids_the_approval(world, changed):
    samples.donor_update(
        donor=world.donor,
        actor=world.staff,
        reason="Age band from the consent form",
        expected_version=world.donor.version,
        changes={"age_band": "60-69"},
    )
    assert_voided(world, "Age band from the consent form", changed)


def test_a_donor_field_the_evaluation_does_not_read_voids_nothing(world):
    samples.donor_update(
        donor=world.donor,
        actor=world.staff,
        reason="Consent received",
        expected_version=world.donor.version,
        changes={"consent_status": "given"},
    )
    assert_still_approved(world)


def test_a_thaw_of_the_input_aliquot_needs_a_reason_and_voids(world, changed):
    with pytest.raises(ValidationError) as refused:
        samples.aliquot_thaw(actor=world.staff, aliquot=world.aliquot, reason="")
    assert "reason" in refused.value.message_dict
    assert world.preparation.barcode in refused.value.message_dict["reason"][0]
    world.aliquot.refresh_from_db()
    assert world.aliquot.freeze_thaw_count == 0
    assert_still_approved(world)
    samples.aliquot_thaw(actor=world.staff, aliquot=world.aliquot, reason="Thawed for a repeat western blot")
    assert_voided(world, "Thawed for a repeat western blot", changed)


def test_a_run_field_correction_voids_the_approval(world, changed):
    isolation.run_update(
        run=world.run,
        actor=world.staff,
        reason="Column lot copied from the box",
        expected_version=world.run.version,
        changes={"equipment": "qEV original, lot 2024-17"},
    )
    assert_voided(world, "Column lot copied from the box", changed)


def test_run_times_are_checked(world):
    with pytest.raises(ValidationError) as refused:
        isolation.run_update(
            run=world.run,
            actor=world.staff,
            reason="Times",
            expected_version=world.run.version,
            changes={"completed_at": world.run.started_at - dt.timedelta(hours=1)},
        )
    assert "completed_at" in refused.value.message_dict
    assert_still_approved(world)


def test_a_step_correction_needs_a_reason_and_voids(world, changed):
    with pytest.raises(ValidationError) as refused:
        isolation.run_record_step(actor=world.staff, run=world.run, number=1, observed={"duration_min": 20})
    assert "reason" in refused.value.message_dict
    assert_still_approved(world)
    isolation.run_record_step(
        actor=world.staff,
        run=world.run,
        number=1,
        observed={"duration_min": 20},
        reason="Spin was 20 min, per the centrifuge log",
    )
    assert_voided(world, "Spin was 20 min, per the centrifuge log", changed)


def test_a_preparation_edit_voids_the_approval(world, changed):
    isolation.preparation_update(
        prep=world.preparation,
        actor=world.staff,
        reason="Stored at -80 °C",
        expected_version=world.preparation.version,
        changes={"storage_temperature_c": -80},
    )
    assert_voided(world, "Stored at -80 °C", changed)


def test_changes_to_unrelated_records_void_nothing(world, lab):
    samples.sample_update(
        sample=world.other_sample,
        actor=world.staff,
        reason="Remarks",
        expected_version=world.other_sample.version,
        changes={"remarks": "Slightly lipaemic"},
    )
    samples.donor_update(
        donor=world.other_donor,
        actor=world.staff,
        reason="Diagnosis",
        expected_version=world.other_donor.version,
        changes={"diagnosis": "Healthy volunteer"},
    )
    unused = world.sample.aliquots.order_by("id").last()
    samples.aliquot_thaw(actor=world.staff, aliquot=unused, reason="")
    samples.aliquot_move(actor=world.staff, aliquot=world.aliquot, box=storage_box(lab, name="Box 9"), row=1, column=1)
    assert_still_approved(world)
