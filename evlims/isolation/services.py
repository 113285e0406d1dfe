"""Every write to protocols, isolation runs and EV preparations.

Protocol content is validated by the Django-free ``protocols`` library; this module adds who may do what,
the lifecycle (draft → approved → retired; planned → in progress → completed | aborted), volume
bookkeeping through the sample services, and the audit trail.
"""

from decimal import Decimal

import yaml
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import protocols as protocol_library
from protocols.errors import MAX_LISTED_ERRORS, ProtocolValidationError, shorten
from protocols.loader import load_protocol_yaml
from protocols.steps import canonicalise_params, validate_step

from ..conf import evlims_settings
from ..core.audit import record_event
from ..core.barcodes import issue_barcode, issue_barcodes
from ..core.editing import apply_edit
from ..core.hooks import preparations_changed
from ..core.tenancy import REVIEWER_ROLES, ensure_can_write, ensure_role
from ..samples.services import aliquot_consume
from .models import EVPreparation, FunctionalControl, IsolationRun, Protocol, ProtocolVersion, RunStep

# What a person may change on a preparation after the run: its output, storage, claims and functional studies.
PREPARATION_EDITABLE = {
    "final_volume_ul",
    "buffer",
    "storage",
    "storage_container",
    "storage_temperature_c",
    "storage_duration_days",
    "storage_freeze_thaw_cycles",
    "claimed_subtype",
    "biogenesis_evidence",
    "functional_cargo",
    "functional_studies",
}
# Outputs recorded at run completion (the storage of each preparation as the run leaves it).
RUN_OUTPUT_FIELDS = ("buffer", "storage", "storage_container", "storage_temperature_c")
FUNCTIONAL_STUDY_TEXT = {"assay": 200, "readout": 200, "dose": 120, "notes": 2000}

RUN_TRANSITIONS = {
    IsolationRun.Status.PLANNED: {IsolationRun.Status.IN_PROGRESS, IsolationRun.Status.ABORTED},
    IsolationRun.Status.IN_PROGRESS: {IsolationRun.Status.COMPLETED, IsolationRun.Status.ABORTED},
    IsolationRun.Status.COMPLETED: set(),
    IsolationRun.Status.ABORTED: set(),
}


def _protocol_errors(error: ProtocolValidationError) -> ValidationError:
    """The library's step/field errors as a Django ValidationError keyed the way forms and the API show them."""
    by_field: dict[str, list[str]] = {}
    for item in error.errors[:MAX_LISTED_ERRORS]:
        key = (
            f"steps[{item['step']}].{item['field']}"
            if item.get("step") and item.get("field")
            else (item.get("field") or "definition")
        )
        by_field.setdefault(shorten(key, 120), []).append(shorten(item["message"]))
    if len(error.errors) > MAX_LISTED_ERRORS:
        by_field.setdefault("definition", []).append(
            f"… and {len(error.errors) - MAX_LISTED_ERRORS} more problems; fix these first."
        )
    return ValidationError(by_field)


def parse_protocol_text(text: str):
    """YAML text → validated ProtocolDefinition, or a ValidationError naming the step and field."""
    try:
        data = load_protocol_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = shorten(getattr(exc, "problem", None) or exc)
        raise ValidationError({"source_text": f"Not valid YAML{where}: {problem}"})
    if not isinstance(data, dict):
        raise ValidationError({"source_text": "A protocol is a YAML mapping with slug, version, title and steps."})
    try:
        return protocol_library.validate_protocol(data)
    except ProtocolValidationError as exc:
        raise _protocol_errors(exc)


def _version_fields(definition, source_text: str) -> dict:
    return {
        "definition": definition.to_dict(),
        "source_text": source_text,
        "content_hash": definition.content_hash,
        "methods": list(definition.methods),
        "misev_class": str(
            definition.misev_class.label if hasattr(definition.misev_class, "label") else definition.misev_class
        ),
    }


@transaction.atomic
def protocol_version_save_draft(*, actor, lab, source_text: str, reason: str = "") -> ProtocolVersion:
    """A lab writes or uploads a protocol version. A draft may be replaced (whoever replaces it becomes one of
    its authors, who may not approve it); an approved or retired version number is never re-used."""
    ensure_can_write(actor, lab.pk)
    definition = parse_protocol_text(source_text)
    protocol, _ = Protocol.objects.get_or_create(
        lab=lab, slug=definition.slug, defaults={"title": definition.title, "description": definition.description or ""}
    )
    existing = ProtocolVersion.objects.select_for_update().filter(protocol=protocol, version=definition.version).first()
    if existing and existing.status != ProtocolVersion.Status.DRAFT:
        raise ValidationError(
            {
                "version": f"Version {definition.version} of {protocol.slug} is "
                f"{existing.get_status_display().lower()} and cannot change; "
                "save it as a new version."
            }
        )
    fields = _version_fields(definition, source_text)
    if existing:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        version, action = existing, "protocol_version.update_draft"
    else:
        version = ProtocolVersion.objects.create(
            protocol=protocol, version=definition.version, created_by=actor, **fields
        )
        action = "protocol_version.create"
    record_event(
        actor=actor,
        action=action,
        obj=version,
        lab=lab,
        reason=reason,
        changes={"content_hash": version.content_hash, "methods": version.methods},
    )
    return version


