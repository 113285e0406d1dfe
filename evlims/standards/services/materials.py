"""Reference-material lots, spikes of them and the tracer read back in the preparations."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.actors import person_or_none
from ...core.audit import record_event, snapshot
from ...isolation.models import EVPreparation, IsolationRun
from ...samples.models import Aliquot
from ...samples.services._common import approvals_follow_change as approvals_follow
from ..models import Readout, ReferenceMaterialLot, Spike, TracerReadout
from ..units import CONCENTRATION_UNITS, READOUT_UNITS, SPIKE_UNITS
from ._common import compatible, ensure_writer, number, text, when
from ._volumes import amount_uncertainty_of, dilution_of, volume_uncertainty_of

LOT_FIELDS = (
    "material",
    "lot_number",
    "supplier",
    "readout",
    "assigned_value",
    "assigned_uncertainty",
    "unit",
    "expires_on",
    "storage",
    "certificate",
)
SPIKE_FIELDS = (
    "lot_id",
    "aliquot_id",
    "run_id",
    "amount",
    "amount_unit",
    "amount_uncertainty",
    "amount_uncertainty_basis",
    "matrix",
    "spiked_at",
    "notes",
)
READOUT_FIELDS = (
    "spike_id",
    "preparation_id",
    "value",
    "standard_uncertainty",
    "replicates",
    "unit",
    "dilution_factor",
    "dilution_uncertainty",
    "volume_uncertainty_ul",
    "volume_uncertainty_basis",
    "measured_at",
    "notes",
)


def _choice(value, choices, field: str, label: str) -> str:
    if value not in choices:
        raise ValidationError({field: f"{label}: choose one of {', '.join(choices)}."})
    return value


@transaction.atomic
def reference_lot_create(
    *,
    actor,
    lab,
    material: str,
    lot_number: str,
    readout: str,
    assigned_value: float,
    assigned_uncertainty: float,
    unit: str,
    supplier: str = "",
    expires_on=None,
    storage: str = "",
    certificate: str = "",
    reason: str = "",
) -> ReferenceMaterialLot:
    """Record a received lot with its assigned value and standard uncertainty (k=1), as its certificate says."""
    ensure_writer(actor, lab.pk, "record reference materials")
    material, lot_number = text(material, 120), text(lot_number, 60)
    errors = {}
    if not material:
        errors["material"] = "Name the reference material."
    if not lot_number:
        errors["lot_number"] = "Give the lot number."
    if errors:
        raise ValidationError(errors)
    _choice(readout, Readout.values, "readout", "Readout")
    _choice(unit, CONCENTRATION_UNITS, "unit", "Unit of the assigned value")
    assigned_value = number(assigned_value, "assigned_value", label="The assigned value")
    assigned_uncertainty = number(
        assigned_uncertainty, "assigned_uncertainty", label="The standard uncertainty", allow_zero=True
    )
    if ReferenceMaterialLot.objects.filter(lab=lab, material=material, lot_number=lot_number).exists():
        raise ValidationError({"lot_number": f"This lab already has lot {lot_number} of {material}."})
    lot = ReferenceMaterialLot.objects.create(
        lab=lab,
        material=material,
        lot_number=lot_number,
        readout=readout,
        assigned_value=assigned_value,
        assigned_uncertainty=assigned_uncertainty,
        unit=unit,
        supplier=text(supplier, 120),
        expires_on=expires_on,
        storage=text(storage, 200),
        certificate=text(certificate, 200),
    )
    record_event(actor=actor, action="reference_lot.create", obj=lot, reason=reason, changes=snapshot(lot, LOT_FIELDS))
    return lot


def _target(lab_id: int, aliquot: Aliquot | None, run: IsolationRun | None):
    if (aliquot is None) == (run is None):
        raise ValidationError({"aliquot": "Spike either one aliquot or one isolation run."})
    target = aliquot or run
    if target.lab_id != lab_id:
        field = "aliquot" if aliquot else "run"
        raise ValidationError({field: "The spiked aliquot or run belongs to another lab than the lot."})
    return target


def _biofluid_of(aliquot: Aliquot | None, run: IsolationRun | None) -> str:
    """The spiked sample's biofluid, or the one biofluid of a run's inputs (empty when they differ)."""
    if aliquot is not None:
        return aliquot.sample.get_biofluid_display()
    samples = {prep.input_aliquot.sample for prep in run.preparations.select_related("input_aliquot__sample")}
    shown = {sample.get_biofluid_display() for sample in samples}
    return shown.pop() if len(shown) == 1 else ""


def spike_values(
    *,
    lot: ReferenceMaterialLot,
    amount,
    amount_unit: str,
    amount_uncertainty=None,
    amount_uncertainty_basis: str = "",
    amount_uncertainty_default: bool = False,
    matrix: str = "",
    spiked_at=None,
    notes: str = "",
    biofluid: str = "",
) -> dict:
    """A spike's own figures, checked as recording and correcting check them (the lot and target aside)."""
    _choice(amount_unit, SPIKE_UNITS, "amount_unit", "Unit of the amount")
    amount = number(amount, "amount", label="The spiked amount")
    compatible(lot_unit=lot.unit, unit=amount_unit, field="amount_unit", what="The spiked amount", allow_volume=True)
    matrix = text(matrix, 80) or biofluid
    if not matrix:
        raise ValidationError({"matrix": "Say what the lot was spiked into (e.g. blood plasma)."})
    uncertainty, basis = amount_uncertainty_of(
        amount, amount_unit, amount_uncertainty, amount_uncertainty_basis, amount_uncertainty_default
    )
    return {
        "amount": amount,
        "amount_unit": amount_unit,
        "amount_uncertainty": uncertainty,
        "amount_uncertainty_basis": basis,
        "matrix": matrix,
        "spiked_at": when(spiked_at, "spiked_at"),
        "notes": text(notes, 2000),
    }


