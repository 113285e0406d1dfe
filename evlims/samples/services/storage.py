"""Writes to storage: sites, freezers, racks and boxes, each in the place its kind belongs."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.audit import record_event, snapshot
from ...core.tenancy import ensure_can_write
from ..models import StorageUnit
from ._common import check_same_lab, validated


@transaction.atomic
def storage_unit_create(
    *, actor, lab, kind: str, name: str, parent=None, rows=None, columns=None, temperature_c=None, reason: str = ""
) -> StorageUnit:
    ensure_can_write(actor, lab.pk)
    check_same_lab(lab.pk, parent=parent)
    expected_parent = StorageUnit.PARENT_KIND.get(kind)
    if expected_parent is None and parent is not None:
        raise ValidationError({"parent": "A site has no parent."})
    if expected_parent is not None and (parent is None or parent.kind != expected_parent):
        raise ValidationError({"parent": f"A {kind} belongs in a {expected_parent}."})
    if kind == StorageUnit.Kind.BOX and not (rows and columns):
        raise ValidationError({"rows": "A box needs its grid size (rows and columns)."})
    if StorageUnit.objects.filter(lab=lab, parent=parent, name=name).exists():
        raise ValidationError({"name": f"{name!r} already exists here."})
    unit = StorageUnit(
        lab=lab,
        parent=parent,
        kind=kind,
        name=name,
        rows=rows,
        columns=columns,
        temperature_c=temperature_c,
        path=f"{parent.path} / {name}" if parent else name,
    )
    validated(unit).save()
    record_event(
        actor=actor, action="storage.create", obj=unit, reason=reason, changes=snapshot(unit, ["kind", "name", "path"])
    )
    return unit
