"""What the comparison writers share: who may write, numbers checked, statistics refusals as form errors."""

import math

from django.core.exceptions import ValidationError

from ...core.tenancy import WRITER_ROLES, ensure_role
from ..models import ComparisonRound


def ensure_coordinator(actor, round_or_scheme) -> None:
    ensure_role(actor, round_or_scheme.lab_id, WRITER_ROLES, "run this comparison (your lab does not coordinate it)")


def ensure_status(round_: ComparisonRound, *statuses, doing: str) -> None:
    if round_.status not in statuses:
        raise ValidationError(
            {"status": f"Round {round_.code} is {round_.get_status_display().lower()}: it cannot {doing}."}
        )


def finite_number(value, field: str, *, positive: bool = False, allow_zero: bool = True, required: bool = True):
    if value is None or value == "":
        if required:
            raise ValidationError({field: "Give a number."})
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: f"{value!r} is not a number."}) from None
    if not math.isfinite(number):
        raise ValidationError({field: "Give a finite number."})
    if positive and (number < 0 or (number == 0 and not allow_zero)):
        raise ValidationError({field: "Give a number more than 0." if not allow_zero else "Cannot be negative."})
    return number


def number_list(values, field: str, *, limit: int = 500) -> list[float]:
    if not isinstance(values, list | tuple):
        raise ValidationError({field: "Give a list of numbers."})
    if len(values) > limit:
        raise ValidationError({field: f"At most {limit} values."})
    numbers = []
    for index, value in enumerate(values, start=1):
        try:
            numbers.append(finite_number(value, field))
        except ValidationError as error:
            raise ValidationError({field: f"Value {index}: {error.message_dict[field][0]}"}) from None
    return numbers