@transaction.atomic
def spike_record(
    *,
    actor,
    lot: ReferenceMaterialLot,
    amount: float,
    amount_unit: str,
    aliquot: Aliquot | None = None,
    run: IsolationRun | None = None,
    amount_uncertainty: float | None = None,
    amount_uncertainty_basis: str = "",
    amount_uncertainty_default: bool = False,
    matrix: str = "",
    spiked_at=None,
    notes: str = "",
    reason: str = "",
) -> Spike:
    """Record an amount of ``lot`` added to an aliquot or to each input of a run: a volume of the lot (µL, mL) or
    an amount in the lot's own unit, with its standard uncertainty (entered, or ISO 8655-2's for the pipette when
    ``amount_uncertainty_default``). The matrix defaults to the spiked sample's biofluid."""
    ensure_writer(actor, lot.lab_id, "record spikes")
    target = _target(lot.lab_id, aliquot, run)
    values = spike_values(
        lot=lot,
        amount=amount,
        amount_unit=amount_unit,
        amount_uncertainty=amount_uncertainty,
        amount_uncertainty_basis=amount_uncertainty_basis,
        amount_uncertainty_default=amount_uncertainty_default,
        matrix=matrix,
        spiked_at=spiked_at,
        notes=notes,
        biofluid="" if text(matrix, 80) else _biofluid_of(aliquot, run),
    )
    spike = Spike.objects.create(
        lab_id=lot.lab_id, lot=lot, aliquot=aliquot, run=run, spiked_by=person_or_none(actor), **values
    )
    changes = snapshot(spike, SPIKE_FIELDS) | {"target": str(target)}
    record_event(actor=actor, action="spike.record", obj=spike, reason=reason, changes=changes)
    return spike


def _from_spike(spike: Spike, preparation: EVPreparation) -> None:
    made = preparation.input_aliquot_id == spike.aliquot_id if spike.aliquot_id else preparation.run_id == spike.run_id
    if not made:
        raise ValidationError(
            {"preparation": f"{preparation.barcode} was not made from the spiked aliquot or run ({spike})."}
        )


