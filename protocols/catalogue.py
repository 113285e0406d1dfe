"""The method catalogue in the lab's words, and a step parameter written as text in a form.

Everything comes from the method schemas: a method's label is its schema's ``title``, a parameter's label its
``title``, its unit its ``x-unit``, the labels of its allowed values ``x-enum-labels``; the rotor list comes from
the rotor table. A form editor draws its fields from ``method_catalogue()`` and turns what was typed into
document values with ``parameter_value`` (and back with ``parameter_text``). Typed text is never refused here:
text that is not a number stays text, so every refusal comes from ``validate_protocol`` (see
``protocols.wording`` for its messages in the same words).
"""

from __future__ import annotations

import re
from functools import cache

from protocols.centrifugation import load_rotors
from protocols.schemas import FREE_PARAMETER_METHODS, METHOD_CODES, cached_method_schema

# Schema x-unit → how the unit is written on a page.
UNIT_LABELS = {"g": "× g", "degC": "°C"}
RECORD_SEPARATOR = re.compile(r",\s*(?=[a-z_]+\s*:)")
# "1.10, 1.19" or "1.08 g/mL, 1.12 g/mL" is a [low, high] range; "1,15" is one number with a decimal comma.
RANGE_SEPARATOR = re.compile(r"\d(?:\s*[^\d\s,;]+)?\s*(?:;|,\s)\s*\d")
PLAIN_INTEGER = re.compile(r"^[+-]?\d+$")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
YES, NO = "yes", "no"


def unit_label(unit: str | None) -> str:
    return UNIT_LABELS.get(unit, unit) if unit else ""


def _types(spec: dict) -> list:
    declared = spec.get("type", [])
    return declared if isinstance(declared, list) else [declared]


def _kind(name: str, spec: dict) -> str:
    """How a parameter is typed in a form: number, integer, text, choice, boolean, list, integer_list,
    number_list, number_or_range or records."""
    types = _types(spec)
    if spec.get("enum") or name == "rotor":
        return "choice"
    if types == ["boolean"]:
        return "boolean"
    if "array" in types and "number" in types:
        return "number_or_range"
    if types == ["array"]:
        item = spec.get("items", {}).get("type")
        return {"integer": "integer_list", "number": "number_list", "object": "records"}.get(item, "list")
    if types == ["integer"]:
        return "integer"
    if types == ["number"]:
        return "number"
    return "text"


def _choices(name: str, spec: dict) -> list[dict] | None:
    if name == "rotor":
        rotors = sorted(load_rotors().values(), key=lambda rotor: (rotor.manufacturer, rotor.name))
        return [{"value": rotor.id, "label": f"{rotor.name} ({rotor.manufacturer})"} for rotor in rotors]
    if not spec.get("enum"):
        return None
    labels = spec.get("x-enum-labels", {})
    return [{"value": value, "label": labels.get(value, str(value))} for value in spec["enum"]]


def _expected(kind: str, unit: str) -> str:
    """What a field asks for, in words: 'a number in × g', 'a whole number', …"""
    in_unit = f" in {unit}" if unit else ""
    return {
        "number": f"a number{in_unit}",
        "integer": "a whole number",
        "choice": "one of the choices",
        "boolean": "yes or no",
        "integer_list": "whole numbers separated by commas",
        "number_list": f"numbers{in_unit} separated by commas",
        "number_or_range": f"a number{in_unit}, or a range low, high",
        "list": "values separated by commas",
        "records": "one entry per line",
    }.get(kind, "a value")


def _parameter(name: str, spec: dict, required: set) -> dict:
    kind = _kind(name, spec)
    unit = unit_label(spec.get("x-unit"))
    label = spec.get("title") or name.replace("_", " ").capitalize()
    entry = {
        "name": name,
        "label": label,
        "field_label": f"{label} ({unit})" if unit else label,
        "unit": unit,
        "kind": kind,
        "expected": _expected(kind, unit),
        "required": name in required,
        "choices": _choices(name, spec),
        "help": spec.get("description", ""),
        "tolerance": spec.get("x-compare") == "numeric" and kind in ("number", "number_or_range"),
    }
    if kind == "records":
        entry["record_fields"] = list(spec.get("items", {}).get("properties", {}))
    return entry


@cache
def _catalogue() -> tuple[dict, ...]:
    methods = []
    for code in METHOD_CODES:
        schema = cached_method_schema(code)
        required = set(schema.get("required", []))
        methods.append(
            {
                "code": code,
                "label": schema.get("title", code),
                "description": schema.get("description", ""),
                "parameters": [_parameter(name, spec, required) for name, spec in schema["properties"].items()],
                "required_one_of": [list(group) for group in schema.get("x-required-one-of", [])],
                "only_with": schema.get("x-only-with", {}),
                "free_parameters": code in FREE_PARAMETER_METHODS,
            }
        )
    return tuple(methods)


def method_catalogue() -> list[dict]:
    """Every method in display order: code, label, description, parameters (name, label, field_label, unit,
    kind, expected, required, choices, help, tolerance), required_one_of, only_with, free_parameters.
    Plain JSON data; a fresh copy on every call."""
    import copy

    return copy.deepcopy(list(_catalogue()))


def method_entry(code: str) -> dict | None:
    """One method's catalogue entry (shared, read-only), or None for an unknown code."""
    return next((method for method in _catalogue() if method["code"] == code), None)


def method_label(code: str) -> str:
    entry = method_entry(code)
    return entry["label"] if entry else str(code)


def parameter_entry(method: str, name: str) -> dict | None:
    entry = method_entry(method)
    if entry is None:
        return None
    return next((param for param in entry["parameters"] if param["name"] == name), None)


def _number(text: str) -> object:
    """A bare number as int or float; anything else (a unit, a thousands separator) stays text for the loader."""
    if PLAIN_INTEGER.match(text):
        return int(text)
    if PLAIN_NUMBER.match(text):
        return float(text)
    return text


def _items(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


def _record(line: str) -> object:
    record = {}
    for part in RECORD_SEPARATOR.split(line.strip()):
        key, colon, value = part.partition(":")
        if not colon:
            return line.strip()  # left as written: the loader says the entry is not a mapping
        record[key.strip()] = value.strip()
    return record


def parameter_value(param: dict, text: str) -> object:
    """Typed text of one field as the document value (never raises; the loader judges the result)."""
    text = text.strip()
    kind = param["kind"]
    if kind in ("number", "integer"):
        return _number(text)
    if kind == "boolean":
        return {YES: True, NO: False}.get(text.lower(), text)
    if kind in ("integer_list", "number_list"):
        return [_number(item) for item in _items(text)]
    if kind == "number_or_range":
        return [_number(item) for item in _items(text)] if RANGE_SEPARATOR.search(text) else _number(text)
    if kind == "list":
        return _items(text)
    if kind == "records":
        return [_record(line) for line in text.splitlines() if line.strip()]
    return text


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parameter_text(param: dict | None, value: object) -> str:
    """A document value (as written, or canonical) as the text its form field shows."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        if param is not None and param["kind"] == "records":
            return "\n".join(
                ", ".join(f"{key}: {item}" for key, item in record.items()) if isinstance(record, dict) else str(record)
                for record in value
            )
        return ", ".join(_number_text(item) for item in value)
    if value is None:
        return ""
    return _number_text(value)
