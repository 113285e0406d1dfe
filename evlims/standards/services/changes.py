"""Correcting and voiding spikes and tracer readouts, as results are corrected and voided
(characterization.corrections): never edited in place. A correction is a new version whose ``supersedes`` names
the old one (marked superseded); a voided record stays, marked void. Both keep the reason, when and who; recovery
is computed from current versions only, and the old ones stay readable (``all_versions``).

Who may: the person who recorded the record, or a lab admin of its lab. Only a current record can be changed. A
change to a record an approved preparation's recovery rests on voids that approval with the change's reason, in
the same transaction (approvals follow their evidence, docs/qa-review.md).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ...core import record_versions
from ...core.actors import is_person, person_or_none
from ...core.audit import record_event, snapshot
from ...core.models import Role
from ...core.tenancy import WRITER_ROLES, role_in
from ...samples.services._common import approvals_follow_change as approvals_follow
from ..models import Spike, Status, TracerReadout
from .materials import READOUT_FIELDS, SPIKE_FIELDS, readout_values, spike_values

KEEP = object()  # a field not given in a correction keeps the old version's value


def _recorder_id(record) -> int | None:
    return record.spiked_by_id if isinstance(record, Spike) else record.recorded_by_id


def may_change(user, record) -> bool:
    """Whether ``user`` may correct or void ``record`` (a spike or a readout): its recorder, or a lab admin."""
    if not is_person(user):
        return False
    role = role_in(user, record.lab_id)
    if role == Role.LAB_ADMIN:
        return True
    return role in WRITER_ROLES and _recorder_id(record) == user.pk


def _what(record) -> str:
    return "spike" if isinstance(record, Spike) else "tracer readout"


def _checked(actor, record, reason: str, action: str):
    """The record read again and locked, once the reason, the actor and its status allow the change."""
    versions = type(record).all_versions.all()
    return record_versions.checked_for_change(
        versions, record, actor=actor, reason=reason, action=action, what=_what(record), may_change=may_change
    )


def resting_on(record) -> list[int]:
    """The preparations whose recovery rests on the record: a readout's preparation, a spike's readouts'."""
    if isinstance(record, TracerReadout):
        return [record.preparation_id]
    return sorted(set(TracerReadout.objects.filter(spike=record).values_list("preparation_id", flat=True)))


def _given(old, fields: dict) -> dict:
    return {name: getattr(old, name) if value is KEEP else value for name, value in fields.items()}


def _changes(old, new, fields) -> dict:
    before, after = snapshot(old, fields), snapshot(new, fields)
    return {name: [before[name], after[name]] for name in fields if before[name] != after[name]}


@transaction.atomic
def tracer_readout_correct(
    *,
    actor,
    readout: TracerReadout,
    reason: str,
    value=KEEP,
    unit=KEEP,
    standard_uncertainty=KEEP,
    replicates=KEEP,
    dilution_factor=KEEP,
    dilution_uncertainty=KEEP,
    volume_uncertainty_ul=KEEP,
    volume_uncertainty_basis=KEEP,
    volume_uncertainty_default: bool = False,
    measured_at=KEEP,
    notes=KEEP,
) -> TracerReadout:
    """Record a corrected version of ``readout`` (same spike and preparation; what is not given is carried
    over), which becomes superseded. Returns the new version; its recovery replaces the old one's."""
    old, reason = _checked(actor, readout, reason, "corrected")
    fields = _given(
        old,
        {
            "value": value,
            "unit": unit,
            "standard_uncertainty": standard_uncertainty,
            "replicates": replicates,
            "dilution_factor": dilution_factor,
            "dilution_uncertainty": dilution_uncertainty,
            "volume_uncertainty_ul": None if volume_uncertainty_default else volume_uncertainty_ul,
            "volume_uncertainty_basis": volume_uncertainty_basis,
            "measured_at": measured_at,
            "notes": notes,
        },
    )
    values = readout_values(
        spike=old.spike,
        volume_uncertainty_default=volume_uncertainty_default,
        final_volume_ul=old.preparation.final_volume_ul,
        **fields,
    )
    preparation_ids = resting_on(old)
    record_versions.set_aside(old, Status.SUPERSEDED, actor, reason)
    new = TracerReadout.objects.create(
        lab_id=old.lab_id,
        spike_id=old.spike_id,
        preparation_id=old.preparation_id,
        recorded_by=person_or_none(actor),
        supersedes=old,
        **values,
    )
    approvals_follow(actor=actor, preparation_ids=preparation_ids, reason=reason)
    changes = {"status": [Status.CURRENT, Status.SUPERSEDED], "correction": new.pk} | _changes(old, new, READOUT_FIELDS)
    record_event(actor=actor, action="tracer_readout.correct", obj=old, reason=reason, changes=changes)
    return new


