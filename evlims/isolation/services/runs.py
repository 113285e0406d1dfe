"""Writes to isolation runs: plan, start, record steps, complete or abort, and corrections of the record.

planned → in progress → completed | aborted. Starting takes the input volumes from the aliquots through the
sample services; a recorded step's deviations from the protocol are computed by the ``protocols`` library.
A preparation exists once its run is completed (its barcode is issued at planning, for labels). Every change to
a run or its steps voids the approvals covering its preparations, with the change's reason, and re-evaluates them.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import protocols as protocol_library
from protocols.errors import ProtocolValidationError
from protocols.steps import canonicalise_params, validate_step

from ...conf import evlims_settings
from ...core.audit import record_event
from ...core.barcodes import issue_barcode, issue_barcodes
from ...core.editing import apply_edit
from ...core.tenancy import ensure_can_write
from ...samples.services import aliquot_consume
from ...samples.services._common import approvals_follow_change
from ..models import EVPreparation, IsolationRun, ProtocolVersion, RunStep
from ._common import protocol_errors

# What a person may correct on a run's record afterwards (the evaluation reads the start and completion times).
RUN_EDITABLE = {"equipment", "started_at", "completed_at"}
# Outputs recorded at run completion (the storage of each preparation as the run leaves it).
RUN_OUTPUT_FIELDS = ("buffer", "storage", "storage_container", "storage_temperature_c")

RUN_TRANSITIONS = {
    IsolationRun.Status.PLANNED: {IsolationRun.Status.IN_PROGRESS, IsolationRun.Status.ABORTED},
    IsolationRun.Status.IN_PROGRESS: {IsolationRun.Status.COMPLETED, IsolationRun.Status.ABORTED},
    IsolationRun.Status.COMPLETED: set(),
    IsolationRun.Status.ABORTED: set(),
}


def _transition(run: IsolationRun, target: str):
    if target not in RUN_TRANSITIONS[run.status]:
        raise ValidationError(
            {
                "status": f"A {run.get_status_display().lower()} run cannot become "
                f"{IsolationRun.Status(target).label.lower()}."
            }
        )


def _usable_version(version: ProtocolVersion, lab_id: int):
    if version.status != ProtocolVersion.Status.APPROVED:
        raise ValidationError({"protocol_version": "Runs follow approved protocol versions only."})
    if version.protocol.lab_id not in (None, lab_id):
        raise ValidationError({"protocol_version": "Belongs to another lab."})


def _refuse_issued_codes_taken(lab_id, code: str, barcodes: list[str]) -> None:
    """After an insert clash: name the issued run code or preparation barcode a record of the lab already has
    (the sequence is behind the stored records). Codes are unique within a lab; other labs are not looked at."""
    behind = "the sequence is behind the stored records. Ask an administrator."
    if IsolationRun.objects.filter(lab_id=lab_id, code=code).exists():
        raise ValidationError({"code": f"Run code {code}, issued to this run, is already in use in this lab: {behind}"})
    taken = sorted(EVPreparation.objects.filter(lab_id=lab_id, barcode__in=barcodes).values_list("barcode", flat=True))
    if taken:
        raise ValidationError(
            {
                "inputs": f"Preparation barcode {', '.join(taken)}, issued to this run, "
                f"{'is' if len(taken) == 1 else 'are'} already in use in this lab: {behind}"
            }
        )


@transaction.atomic
def run_plan(
    *, actor, project, protocol_version, inputs, operator=None, equipment: str = "", reason: str = ""
) -> IsolationRun:
    """Plan a batch: ``inputs`` is [(aliquot, input_volume_ul)], one EV preparation per aliquot."""
    ensure_can_write(actor, project.lab_id)
    operator = operator or actor
    ensure_can_write(operator, project.lab_id)
    _usable_version(protocol_version, project.lab_id)
    if not inputs:
        raise ValidationError({"inputs": "Choose at least one aliquot."})
    seen = set()
    for aliquot, volume in inputs:
        if aliquot.lab_id != project.lab_id:
            raise ValidationError({"inputs": f"{aliquot} belongs to another lab."})
        if aliquot.pk in seen:
            raise ValidationError({"inputs": f"{aliquot} is listed twice."})
        seen.add(aliquot.pk)
        if Decimal(str(volume)) <= 0:
            raise ValidationError({"inputs": f"{aliquot}: input volume must be more than 0 µL."})
        if Decimal(str(volume)) > aliquot.volume_ul:
            raise ValidationError({"inputs": f"{aliquot} holds {aliquot.volume_ul} µL; {volume} µL requested."})
    code = issue_barcode("RUN")
    barcodes = issue_barcodes(evlims_settings.PREPARATION_BARCODE_PREFIX, len(inputs))
    try:
        with transaction.atomic():
            run = IsolationRun.objects.create(
                lab_id=project.lab_id,
                project=project,
                code=code,
                protocol_version=protocol_version,
                protocol_name=f"{protocol_version.protocol.title} v{protocol_version.version}",
                method=protocol_library.separation_method(protocol_version.definition.get("steps") or []),
                operator=operator,
                equipment=equipment,
            )
            EVPreparation.objects.bulk_create(
                EVPreparation(
                    lab_id=run.lab_id,
                    run=run,
                    input_aliquot=aliquot,
                    barcode=barcode,
                    input_volume_ul=Decimal(str(volume)),
                )
                for barcode, (aliquot, volume) in zip(barcodes, inputs, strict=True)
            )
    except IntegrityError:
        _refuse_issued_codes_taken(project.lab_id, code, barcodes)
        raise
    record_event(
        actor=actor,
        action="run.plan",
        obj=run,
        reason=reason,
        changes={"protocol_version": str(protocol_version), "inputs": [a.barcode for a, _ in inputs]},
    )
    return run


def _locked_run(run) -> IsolationRun:
    return IsolationRun.objects.select_for_update(of=("self",)).select_related("protocol_version").get(pk=run.pk)


@transaction.atomic
def run_start(*, actor, run, reason: str = "") -> IsolationRun:
    """Start the run: each input aliquot gives up its volume now (custody event), or nothing starts."""
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    _transition(run, IsolationRun.Status.IN_PROGRESS)
    for prep in run.preparations.select_related("input_aliquot"):
        aliquot_consume(
            actor=actor,
            aliquot=prep.input_aliquot,
            volume_ul=prep.input_volume_ul,
            reason=f"Input of isolation run {run.code} → {prep.barcode}",
        )
    run.status, run.started_at = IsolationRun.Status.IN_PROGRESS, timezone.now()
    run.version += 1
    run.save(update_fields=["status", "started_at", "version", "updated_at"])
    record_event(
        actor=actor, action="run.start", obj=run, reason=reason, changes={"status": ["planned", "in_progress"]}
    )
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=_preparation_ids(run))
    return run


def _preparation_ids(run) -> list[int]:
    return list(EVPreparation.objects.filter(run=run).values_list("pk", flat=True))


def _raw_step(definition: dict) -> dict:
    """A stored (canonical) step back in the library's input shape, for re-validation."""
    return {key: definition[key] for key in ("method", "params", "tolerances") if definition.get(key) is not None}


