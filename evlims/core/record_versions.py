"""The life of a versioned record (a result, a spike, a tracer readout): never edited in place. A correction or a
voiding needs a reason and a person allowed to make it, is made on the current version only, read again under a
row lock so two changes cannot both pass, and sets the old version aside with who, when and why. Each domain says
who may change its records and what follows a change; the steps every change shares are here, once.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from .actors import person_or_none

CURRENT = "current"
_REASON_REQUIRED = "Say why the {what} is {action}; the reason is kept with it and in the audit trail."
_NOT_CURRENT = "This {what} is {status} already: only the current {what} can be {action}."


def reason_required(what: str, action: str) -> str:
    """The words of a change refused for want of a reason ("Say why the result is voided; …")."""
    return _REASON_REQUIRED.format(what=what, action=action)


def checked_for_change(versions, record, *, actor, reason: str, action: str, what: str, may_change):
    """(the record read again and locked, the stripped reason) once the reason, ``may_change(actor, record)`` and
    the record's status allow the change; ``versions`` is the queryset of every version (``all_versions``)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": reason_required(what, action)})
    current = versions.select_for_update(of=("self",)).get(pk=record.pk)
    if not may_change(actor, current):
        raise PermissionDenied(
            f"Only the person who recorded this {what} or a lab admin of its lab may have it {action}."
        )
    if current.status != CURRENT:
        status = current.get_status_display().lower()
        raise ValidationError({"status": _NOT_CURRENT.format(what=what, status=status, action=action)})
    return current, reason


def set_aside(record, status: str, actor, reason: str) -> None:
    """Mark an old version superseded or voided, with the reason, when and who."""
    record.status = status
    record.status_reason = reason
    record.status_changed_at = timezone.now()
    record.status_changed_by = person_or_none(actor)
    record.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by", "updated_at"])
