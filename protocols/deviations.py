"""Deviations of an observed run step from the protocol step it executes.

Tolerance shape (per step, optional): ``tolerances: {param: {abs: X, rel: Y}}``
* ``abs``: allowed absolute difference in the parameter's canonical unit (text with a unit
  is accepted, e.g. "5 min"; temperatures are read as differences, so "2 K" = 2 °C).
* ``rel``: allowed difference as a fraction of the protocol value (0.1 = 10 %).
* both: the wider band applies ("±5 % or ±2 min, whichever is larger").
* none: the observed value must equal the protocol value (up to floating-point noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from protocols.errors import ProtocolValidationError
from protocols.schemas import FREE_PARAMETER_METHODS, cached_method_schema
from protocols.steps import ProtocolStep, canonicalise_params, schema_errors, validate_step

_FLOAT_NOISE = 1e-9
_UNIT_DISPLAY = {"g": "× g", "degC": "°C"}


@dataclass(frozen=True)
class Deviation:
    field: str
    expected: object
    observed: object
    tolerance: dict | None
    message: str
    kind: str  # out_of_tolerance | missing | mismatch


def _as_step(step_definition: ProtocolStep | dict) -> ProtocolStep:
    if isinstance(step_definition, ProtocolStep):
        return step_definition
    step, errors = validate_step(step_definition, number=1)
    if errors:
        raise ProtocolValidationError(errors)
    return step


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _allowed_band(expected: float, tolerance: dict | None) -> float:
    if not tolerance:
        return _FLOAT_NOISE * max(1.0, abs(expected))
    return max(tolerance.get("abs", 0.0), tolerance.get("rel", 0.0) * abs(expected))


def _describe_tolerance(tolerance: dict | None, unit: str | None) -> str:
    if not tolerance:
        return "no tolerance (must match)"
    parts = []
    if "abs" in tolerance:
        parts.append(f"±{tolerance['abs']:g}{' ' + unit if unit else ''}")
    if "rel" in tolerance:
        parts.append(f"±{tolerance['rel'] * 100:g} %")
    return " or ".join(parts)


def _shown(value, unit: str | None, labels: dict | None = None) -> str:
    """A parameter value as the lab writes it: '10 min', 'yes', 'a, b', never a Python repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}{' ' + unit if unit else ''}"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item, unit) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {_shown(item, None)}" for key, item in value.items())
    if isinstance(value, str) and labels and value in labels:
        return labels[value]
    return f"“{value}”" if value is not None else "not recorded"


def compute_deviations(step_definition: ProtocolStep | dict, observed_params: dict) -> list[Deviation]:
    """Compare observed run parameters with a protocol step.

    ``step_definition`` is a validated ProtocolStep or a raw step mapping (method, params,
    tolerances). ``observed_params`` may use unit text like the protocol YAML. Every parameter
    the protocol sets must be observed, except those the schema marks ``x-compare: none``
    (lots and other per-run identifiers). Observed parameters the protocol does not set are
    not deviations. Raises ProtocolValidationError for unreadable or unknown observed values.
    """
    step = _as_step(step_definition)
    if not isinstance(observed_params, dict):
        raise TypeError("observed_params must be a mapping of parameter -> value")
    observed, originals, errors = canonicalise_params(step.method, observed_params, step.number)
    errors += [
        error
        for error in schema_errors(step.method, observed, originals, step.number)
        if error["field"] in observed  # a run may record only some fields; absent ones are handled below
    ]
    if errors:
        raise ProtocolValidationError(errors, "observed parameters")
    properties = cached_method_schema(step.method)["properties"]
    deviations: list[Deviation] = []
    for name, expected in step.params.items():
        spec = properties.get(name, {})
        compare = spec.get("x-compare", "exact" if step.method in FREE_PARAMETER_METHODS else "none")
        if compare == "none":
            continue
        unit = _UNIT_DISPLAY.get(spec.get("x-unit"), spec.get("x-unit"))
        title = spec.get("title") or name.replace("_", " ")
        labels = spec.get("x-enum-labels") or {}
        tolerance = step.tolerances.get(name)
        if name not in observed or observed[name] is None:
            missing = f"{title}: not recorded (protocol: {_shown(expected, unit)})"
            deviations.append(Deviation(name, expected, None, tolerance, missing, "missing"))
            continue
        actual = observed[name]
        if compare == "numeric" and _is_number(expected) and _is_number(actual):
            difference = actual - expected
            if abs(difference) > _allowed_band(expected, tolerance) and not math.isclose(actual, expected):
                deviations.append(
                    Deviation(
                        name,
                        expected,
                        actual,
                        tolerance,
                        f"{title}: observed {_shown(actual, unit)} differs from protocol {_shown(expected, unit)} "
                        f"by {difference:+g}{' ' + unit if unit else ''}, "
                        f"outside {_describe_tolerance(tolerance, unit)}",
                        "out_of_tolerance",
                    )
                )
        elif actual != expected:
            deviations.append(
                Deviation(
                    name,
                    expected,
                    actual,
                    tolerance,
                    f"{title}: observed {_shown(actual, unit, labels)} differs from protocol "
                    f"{_shown(expected, unit, labels)}",
                    "mismatch",
                )
            )
    return deviations