def _jsonable_deviation(deviation) -> dict:
    return {
        "field": deviation.field,
        "expected": deviation.expected,
        "observed": deviation.observed,
        "tolerance": deviation.tolerance,
        "kind": deviation.kind,
        "message": deviation.message,
    }


@transaction.atomic
def run_record_step(*, actor, run, number: int, observed: dict, notes: str = "", reason: str = "") -> RunStep:
    """Record what was done at protocol step ``number``; deviations are computed, never typed."""
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    correction = run.status == IsolationRun.Status.COMPLETED
    if run.status != IsolationRun.Status.IN_PROGRESS and not correction:
        raise ValidationError(
            {"status": "Steps are recorded while the run is in progress (and corrected once it is completed)."}
        )
    steps = run.protocol_version.steps
    if not 1 <= number <= len(steps):
        raise ValidationError({"number": f"The protocol has steps 1–{len(steps)}."})
    if correction and not (reason or "").strip():
        raise ValidationError({"reason": f"Run {run.code} is completed: say why step {number} is corrected."})
    definition = steps[number - 1]
    if not isinstance(observed, dict):
        raise ValidationError({"observed": "Give the observed parameters as a mapping of name to value."})
    params, originals, errors = canonicalise_params(definition["method"], observed, number)
    if errors:
        raise protocol_errors(ProtocolValidationError(errors))
    try:
        step, step_errors = validate_step(_raw_step(definition), number)
        if step_errors:
            raise ProtocolValidationError(step_errors)
        found = protocol_library.compute_deviations(step, observed)
        deviations = [_jsonable_deviation(d) for d in found]
    except ProtocolValidationError as exc:
        raise protocol_errors(exc)
    record, created = RunStep.objects.update_or_create(
        run=run,
        number=number,
        defaults={
            "method": definition["method"],
            "observed": params,
            "observed_original": originals,
            "deviations": deviations,
            "recorded_by": actor,
            "notes": notes,
        },
    )
    record_event(
        actor=actor,
        action="run.record_step",
        obj=run,
        reason=reason,
        changes={"step": number, "observed": params, "deviations": len(deviations), "replaced": not created},
    )
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=_preparation_ids(run))
    return record