@transaction.atomic
def protocol_version_approve(*, actor, version: ProtocolVersion, reason: str = "") -> ProtocolVersion:
    """A QA manager (or lab admin) approves a draft; nobody approves a version they wrote."""
    version = ProtocolVersion.objects.select_for_update(of=("self",)).select_related("protocol").get(pk=version.pk)
    lab = version.protocol.lab
    if lab is None:
        raise ValidationError({"status": "Library protocols are approved by their release, not in a lab."})
    ensure_role(actor, lab.pk, REVIEWER_ROLES, "approve protocols")
    if version.status != ProtocolVersion.Status.DRAFT:
        raise ValidationError({"status": f"Only drafts can be approved; this one is {version.status}."})
    from .selectors import protocol_version_authors

    if actor.pk in protocol_version_authors([version.pk]):
        raise ValidationError({"approved_by": "You wrote or changed this version; another QA manager must approve it."})
    version.status = ProtocolVersion.Status.APPROVED
    version.approved_by, version.approved_at = actor, timezone.now()
    version.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    record_event(
        actor=actor,
        action="protocol_version.approve",
        obj=version,
        lab=lab,
        reason=reason,
        changes={"status": ["draft", "approved"], "content_hash": version.content_hash},
    )
    return version


@transaction.atomic
def protocol_version_retire(*, actor, version: ProtocolVersion, reason: str) -> ProtocolVersion:
    version = ProtocolVersion.objects.select_for_update(of=("self",)).select_related("protocol").get(pk=version.pk)
    lab = version.protocol.lab
    if lab is None:
        raise ValidationError({"status": "Library protocols are retired by a new library release."})
    ensure_role(actor, lab.pk, REVIEWER_ROLES, "retire protocols")
    if version.status != ProtocolVersion.Status.APPROVED:
        raise ValidationError({"status": "Only approved versions can be retired."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why this version is retired."})
    version.status = ProtocolVersion.Status.RETIRED
    version.save(update_fields=["status", "updated_at"])
    record_event(
        actor=actor,
        action="protocol_version.retire",
        obj=version,
        lab=lab,
        reason=reason,
        changes={"status": ["approved", "retired"]},
    )
    return version


@transaction.atomic
def library_load(*, actor=None, root=None) -> dict:
    """Upsert the shipped protocol library idempotently; a released version whose content changed is refused.

    Returns counts {"created", "unchanged", "drafts_updated"}.
    """
    counts = {"created": 0, "unchanged": 0, "drafts_updated": 0}
    for definition in protocol_library.load_library(root):
        source_text = getattr(definition, "source_text", "") or yaml.safe_dump(definition.to_dict(), sort_keys=False)
        protocol, _ = Protocol.objects.get_or_create(
            lab=None,
            slug=definition.slug,
            defaults={"title": definition.title, "description": definition.description or ""},
        )
        released = definition.status == "released"
        status = ProtocolVersion.Status.APPROVED if released else ProtocolVersion.Status.DRAFT
        existing = ProtocolVersion.objects.filter(protocol=protocol, version=definition.version).first()
        if existing is None:
            version = ProtocolVersion.objects.create(
                protocol=protocol,
                version=definition.version,
                status=status,
                from_library=True,
                approved_at=timezone.now() if released else None,
                **_version_fields(definition, source_text),
            )
            record_event(
                actor=actor,
                action="protocol_version.load",
                obj=version,
                lab=None,
                changes={"content_hash": version.content_hash, "status": status},
            )
            counts["created"] += 1
        elif existing.content_hash == definition.content_hash:
            counts["unchanged"] += 1
        elif existing.status == ProtocolVersion.Status.DRAFT and not released:
            for name, value in _version_fields(definition, source_text).items():
                setattr(existing, name, value)
            existing.save()
            counts["drafts_updated"] += 1
        else:
            raise ValidationError(
                f"{definition.slug}@{definition.version} is released and its content changed "
                f"(stored {existing.content_hash[:12]}…, file {definition.content_hash[:12]}…). "
                "Released versions are immutable: publish the change as a new version."
            )
    return counts


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
                method=(protocol_version.methods or [""])[0],
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
def run_start(*, actor, run) -> IsolationRun:
    """Start the run: each input aliquot gives up its volume now (custody event), or nothing starts."""
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    _transition(run, IsolationRun.Status.IN_PROGRESS)
    for prep in run.preparations.select_related("input_aliquot"):
        aliquot_consume(
            actor=actor,
            aliquot=prep.input_aliquot,
            volume_ul=prep.input_volume_ul,
            note=f"Input of isolation run {run.code} → {prep.barcode}",
        )
    run.status, run.started_at = IsolationRun.Status.IN_PROGRESS, timezone.now()
    run.version += 1
    run.save(update_fields=["status", "started_at", "version", "updated_at"])
    record_event(actor=actor, action="run.start", obj=run, changes={"status": ["planned", "in_progress"]})
    return run


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
def run_record_step(*, actor, run, number: int, observed: dict, notes: str = "") -> RunStep:
    """Record what was done at protocol step ``number``; deviations are computed, never typed."""
    ensure_can_write(actor, run.lab_id)
    run = _locked_run(run)
    if run.status != IsolationRun.Status.IN_PROGRESS:
        raise ValidationError({"status": "Steps are recorded while the run is in progress."})
    steps = run.protocol_version.steps
    if not 1 <= number <= len(steps):
        raise ValidationError({"number": f"The protocol has steps 1–{len(steps)}."})
    definition = steps[number - 1]
    if not isinstance(observed, dict):
        raise ValidationError({"observed": "Give the observed parameters as a mapping of name to value."})
    params, originals, errors = canonicalise_params(definition["method"], observed, number)
    if errors:
        raise _protocol_errors(ProtocolValidationError(errors))
    try:
        step, step_errors = validate_step(_raw_step(definition), number)
        if step_errors:
            raise ProtocolValidationError(step_errors)
        found = protocol_library.compute_deviations(step, observed)
        deviations = [_jsonable_deviation(d) for d in found]
    except ProtocolValidationError as exc:
        raise _protocol_errors(exc)
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
        changes={"step": number, "observed": params, "deviations": len(deviations), "replaced": not created},
    )
    preparations_changed(run.preparations.values_list("pk", flat=True))
    return record


@transaction.atomic
def run_complete(*, actor, run, outputs: dict | None = None) -> IsolationRun:
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
        changes={"status": ["in_progress", "completed"], "outputs": sorted(map(str, outputs or {}))},
    )
    preparations_changed(preps)
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
    return run


