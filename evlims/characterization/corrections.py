"""Correcting and voiding a recorded result. A result is never edited in place: a correction is a new result
whose ``supersedes`` names the old one, which is marked superseded; a voided result is marked void. Both keep
the reason, when and who, so every version stays in the record (``Measurement.all_versions``), while metrics,
compliance, exports and lists count current results only (``Measurement.objects``).

Who may: the person who recorded the result, or a lab admin of its lab. A result an instrument posted has no
person as its recorder: then the person who sent it (its ingestion's sender, when a person) and the lab admins.
Instrument keys never may. Only a current result can be corrected or voided.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..core import record_versions
from ..core.actors import is_person, person_or_none
from ..core.audit import record_event
from ..core.hooks import preparations_changed
from ..core.locks import preparations_locked, void_approvals
from ..core.models import Role
from ..core.tenancy import WRITER_ROLES, role_in
from ..isolation.models import EVPreparation
from .models import Measurement
from .payloads import validate_result_documents
from .services import _store_details, headline_values


def may_change(user, measurement) -> bool:
    """Whether ``user`` may correct or void ``measurement`` (a read: pages offer the actions by it)."""
    if not is_person(user):
        return False
    role = role_in(user, measurement.lab_id)
    if role == Role.LAB_ADMIN:
        return True
    if role not in WRITER_ROLES:
        return False
    if measurement.recorded_by_id is not None:
        return measurement.recorded_by_id == user.pk
    ingestion = measurement.ingestion
    return ingestion is not None and ingestion.submitted_by_id == user.pk


def preparations_resting_on(measurement) -> list[int]:
    """The preparations whose evidence holds this result: its preparation, or for a count of the starting
    material, the preparations made from that sample (their recovery reads it)."""
    if measurement.preparation_id is not None:
        return [measurement.preparation_id]
    return list(
        EVPreparation.objects.filter(input_aliquot__sample_id=measurement.input_sample_id).values_list("pk", flat=True)
    )


def _checked(actor, measurement, reason: str, action: str) -> tuple[Measurement, str]:
    """The result, read again and locked, once the reason, the actor and its status allow the change."""
    versions = Measurement.all_versions.select_related("ingestion")
    return record_versions.checked_for_change(
        versions, measurement, actor=actor, reason=reason, action=action, what="result", may_change=may_change
    )


def _unlock(actor, preparation_ids, reason: str) -> None:
    """A change to an approved (locked) preparation voids its approval, with the same reason."""
    locked = preparations_locked(preparation_ids)
    if locked:
        void_approvals(actor=actor, preparation_ids=locked, reason=reason)


def _correction_document(old, document) -> dict:
    """The document checked as recording checks it, of the result's kind and subject (filled in when left out);
    errors named as in the document ("marker.protein")."""
    if not isinstance(document, dict):
        raise ValidationError({"document": "Send the corrected result as a result document (an object)."})
    subject = (
        {"preparation": old.preparation.barcode} if old.preparation_id else {"input_sample": old.input_sample.barcode}
    )
    filled = {"kind": old.kind} | (subject if not ({"preparation", "input_sample"} & set(document)) else {}) | document
    try:
        result = validate_result_documents([filled])[0]
    except ValidationError as error:
        raise ValidationError(
            {
                key.removeprefix("results[0]").lstrip(".") or "document": value
                for key, value in error.message_dict.items()
            }
        ) from error
    if result["kind"] != old.kind:
        raise ValidationError({"kind": f"A correction is a result of the same kind: {old.get_kind_display().lower()}."})
    if result.get("preparation") != (subject.get("preparation")) or result.get("input_sample") != subject.get(
        "input_sample"
    ):
        field = "preparation" if old.preparation_id else "input_sample"
        raise ValidationError({field: f"A correction is of the same subject: {next(iter(subject.values()))}."})
    return result


def _shown(measurement) -> dict:
    return {
        "method": measurement.method,
        "values": measurement.values,
        "measured_at": measurement.measured_at.isoformat(),
    }


@transaction.atomic
def result_correct(*, actor, measurement, document: dict, reason: str) -> Measurement:
    """Record ``document`` as the correction of ``measurement`` (which becomes superseded); returns the new result."""
    old, reason = _checked(actor, measurement, reason, "corrected")
    result = _correction_document(old, document)
    preparation_ids = preparations_resting_on(old)
    _unlock(actor, preparation_ids, reason)
    record_versions.set_aside(old, Measurement.Status.SUPERSEDED, actor, reason)
    new = Measurement.objects.create(
        lab_id=old.lab_id,
        preparation_id=old.preparation_id,
        input_sample_id=old.input_sample_id,
        kind=old.kind,
        method=result["method"],
        measured_at=result.get("measured_at") or old.measured_at,
        instrument_id=old.instrument_id,
        instrument_name=old.instrument_name,
        software_version=result.get("software_version", old.software_version),
        raw_file_id=old.raw_file_id,
        values=headline_values(result),
        recorded_by=person_or_none(actor),
        supersedes=old,
    )
    _store_details([new], [result])
    if old.kind == Measurement.Kind.IMAGING:  # the image files stay those of the measurement corrected
        new.imaging.images.set(old.imaging.images.all())
    preparations_changed(preparation_ids)
    record_event(
        actor=actor,
        action="measurement.correct",
        obj=old,
        reason=reason,
        changes={
            "status": [Measurement.Status.CURRENT, Measurement.Status.SUPERSEDED],
            "correction": new.pk,
            **{
                key: [before, after]
                for (key, before), after in zip(_shown(old).items(), _shown(new).values(), strict=True)
            },
        },
    )
    return new


@transaction.atomic
def result_void(*, actor, measurement, reason: str) -> Measurement:
    """Mark ``measurement`` voided: it stays in the record, and counts nowhere any more."""
    old, reason = _checked(actor, measurement, reason, "voided")
    preparation_ids = preparations_resting_on(old)
    _unlock(actor, preparation_ids, reason)
    record_versions.set_aside(old, Measurement.Status.VOIDED, actor, reason)
    preparations_changed(preparation_ids)
    record_event(
        actor=actor,
        action="measurement.void",
        obj=old,
        reason=reason,
        changes={"status": [Measurement.Status.CURRENT, Measurement.Status.VOIDED], "values": [old.values, None]},
    )
    return old