@transaction.atomic
def run_complete(*, actor, run, outputs: dict | None = None, reason: str = "") -> IsolationRun:
    """Complete the run once every step is recorded; ``outputs`` maps preparation id → {final_volume_ul,
    buffer, storage, storage_container, storage_temperature_c}."""
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    _transition(run, IsolationRun.Status.COMPLETED)
    recorded = set(run.steps.values_list("number", flat=True))
    missing = [n for n in range(1, len(run.protocol_version.steps) + 1) if n not in recorded]
    if missing:
        raise ValidationError({"steps": f"Record step(s) {', '.join(map(str, missing))} before completing."})
    preps = {prep.pk: prep for prep in run.preparations.all()}
    for prep_id, values in (outputs or {}).items():
        prep = preps.get(int(prep_id))
        if prep is None:
            raise ValidationError({"outputs": f"Preparation {prep_id} is not part of run {run.code}."})
        volume = values.get("final_volume_ul")
        if volume is not None and Decimal(str(volume)) <= 0:
            raise ValidationError({"outputs": f"{prep}: final volume must be more than 0 µL."})
        prep.final_volume_ul = Decimal(str(volume)) if volume is not None else prep.final_volume_ul
        for name in RUN_OUTPUT_FIELDS:
            if name in values:
                setattr(prep, name, values[name])
        prep.clean_fields(exclude=["lab", "run", "input_aliquot"])
        prep.save()
    run.status, run.completed_at = IsolationRun.Status.COMPLETED, timezone.now()
    run.version += 1
    run.save(update_fields=["status", "completed_at", "version", "updated_at"])
    record_event(
        actor=actor,
        action="run.complete",
        obj=run,
        reason=reason,
        changes={"status": ["in_progress", "completed"], "outputs": sorted(map(str, outputs or {}))},
    )
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=preps)
    return run


@transaction.atomic
def run_abort(*, actor, run, reason: str) -> IsolationRun:
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    _transition(run, IsolationRun.Status.ABORTED)
    if not reason.strip():
        raise ValidationError({"abort_reason": "Say why the run was aborted."})
    previous = run.status
    run.status, run.abort_reason = IsolationRun.Status.ABORTED, reason
    run.version += 1
    run.save(update_fields=["status", "abort_reason", "version", "updated_at"])
    record_event(actor=actor, action="run.abort", obj=run, reason=reason, changes={"status": [previous, "aborted"]})
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=_preparation_ids(run))
    return run


@transaction.atomic
def run_update(*, run, actor, reason: str, expected_version: int, changes: dict) -> IsolationRun:
    """Correct a run's record: its equipment, when it started, when it was completed (who, when, why;
    version-checked). The approvals covering its preparations are voided with the reason."""
    ensure_can_write(actor, run.lab_id)
    changes = dict(changes)
    if "started_at" in changes and run.status == IsolationRun.Status.PLANNED:
        raise ValidationError({"started_at": "A planned run has not started: start it instead."})
    if "started_at" in changes and changes["started_at"] is None:
        raise ValidationError({"started_at": "A started run keeps its start time: give the corrected one."})
    if "completed_at" in changes and run.status != IsolationRun.Status.COMPLETED:
        raise ValidationError({"completed_at": "Only a completed run has a completion time."})
    if "completed_at" in changes and changes["completed_at"] is None:
        raise ValidationError({"completed_at": "A completed run keeps its completion time: give the corrected one."})
    started, completed = changes.get("started_at", run.started_at), changes.get("completed_at", run.completed_at)
    if started and completed and completed < started:
        raise ValidationError({"completed_at": "The run cannot be completed before it started."})
    run = apply_edit(
        run, actor=actor, reason=reason, expected_version=expected_version, changes=changes, editable=RUN_EDITABLE
    )
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=_preparation_ids(run))
    return run
