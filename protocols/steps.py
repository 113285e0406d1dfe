"""Validation and canonicalisation of one protocol step (method + params + tolerances)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from jsonschema import Draft202012Validator

from protocols.centrifugation import load_rotors
from protocols.errors import issue
from protocols.schemas import FREE_PARAMETER_METHODS, METHOD_CODES, cached_method_schema
from protocols.units import UnitParseError, parse_quantity

STEP_KEYS = ("method", "label", "params", "tolerances", "notes")
TOLERANCE_KEYS = ("abs", "rel")
_UNIT_SUFFIX = {"degC": " °C", "g": " x g", "%": " %", None: ""}


@dataclass(frozen=True)
class ProtocolStep:
    """A validated step. ``params`` hold canonical values (units per the schema's x-unit);
    ``originals`` keeps the text of every parameter that was written with a unit;
    ``derived`` holds values computed from the rotor table (run speed, adjusted k-factor)."""

    number: int
    method: str
    params: dict
    label: str | None = None
    notes: str | None = None
    tolerances: dict = field(default_factory=dict)
    originals: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "method": self.method,
            "label": self.label,
            "notes": self.notes,
            "params": self.params,
            "originals": self.originals,
            "tolerances": self.tolerances,
            "derived": self.derived,
        }


@cache
def _validator(method: str) -> Draft202012Validator:
    return Draft202012Validator(cached_method_schema(method))


def _unit_text(value: object, unit: str | None) -> str:
    return f"{value}{_UNIT_SUFFIX.get(unit, ' ' + str(unit))}"


def _shown(field_name: str, value: object, originals: dict) -> str:
    return repr(originals.get(field_name, value))


def _convert_value(raw: object, unit: str, *, delta: bool = False) -> tuple[object, object]:
    """Canonical value and original text (None when written as a bare number)."""
    if isinstance(raw, list):
        converted = [parse_quantity(item, unit, delta=delta) for item in raw]
        originals = [item.original for item in converted]
        return [item.value for item in converted], (raw if any(originals) else None)
    parsed = parse_quantity(raw, unit, delta=delta)
    return parsed.value, parsed.original


def canonicalise_params(method: str, raw_params: dict, number: int | None) -> tuple[dict, dict, list]:
    """Convert unit-bearing values; report unknown parameters and unreadable values."""
    schema = cached_method_schema(method)
    properties = schema["properties"]
    params: dict = {}
    originals: dict = {}
    errors: list = []
    for name, raw in raw_params.items():
        spec = properties.get(name)
        if spec is None:
            if method not in FREE_PARAMETER_METHODS:
                known = ", ".join(properties)
                errors.append(issue(number, method, name, f"unknown parameter (known for {method}: {known})"))
            else:
                params[name] = raw
            continue
        unit = spec.get("x-unit")
        if unit is None or isinstance(raw, bool) or raw is None:
            params[name] = raw
            continue
        if isinstance(raw, list) and "array" not in _types(spec):
            params[name] = raw
            continue
        try:
            params[name], original = _convert_value(raw, unit)
        except UnitParseError as error:
            errors.append(issue(number, method, name, str(error)))
            continue
        if original is not None:
            originals[name] = original
    return params, originals, errors


def _types(spec: dict) -> list:
    declared = spec.get("type", [])
    return declared if isinstance(declared, list) else [declared]


def _schema_error_message(error, spec: dict, field_name: str | None, params: dict, originals: dict) -> str:
    unit = spec.get("x-unit") if spec else None
    value = error.instance
    got = _shown(field_name, value, originals) if field_name and len(error.path) == 1 else repr(value)
    limit = error.validator_value
    if error.validator == "minimum" and unit == "degC":
        return f"temperature below absolute zero (-273.15 °C), got {got}"
    if error.validator == "exclusiveMinimum":
        return f"must be greater than {_unit_text(limit, unit)}, got {got}"
    if error.validator == "minimum":
        return f"must be at least {_unit_text(limit, unit)}, got {got}"
    if error.validator == "maximum":
        return f"must be at most {_unit_text(limit, unit)}, got {got}"
    if error.validator == "enum":
        return f"must be one of {', '.join(map(str, limit))}, got {got}"
    if error.validator == "type":
        return f"must be of type {limit if isinstance(limit, str) else ' or '.join(limit)}, got {got}"
    if error.validator == "pattern":
        return f"{got} does not match the required pattern {limit}"
    if error.validator == "uniqueItems":
        return f"must not repeat items, got {got}"
    return error.message


def schema_errors(method: str, params: dict, originals: dict, number: int | None) -> list:
    schema = cached_method_schema(method)
    errors = []
    missing_reported: set = set()
    for error in sorted(_validator(method).iter_errors(params), key=lambda e: list(map(str, e.path))):
        if error.validator == "required":
            # jsonschema reports each missing name with the whole list: name each one once.
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                if name not in missing_reported:
                    missing_reported.add(name)
                    errors.append(issue(number, method, name, f"required parameter is missing for {method}"))
            continue
        field_name = str(error.path[0]) if error.path else None
        spec = schema["properties"].get(field_name, {}) if field_name else {}
        message = _schema_error_message(error, spec, field_name, params, originals)
        if len(error.path) > 1:
            item_path = "/".join(str(part + 1) if isinstance(part, int) else part for part in list(error.path)[1:])
            message = f"item {item_path}: {message}"
        errors.append(issue(number, method, field_name, message))
    return errors


def _fraction_range_errors(method: str, params: dict, number: int | None, list_field: str) -> list:
    collected = params.get("fractions_collected")
    chosen = params.get(list_field)
    if not isinstance(collected, int) or not isinstance(chosen, list):
        return []
    outside = [f for f in chosen if isinstance(f, int) and not 1 <= f <= collected]
    if not outside:
        return []
    return [
        issue(
            number,
            method,
            list_field,
            f"fraction(s) {', '.join(map(str, outside))} out of range 1..{collected} (fractions_collected)",
        )
    ]


def _rotor_errors(method: str, params: dict, originals: dict, number: int | None) -> tuple[list, dict]:
    rotor_id = params.get("rotor")
    if not isinstance(rotor_id, str):
        return [], {}
    rotors = load_rotors()
    if rotor_id not in rotors:
        return [issue(number, method, "rotor", f"unknown rotor '{rotor_id}' (not in the rotor list)")], {}
    rotor = rotors[rotor_id]
    basis = params.get("rcf_basis") if params.get("rcf_basis") in ("avg", "max") else None
    errors = []
    derived: dict = {}
    g_force = params.get("g_force")
    rpm = params.get("speed_rpm")
    if isinstance(rpm, int | float) and not isinstance(rpm, bool) and rpm > rotor.max_rpm:
        errors.append(
            issue(
                number,
                method,
                "speed_rpm",
                f"{_shown('speed_rpm', rpm, originals)} exceeds the maximum "
                f"speed of rotor {rotor.name} ({rotor.max_rpm:,.0f} rpm)",
            )
        )
    if isinstance(g_force, int | float) and not isinstance(g_force, bool) and g_force > 0:
        reachable = rotor.max_rcf(basis)
        if g_force > reachable:
            errors.append(
                issue(
                    number,
                    method,
                    "g_force",
                    f"{_shown('g_force', g_force, originals)} exceeds what rotor "
                    f"{rotor.name} reaches at its maximum speed ({reachable:,.0f} x g at "
                    f"{'r_avg' if basis == 'avg' else 'r_max'}, {rotor.max_rpm:,.0f} rpm)",
                )
            )
        elif not isinstance(rpm, int | float) or isinstance(rpm, bool):
            rpm = rotor.rpm_for(g_force, basis)
            derived["speed_rpm"] = round(rpm)
    if not errors and isinstance(rpm, int | float) and not isinstance(rpm, bool) and rpm > 0:
        adjusted = rotor.k_factor_for(rpm)
        if adjusted is not None:
            derived["k_factor_adjusted"] = round(adjusted, 1)
    return errors, derived


def semantic_errors(method: str, params: dict, originals: dict, number: int | None) -> tuple[list, dict]:
    """Checks JSON Schema cannot express: ranges across fields, rotor limits, mode-bound fields."""
    schema = cached_method_schema(method)
    errors: list = []
    for group in schema.get("x-required-one-of", []):
        if not any(name in params for name in group):
            errors.append(issue(number, method, group[0], f"give at least one of {', '.join(group)}"))
    for name, condition in schema.get("x-only-with", {}).items():
        if name not in params:
            continue
        for other, allowed in condition.items():
            if params.get(other) not in allowed:
                errors.append(
                    issue(
                        number,
                        method,
                        name,
                        f"only applies when {other} is {' or '.join(allowed)} (got {other}={params.get(other)!r})",
                    )
                )
    errors += _fraction_range_errors(method, params, number, "ev_fractions")
    errors += _fraction_range_errors(method, params, number, "fractions_pooled")
    density = params.get("fraction_density_g_ml")
    if isinstance(density, list) and len(density) == 2 and all(isinstance(d, int | float) for d in density):
        if density[0] > density[1]:
            errors.append(issue(number, method, "fraction_density_g_ml", f"range low > high, got {density}"))
    antigens = params.get("target_antigens")
    if isinstance(antigens, list) and isinstance(params.get("antibodies"), list):
        for index, antibody in enumerate(params["antibodies"], start=1):
            target = antibody.get("target") if isinstance(antibody, dict) else None
            if isinstance(target, str) and target not in antigens:
                errors.append(
                    issue(
                        number,
                        method,
                        "antibodies",
                        f"antibody {index} targets {target}, which is not in target_antigens ({', '.join(antigens)})",
                    )
                )
    rotor_errors, derived = _rotor_errors(method, params, originals, number)
    return errors + rotor_errors, derived


def canonicalise_tolerances(method: str, raw: object, params_known: dict, number: int | None) -> tuple[dict, list]:
    """Tolerances: param -> {abs: number-or-text in the param's unit, rel: fraction (0.1 = 10 %)}."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [issue(number, method, "tolerances", "must be a mapping of parameter -> {abs, rel}")]
    properties = cached_method_schema(method)["properties"]
    tolerances: dict = {}
    errors: list = []
    for name, spec in raw.items():
        where = f"tolerances.{name}"
        prop = properties.get(name)
        free = method in FREE_PARAMETER_METHODS and prop is None
        if prop is None and not free:
            errors.append(issue(number, method, where, "tolerance given for an unknown parameter"))
            continue
        if prop is not None and prop.get("x-compare") != "numeric":
            errors.append(issue(number, method, where, "tolerances apply only to numeric parameters"))
            continue
        if not isinstance(spec, dict) or not spec or set(spec) - set(TOLERANCE_KEYS):
            errors.append(issue(number, method, where, "must be a mapping with 'abs' and/or 'rel'"))
            continue
        entry = {}
        for key, value in spec.items():
            unit = prop.get("x-unit") if prop and key == "abs" else None
            try:
                number_value = parse_quantity(value, unit, delta=True).value if unit else _plain_number(value)
            except (UnitParseError, TypeError) as error:
                errors.append(issue(number, method, f"{where}.{key}", str(error)))
                continue
            if number_value < 0:
                errors.append(issue(number, method, f"{where}.{key}", f"must not be negative, got {value!r}"))
                continue
            entry[key] = number_value
        if entry:
            tolerances[name] = entry
    return tolerances, errors


def _plain_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def validate_step(raw_step: object, number: int) -> tuple[ProtocolStep | None, list]:
    """Validate one step mapping; returns the canonical step (or None) and the error list."""
    if not isinstance(raw_step, dict):
        return None, [issue(number, None, None, "a step must be a mapping with at least 'method'")]
    method = raw_step.get("method")
    if method not in METHOD_CODES:
        return None, [issue(number, None, "method", f"unknown method {method!r} (known: {', '.join(METHOD_CODES)})")]
    errors = [
        issue(number, method, key, f"unknown step key (allowed: {', '.join(STEP_KEYS)})")
        for key in raw_step
        if key not in STEP_KEYS
    ]
    raw_params = raw_step.get("params") or {}
    if not isinstance(raw_params, dict):
        return None, errors + [issue(number, method, "params", "must be a mapping of parameter -> value")]
    params, originals, conversion_errors = canonicalise_params(method, raw_params, number)
    errors += conversion_errors
    errors += schema_errors(method, params, originals, number)
    extra_errors, derived = semantic_errors(method, params, originals, number)
    errors += extra_errors
    tolerances, tolerance_errors = canonicalise_tolerances(method, raw_step.get("tolerances"), params, number)
    errors += tolerance_errors
    for key in ("label", "notes"):
        if key in raw_step and not isinstance(raw_step[key], str):
            errors.append(issue(number, method, key, "must be text"))
    if errors:
        return None, errors
    step = ProtocolStep(
        number=number,
        method=method,
        params=params,
        label=raw_step.get("label"),
        notes=raw_step.get("notes"),
        tolerances=tolerances,
        originals=originals,
        derived=derived,
    )
    return step, []