def readout_values(
    *,
    spike: Spike,
    value,
    unit: str,
    standard_uncertainty=None,
    replicates: int = 1,
    dilution_factor=1.0,
    dilution_uncertainty=None,
    volume_uncertainty_ul=None,
    volume_uncertainty_basis: str = "",
    volume_uncertainty_default: bool = False,
    final_volume_ul=None,
    measured_at=None,
    notes: str = "",
) -> dict:
    """A readout's own figures, checked as recording and correcting check them (spike and preparation aside)."""
    _choice(unit, READOUT_UNITS, "unit", "Unit of the readout")
    value = number(value, "value", label="The readout", allow_zero=True)
    if standard_uncertainty is not None:
        standard_uncertainty = number(
            standard_uncertainty, "standard_uncertainty", label="The standard uncertainty", allow_zero=True
        )
    if not isinstance(replicates, int) or isinstance(replicates, bool) or not 1 <= replicates <= 1000:
        raise ValidationError({"replicates": "Replicates is a whole number from 1 to 1000."})
    compatible(lot_unit=spike.lot.unit, unit=unit, field="unit", what="The tracer readout", allow_volume=False)
    factor, factor_uncertainty = dilution_of(dilution_factor, dilution_uncertainty)
    volume_uncertainty, basis = volume_uncertainty_of(
        final_volume_ul, volume_uncertainty_ul, volume_uncertainty_basis, volume_uncertainty_default
    )
    return {
        "value": value,
        "standard_uncertainty": standard_uncertainty,
        "replicates": replicates,
        "unit": unit,
        "dilution_factor": factor,
        "dilution_uncertainty": factor_uncertainty,
        "volume_uncertainty_ul": volume_uncertainty,
        "volume_uncertainty_basis": basis,
        "measured_at": when(measured_at, "measured_at"),
        "notes": text(notes, 2000),
    }


@transaction.atomic
def tracer_readout_record(
    *,
    actor,
    spike: Spike,
    preparation: EVPreparation,
    value: float,
    unit: str,
    standard_uncertainty: float | None = None,
    replicates: int = 1,
    dilution_factor: float = 1.0,
    dilution_uncertainty: float | None = None,
    volume_uncertainty_ul: float | None = None,
    volume_uncertainty_basis: str = "",
    volume_uncertainty_default: bool = False,
    measured_at=None,
    notes: str = "",
    reason: str = "",
) -> TracerReadout:
    """Record the tracer measured in a preparation made from the spiked aliquot or run: a concentration in the
    preparation (multiplied by its final volume) or an amount, in the lot's kind of unit, read on the preparation
    diluted ``dilution_factor`` times; the final volume's standard uncertainty entered, or ISO 8655-2's for the
    pipette when ``volume_uncertainty_default``. On an approved preparation the approval is voided with ``reason``
    (refused without one), as a new result's is."""
    ensure_writer(actor, spike.lab_id, "record tracer readouts")
    if preparation.lab_id != spike.lab_id:
        raise ValidationError({"preparation": "The preparation belongs to another lab than the spike."})
    _from_spike(spike, preparation)
    values = readout_values(
        spike=spike,
        value=value,
        unit=unit,
        standard_uncertainty=standard_uncertainty,
        replicates=replicates,
        dilution_factor=dilution_factor,
        dilution_uncertainty=dilution_uncertainty,
        volume_uncertainty_ul=volume_uncertainty_ul,
        volume_uncertainty_basis=volume_uncertainty_basis,
        volume_uncertainty_default=volume_uncertainty_default,
        final_volume_ul=preparation.final_volume_ul,
        measured_at=measured_at,
        notes=notes,
    )
    readout = TracerReadout.objects.create(
        lab_id=spike.lab_id, spike=spike, preparation=preparation, recorded_by=person_or_none(actor), **values
    )
    approvals_follow(actor=actor, preparation_ids=[preparation.pk], reason=reason)
    record_event(
        actor=actor,
        action="tracer_readout.record",
        obj=readout,
        reason=reason,
        changes=snapshot(readout, READOUT_FIELDS),
    )
    return readout
