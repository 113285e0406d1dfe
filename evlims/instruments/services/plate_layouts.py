"""Plate layouts: created, changed (with a reason and the version the change was based on) and retired by the lab's
staff and admins, each in one transaction with its audit event. A layout is checked by ``instruments.layouts``
(standards at three concentrations at least, blanks, every sample labelled); a retired layout is kept, as every
upload that used it may be read again, but is no longer offered."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ...core.audit import record_event
from ...core.editing import require_reason
from ...core.errors import ConflictError
from ...core.tenancy import WRITER_ROLES, ensure_role
from ..layouts import FITS, LayoutInvalid, check_layout, summary
from ..models import Instrument, PlateLayout

EDITABLE = frozenset({"name", "instrument", "plate_format", "fit", "wells"})


def _refusal(invalid: LayoutInvalid) -> ValidationError:
    """The layout's refusal with each well under ``wells.<well>`` (the plate as a whole under ``wells``)."""
    named = {}
    for key, message in invalid.errors.items():
        named[key if key in ("wells", "plate_format") else f"wells.{key}"] = [message]
    return ValidationError(named)


def _checked(*, lab, name, instrument, plate_format, fit, wells, layout=None) -> dict:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the layout a name."]
    elif len(name) > 120:
        errors["name"] = ["The name is longer than 120 characters."]
    elif (
        PlateLayout.objects.filter(lab=lab, name=name, retired_at__isnull=True)
        .exclude(pk=getattr(layout, "pk", None))
        .exists()
    ):
        errors["name"] = [f"{lab.name} already has a plate layout named “{name}”."]
    if instrument is not None and instrument.lab_id != lab.pk:
        errors["instrument"] = [f"{instrument.name} is not an instrument of {lab.name}."]
    if fit not in FITS:
        errors["fit"] = ["Choose a linear or a quadratic standard curve."]
    try:
        stored = check_layout(plate_format, wells)
    except LayoutInvalid as invalid:
        errors.update(_refusal(invalid).message_dict)
        stored = None
    if errors:
        raise ValidationError(errors)
    return {"name": name, "instrument": instrument, "plate_format": plate_format, "fit": fit, "wells": stored}


def _event_changes(layout: PlateLayout) -> dict:
    return {
        "name": layout.name,
        "instrument": layout.instrument_id,
        "plate_format": layout.plate_format,
        "fit": layout.fit,
        "version": layout.version,
        "wells": layout.wells,
        "summary": summary(layout.wells),
    }


@transaction.atomic
def plate_layout_create(
    *,
    actor,
    lab,
    name: str,
    wells: dict,
    plate_format: int = 96,
    fit: str = "linear",
    instrument: Instrument | None = None,
    reason: str = "",
) -> PlateLayout:
    """A new layout of ``lab`` (version 1); ValidationError naming each well at fault (``wells.B3``)."""
    ensure_role(actor, lab.pk, WRITER_ROLES, "save plate layouts")
    values = _checked(lab=lab, name=name, instrument=instrument, plate_format=plate_format, fit=fit, wells=wells)
    layout = PlateLayout.objects.create(lab=lab, created_by=actor, **values)
    record_event(actor=actor, action="plate_layout.create", obj=layout, changes=_event_changes(layout), reason=reason)
    return layout


@transaction.atomic
def plate_layout_update(
    *, actor, layout: PlateLayout, expected_version: int, changes: dict, reason: str
) -> PlateLayout:
    """Change a layout in use if nobody saved it since ``expected_version`` (ConflictError otherwise); the audit
    event keeps the layout before and after."""
    ensure_role(actor, layout.lab_id, WRITER_ROLES, "change plate layouts")
    reason = require_reason(reason)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    current = PlateLayout.objects.select_for_update(of=("self",)).select_related("lab").get(pk=layout.pk)
    if current.version != expected_version:
        raise ConflictError(current_version=current.version)
    if current.retired_at is not None:
        raise ValidationError({"layout": ["This layout is retired: it can no longer be changed."]})
    values = {name: changes.get(name, getattr(current, name)) for name in EDITABLE}
    values = _checked(lab=current.lab, layout=current, **values)
    claimed = PlateLayout.objects.filter(pk=current.pk, version=expected_version).update(version=F("version") + 1)
    if not claimed:
        raise ConflictError(current_version=current.version)
    before = _event_changes(current)
    for name, value in values.items():
        setattr(current, name, value)
    current.version = expected_version + 1
    current.save(update_fields=[*EDITABLE, "updated_at"])
    after = _event_changes(current)
    delta = {key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]}
    record_event(actor=actor, action="plate_layout.update", obj=current, changes=delta, reason=reason)
    return current


@transaction.atomic
def plate_layout_retire(*, actor, layout: PlateLayout, reason: str) -> PlateLayout:
    """Stop offering a layout (it is kept, with who retired it, when and why). Retiring twice changes nothing."""
    ensure_role(actor, layout.lab_id, WRITER_ROLES, "retire plate layouts")
    reason = require_reason(reason)
    current = PlateLayout.objects.select_for_update(of=("self",)).get(pk=layout.pk)
    if current.retired_at is not None:
        return current
    current.retired_at, current.retired_by, current.retired_reason = timezone.now(), actor, reason[:500]
    current.save(update_fields=["retired_at", "retired_by", "retired_reason", "updated_at"])
    record_event(
        actor=actor,
        action="plate_layout.retire",
        obj=current,
        changes={"name": current.name, "version": current.version},
        reason=reason,
    )
    return current
