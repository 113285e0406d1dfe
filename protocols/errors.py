"""Validation error carrying one entry per problem, each naming where it was found."""

from __future__ import annotations

# A message names the problem, never echoes a whole value: a hostile document must not make the answer huge.
MAX_MESSAGE_CHARS = 300
# ``str()`` of the error lists this many problems, then counts the rest.
MAX_LISTED_ERRORS = 20


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_location(step: int | None, method: str | None, field: str | None) -> str:
    parts = []
    if step is not None:
        parts.append(f"step {step}" + (f" ({method})" if method else ""))
    if field is not None:
        parts.append(f"field '{field}'")
    return ", ".join(parts) if parts else "protocol"


def issue(step: int | None, method: str | None, field: str | None, problem: str) -> dict:
    """One error entry: {step, method, field, message}; the message repeats the location."""
    return {
        "step": step,
        "method": method,
        "field": field,
        "message": shorten(f"{describe_location(step, method, field)}: {problem}"),
    }


class ProtocolValidationError(ValueError):
    """A protocol (or observed run parameters) failed validation.

    ``errors`` is a list of dicts with keys step (1-based or None), method, field and message.
    """

    def __init__(self, errors: list[dict], source: str | None = None):
        if not errors:
            raise ValueError("ProtocolValidationError needs at least one error")
        self.errors = errors
        self.source = source
        prefix = f"{source}: " if source else ""
        listed = [shorten(error["message"]) for error in errors[:MAX_LISTED_ERRORS]]
        if len(errors) > MAX_LISTED_ERRORS:
            listed.append(f"and {len(errors) - MAX_LISTED_ERRORS} more problems")
        super().__init__(prefix + "; ".join(listed))
