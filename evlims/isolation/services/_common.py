"""What the protocol and run writers share: the protocol library's errors as the forms and the API show them."""

from django.core.exceptions import ValidationError

from protocols.errors import MAX_LISTED_ERRORS, ProtocolValidationError, shorten


def protocol_errors(error: ProtocolValidationError) -> ValidationError:
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