def clean_functional_studies(studies) -> list[dict]:
    """Functional studies as stored: [{assay, readout, dose, controls, notes}], each with an assay."""
    if not isinstance(studies, list):
        raise ValidationError({"functional_studies": "Give a list of functional studies."})
    known = set(FunctionalControl.values)
    cleaned = []
    for index, study in enumerate(studies, start=1):
        if not isinstance(study, dict):
            raise ValidationError({"functional_studies": f"Study {index}: give assay, readout, dose, controls."})
        unknown = sorted(set(study) - set(FUNCTIONAL_STUDY_TEXT) - {"controls"})
        if unknown:
            raise ValidationError({"functional_studies": f"Study {index}: unknown field(s) {', '.join(unknown)}."})
        entry = {}
        for name, limit in FUNCTIONAL_STUDY_TEXT.items():
            value = study.get(name) or ""
            if not isinstance(value, str) or len(value) > limit:
                raise ValidationError({"functional_studies": f"Study {index}: {name} is text of at most {limit}."})
            entry[name] = value.strip()
        if not entry["assay"]:
            raise ValidationError({"functional_studies": f"Study {index}: name the assay."})
        controls = study.get("controls") or []
        if not isinstance(controls, list) or set(controls) - known:
            raise ValidationError(
                {"functional_studies": f"Study {index}: controls are a list of {', '.join(sorted(known))}."}
            )
        entry["controls"] = list(dict.fromkeys(controls))
        cleaned.append(entry)
    return cleaned


@transaction.atomic
def preparation_update(prep, *, actor, reason: str, expected_version: int, changes: dict) -> EVPreparation:
    """Edit a preparation's output, storage, claims and functional studies (who, when, why; version-checked).

    An approved preparation is locked: the edit voids its approval, and both are audited."""
    from ..core.locks import preparations_locked, void_approvals

    ensure_can_write(actor, prep.lab_id)
    changes = dict(changes)
    if "functional_studies" in changes:
        changes["functional_studies"] = clean_functional_studies(changes["functional_studies"])
    volume = changes.get("final_volume_ul")
    if volume is not None and Decimal(str(volume)) <= 0:
        raise ValidationError({"final_volume_ul": "The final volume must be more than 0 µL."})
    prep = apply_edit(
        prep,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        editable=PREPARATION_EDITABLE,
    )
    if preparations_locked([prep.pk]):
        void_approvals(actor=actor, preparation_ids=[prep.pk], reason=reason)
    preparations_changed([prep.pk])
    return prep


def preparation_add_functional_study(prep, *, actor, reason: str, expected_version: int, study: dict):
    """Add one functional study to the preparation's list (an edit of the list, audited as one)."""
    studies = [*(prep.functional_studies or []), study]
    return preparation_update(
        prep,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes={"functional_studies": studies},
    )
