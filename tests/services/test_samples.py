from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evlims.core.errors import ConflictError
from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.samples.models import Aliquot, CustodyEvent, Sample
from tests.factories import DonorFactory, storage_box


def register(staff, project, **extra):
    fields = {"biofluid": "blood_plasma", "volume_ml": Decimal("4")} | extra
    return services.sample_register(actor=staff, project=project, **fields)


def test_register_issues_barcode_and_audits(staff, project):
    sample = register(staff, project, anticoagulant="k2_edta")
    assert sample.barcode.startswith("EVS-")
    event = AuditEvent.objects.get(action="sample.register")
    assert event.actor == staff and event.object_id == str(sample.pk)
    assert event.changes["biofluid"] == "blood_plasma"


def test_register_with_aliquots_places_them_in_free_positions(staff, project, box):
    sample = register(staff, project, aliquot_volumes_ul=[500, 500, 500], box=box)
    aliquots = list(sample.aliquots.order_by("id"))
    assert [(a.position_row, a.position_column) for a in aliquots] == [(1, 1), (1, 2), (1, 3)]
    assert all(a.custody_events.get().kind == CustodyEvent.Kind.RECEIVED for a in aliquots)


def test_aliquots_cannot_exceed_sample_volume(staff, project):
    sample = register(staff, project, volume_ml=Decimal("1"))
    with pytest.raises(ValidationError, match="only 1000"):
        services.aliquots_create(actor=staff, sample=sample, volumes_ul=[600, 600])
    assert not Aliquot.objects.exists()


@pytest.mark.parametrize("volume", [-5, 0, "abc", "NaN"])
def test_invalid_aliquot_volumes_are_refused(staff, project, volume):
    sample = register(staff, project)
    with pytest.raises(ValidationError):
        services.aliquots_create(actor=staff, sample=sample, volumes_ul=[volume])
    assert not Aliquot.objects.exists()


def test_negative_sample_volume_is_refused(staff, project):
    with pytest.raises(ValidationError):
        register(staff, project, volume_ml=Decimal("-1"))
    assert not Sample.objects.exists()


def test_split_keeps_lineage_and_volume(staff, project):
    sample = register(staff, project, aliquot_volumes_ul=[1000])
    parent = sample.aliquots.get()
    children = services.aliquot_split(actor=staff, aliquot=parent, volumes_ul=[400, 600])
    grandchildren = services.aliquot_split(actor=staff, aliquot=children[0], volumes_ul=[100, 100])
    parent.refresh_from_db()
    assert parent.volume_ul == 0 and parent.status == Aliquot.Status.CONSUMED
    assert grandchildren[0].parent.parent == parent
    with pytest.raises(ValidationError, match="holds 200"):
        services.aliquot_split(actor=staff, aliquot=children[0], volumes_ul=[250])


def test_double_booked_position_is_refused(staff, project, box):
    sample = register(staff, project, aliquot_volumes_ul=[100, 100], box=box)
    first, second = sample.aliquots.order_by("id")
    with pytest.raises(ValidationError, match="already taken"):
        services.aliquot_move(
            actor=staff, aliquot=second, box=box, row=first.position_row, column=first.position_column
        )
    second.refresh_from_db()
    assert (second.position_row, second.position_column) == (1, 2)


def test_database_enforces_one_tube_per_position(staff, project, box):
    from django.db import IntegrityError, transaction

    sample = register(staff, project, aliquot_volumes_ul=[100, 100], box=box)
    first, second = sample.aliquots.order_by("id")
    with pytest.raises(IntegrityError), transaction.atomic():
        Aliquot.objects.filter(pk=second.pk).update(position_column=first.position_column)


def test_move_outside_grid_is_refused(staff, project, box):
    sample = register(staff, project, aliquot_volumes_ul=[100])
    with pytest.raises(ValidationError, match="rows 1–9"):
        services.aliquot_move(actor=staff, aliquot=sample.aliquots.get(), box=box, row=10, column=1)


def test_thaw_counts_freeze_thaw_cycles(staff, project):
    aliquot = register(staff, project, aliquot_volumes_ul=[100]).aliquots.get()
    services.aliquot_thaw(actor=staff, aliquot=aliquot)
    aliquot = services.aliquot_thaw(actor=staff, aliquot=aliquot)
    assert aliquot.freeze_thaw_count == 2
    assert aliquot.custody_events.filter(kind="thawed").count() == 2


def test_consume_beyond_volume_is_refused(staff, project):
    aliquot = register(staff, project, aliquot_volumes_ul=[100]).aliquots.get()
    with pytest.raises(ValidationError, match="holds 100"):
        services.aliquot_consume(actor=staff, aliquot=aliquot, volume_ul=150)
    aliquot = services.aliquot_consume(actor=staff, aliquot=aliquot, volume_ul=100)
    assert aliquot.status == Aliquot.Status.CONSUMED
    with pytest.raises(ValidationError, match="consumed"):
        services.aliquot_consume(actor=staff, aliquot=aliquot, volume_ul=1)


def test_cross_lab_writes_are_refused(staff, project, outsider, other_lab):
    with pytest.raises(PermissionDenied):
        register(outsider, project)
    foreign_donor = DonorFactory(lab=other_lab)
    with pytest.raises(ValidationError, match="another lab"):
        register(staff, project, donor=foreign_donor)
    foreign_box = storage_box(other_lab, name="Foreign")
    sample = register(staff, project, aliquot_volumes_ul=[100])
    with pytest.raises(ValidationError, match="another lab"):
        services.aliquot_move(actor=staff, aliquot=sample.aliquots.get(), box=foreign_box, row=1, column=1)


def test_qa_manager_cannot_register_samples(qa_manager, project):
    with pytest.raises(PermissionDenied):
        register(qa_manager, project)


def test_stale_edit_is_a_conflict_and_writes_nothing(staff, project):
    sample = register(staff, project)
    services.sample_update(sample=sample, actor=staff, reason="typo", expected_version=1, changes={"remarks": "first"})
    stale = Sample.objects.get(pk=sample.pk)
    stale.version = 1
    with pytest.raises(ConflictError):
        services.sample_update(
            sample=stale, actor=staff, reason="late", expected_version=1, changes={"remarks": "second"}
        )
    sample.refresh_from_db()
    assert sample.remarks == "first" and sample.version == 2
    assert AuditEvent.objects.filter(action="sample.edit").count() == 1


def test_edit_requires_reason_and_records_before_after(staff, project):
    sample = register(staff, project)
    with pytest.raises(ValidationError, match="why"):
        services.sample_update(sample=sample, actor=staff, reason=" ", expected_version=1, changes={"remarks": "x"})
    services.sample_update(
        sample=sample,
        actor=staff,
        reason="Hemolysis measured",
        expected_version=1,
        changes={"hemolysis_a414": Decimal("0.35")},
    )
    event = AuditEvent.objects.get(action="sample.edit")
    assert event.changes == {"hemolysis_a414": [None, "0.35"]}
    assert event.reason == "Hemolysis measured"
    assert sample.history.first().history_change_reason == "Hemolysis measured"


def test_edit_of_locked_fields_is_refused(staff, project):
    sample = register(staff, project)
    with pytest.raises(ValidationError):
        services.sample_update(sample=sample, actor=staff, reason="x", expected_version=1, changes={"barcode": "NEW"})