@transaction.atomic
def tracer_readout_void(*, actor, readout: TracerReadout, reason: str) -> TracerReadout:
    """Mark ``readout`` voided: it stays in the record, and no recovery counts it any more."""
    old, reason = _checked(actor, readout, reason, "voided")
    record_versions.set_aside(old, Status.VOIDED, actor, reason)
    approvals_follow(actor=actor, preparation_ids=resting_on(old), reason=reason)
    changes = {"status": [Status.CURRENT, Status.VOIDED], "value": [old.value, None]}
    record_event(actor=actor, action="tracer_readout.void", obj=old, reason=reason, changes=changes)
    return old


@transaction.atomic
def spike_correct(
    *,
    actor,
    spike: Spike,
    reason: str,
    amount=KEEP,
    amount_unit=KEEP,
    amount_uncertainty=KEEP,
    amount_uncertainty_basis=KEEP,
    amount_uncertainty_default: bool = False,
    matrix=KEEP,
    spiked_at=KEEP,
    notes=KEEP,
) -> Spike:
    """Record a corrected version of ``spike`` (same lot and target; what is not given is carried over), which
    becomes superseded; its current tracer readouts follow the new version, so their recoveries are computed
    from it (the event lists them)."""
    old, reason = _checked(actor, spike, reason, "corrected")
    fields = _given(
        old,
        {
            "amount": amount,
            "amount_unit": amount_unit,
            "amount_uncertainty": None if amount_uncertainty_default else amount_uncertainty,
            "amount_uncertainty_basis": amount_uncertainty_basis,
            "matrix": matrix,
            "spiked_at": spiked_at,
            "notes": notes,
        },
    )
    values = spike_values(lot=old.lot, amount_uncertainty_default=amount_uncertainty_default, **fields)
    preparation_ids = resting_on(old)
    record_versions.set_aside(old, Status.SUPERSEDED, actor, reason)
    new = Spike.objects.create(
        lab_id=old.lab_id,
        lot_id=old.lot_id,
        aliquot_id=old.aliquot_id,
        run_id=old.run_id,
        spiked_by=person_or_none(actor),
        supersedes=old,
        **values,
    )
    moved = sorted(TracerReadout.objects.filter(spike=old).values_list("pk", flat=True))
    TracerReadout.objects.filter(pk__in=moved).update(spike=new, updated_at=timezone.now())
    approvals_follow(actor=actor, preparation_ids=preparation_ids, reason=reason)
    changes = {"status": [Status.CURRENT, Status.SUPERSEDED], "correction": new.pk, "readouts_moved": moved}
    record_event(
        actor=actor, action="spike.correct", obj=old, reason=reason, changes=changes | _changes(old, new, SPIKE_FIELDS)
    )
    return new


@transaction.atomic
def spike_void(*, actor, spike: Spike, reason: str) -> Spike:
    """Mark ``spike`` voided; refused while a current tracer readout rests on it (void or correct those first)."""
    old, reason = _checked(actor, spike, reason, "voided")
    readouts = list(TracerReadout.objects.filter(spike=old).select_related("preparation"))
    if readouts:
        names = ", ".join(sorted({readout.preparation.barcode for readout in readouts}))
        raise ValidationError(
            {"status": f"Tracer readouts of {names} rest on this spike: void them first, or correct the spike."}
        )
    record_versions.set_aside(old, Status.VOIDED, actor, reason)
    changes = {"status": [Status.CURRENT, Status.VOIDED], "amount": [old.amount, None]}
    record_event(actor=actor, action="spike.void", obj=old, reason=reason, changes=changes)
    return old
