"""What the standardization services share: the role check, number checks and unit refusals as form errors."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.utils import timezone

from ...core.tenancy import WRITER_ROLES, ensure_role
from ..units import UnitMismatch, check_compatible

LOT_ROLES = WRITER_ROLES


def ensure_writer(actor, lab_id: int, action: str) -> None:
    ensure_role(actor, lab_id, WRITER_ROLES, action)


def number(value, field: str, *, label: str, positive: bool = True, allow_zero: bool = False) -> float:
    """A finite number (above 0, or 0 and above), else a ValidationError naming the field."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: f"{label} must be a number."}) from None
    if not math.isfinite(result):
        raise ValidationError({field: f"{label} must be a finite number."})
    if positive and (result < 0 or (result == 0 and not allow_zero)):
        raise ValidationError({field: f"{label} must be {'0 or more' if allow_zero else 'more than 0'}."})
    return result


def compatible(*, lot_unit: str, unit: str, field: str, what: str, allow_volume: bool) -> None:
    try:
        check_compatible(lot_unit=lot_unit, unit=unit, what=what, allow_volume=allow_volume)
    except UnitMismatch as error:
        raise ValidationError({field: str(error)}) from None


def when(value, field: str):
    """A time given, or now; a naive time is refused (the lab's zone is not guessed)."""
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise ValidationError({field: "Give the time with its zone."})
    if value > timezone.now() + timezone.timedelta(minutes=5):
        raise ValidationError({field: "This time is in the future."})
    return value


def text(value, limit: int) -> str:
    return (value or "").strip()[:limit]
