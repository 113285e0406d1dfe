"""How the conditions read their arguments from a rule set, and which fields of an item are missing: shared by
the condition vocabulary (``conditions``) and the characterisation conditions built on it."""

from collections.abc import Mapping
from typing import Any

from .document import is_reported
from .errors import RulesetError


def str_list(args: Any, where: str, *, allowed: frozenset[str] | None = None) -> tuple[str, ...]:
    values = [args] if isinstance(args, str) else args
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise RulesetError(f"{where}: expected a non-empty list of names, got {args!r}")
    if allowed is not None:
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise RulesetError(f"{where}: unknown value(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return tuple(values)


def mapping_args(args: Any, where: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(args, Mapping):
        raise RulesetError(f"{where}: expected a mapping with keys {', '.join(required + optional)}, got {args!r}")
    missing = [key for key in required if key not in args]
    unknown = sorted(set(args) - set(required) - set(optional))
    if missing:
        raise RulesetError(f"{where}: missing argument(s) {', '.join(missing)}")
    if unknown:
        raise RulesetError(f"{where}: unknown argument(s) {', '.join(unknown)}")
    return dict(args)


def absent_value(args: Mapping, where: str) -> bool | None:
    """``absent_means: unknown`` (default) gives insufficient data; ``false`` treats absence as a no."""
    choice = args.get("absent_means", "unknown")
    if choice not in ("unknown", "false"):
        raise RulesetError(f"{where}.absent_means: expected 'unknown' or 'false', got {choice!r}")
    return None if choice == "unknown" else False


def split_path(path: Any, where: str) -> tuple[str, ...]:
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise RulesetError(f"{where}: expected a dotted field path such as sample.volume_ml, got {path!r}")
    return tuple(path.split("."))


def field_alternatives(fields: Any, where: str) -> tuple[tuple[str, ...], ...]:
    """Field lists accept "clone|catalogue" meaning either one will do."""
    return tuple(tuple(name.split("|")) for name in str_list(fields, where))


def missing_fields(item: Mapping | None, alternatives: tuple[tuple[str, ...], ...]) -> list[str]:
    item = item or {}
    lacking = []
    for names in alternatives:
        for name in names:
            if is_reported(item.get(name)):
                break
        else:
            lacking.append(" or ".join(names))
    return lacking
