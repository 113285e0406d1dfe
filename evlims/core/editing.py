"""Editing an existing record: optimistic locking, a mandatory reason, and the audit event."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from .audit import diff_fields, record_event, snapshot
from .errors import ConflictError


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this record is being changed."})
    return reason


@transaction.atomic
def apply_edit(instance, *, actor, reason: str, expected_version: int, changes: dict, editable: set[str]):
    """Set ``changes`` on ``instance`` if nobody saved it since ``expected_version``.

    The version bump is a conditional UPDATE, so of two concurrent editors exactly one wins;
    the loser gets a ConflictError and nothing of theirs is written.
    """
    reason = require_reason(reason)
    unknown = set(changes) - editable
    if unknown:
        raise ValidationError({name: "This field cannot be edited." for name in sorted(unknown)})
    model = type(instance)
    claimed = model.objects.filter(pk=instance.pk, version=expected_version).update(version=F("version") + 1)
    if not claimed:
        current = model.objects.filter(pk=instance.pk).values_list("version", flat=True).first()
        raise ConflictError(current_version=current)
    before = snapshot(instance, changes)
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.version = expected_version + 1
    instance.full_clean()
    instance._change_reason = reason  # picked up by django-simple-history
    instance.save()
    after = snapshot(instance, changes)
    delta = diff_fields(before, after)
    record_event(actor=actor, action=f"{model._meta.model_name}.edit", obj=instance, changes=delta, reason=reason)
    return instance
