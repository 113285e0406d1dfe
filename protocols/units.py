"""Parsing of parameter values written with units into canonical numbers.

A parameter may be written as a bare number, meaning it is already in the canonical unit of
the field (the schema's ``x-unit``), or as text with a unit: "1.5 h", "100,000 x g", "4 °C",
"500 µl". Text is converted with pint to the canonical unit; the caller keeps the original text.

Number syntax: a comma or thin/no-break space followed by exactly three digits is a thousands
separator ("100,000", "100 000"); any other comma is a decimal comma ("1,5 h").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pint

UREG = pint.UnitRegistry()

# Canonical unit labels used in the schemas (x-unit) and the pint unit each one means.
# "g" is relative centrifugal force (multiples of standard gravity), not gram.
CANONICAL_UNITS: dict[str, str] = {
    "g": "rcf",
    "rpm": "revolutions_per_minute",
    "min": "minute",
    "degC": "degC",
    "mL": "milliliter",
    "µL": "microliter",
    "cm": "centimeter",
    "mm": "millimeter",
    "nm": "nanometer",
    "µm": "micrometer",
    "kDa": "kilodalton",
    "Da": "dalton",
    "g/mL": "gram / milliliter",
    "%": "percent",
    "psi": "psi",
    "mL/min": "milliliter / minute",
}

UREG.define("rcf = [relative_centrifugal_force] = xg")

_THOUSANDS_SEPARATORS = ",\u202f\u00a0\u2009 "
_NUMBER = re.compile(
    rf"""^\s*(?P<sign>[+-]?)
        (?P<integer>\d{{1,3}}(?:[{_THOUSANDS_SEPARATORS}]\d{{3}})+(?!\d)|\d+)
        (?:[.,](?P<fraction>\d+))?
        (?P<exponent>[eE][+-]?\d+)?
        \s*(?P<unit>.*?)\s*$""",
    re.VERBOSE,
)
_RCF_UNIT = re.compile(r"^(?:[x×*]\s*g|g|xg|rcf|×g)$", re.IGNORECASE)
_UNIT_ALIASES = (
    (re.compile(r"^[°º]\s*C$|^deg\s*C$|^celsius$", re.IGNORECASE), "degC"),
    (re.compile(r"^(?:h|hr|hrs|hour|hours)$", re.IGNORECASE), "hour"),
    (re.compile(r"^(?:min|mins|minute|minutes)$", re.IGNORECASE), "minute"),
    (re.compile(r"^(?:s|sec|secs|second|seconds)$", re.IGNORECASE), "second"),
    (re.compile(r"^%\s*(?:\(?\s*[wv]\s*/\s*[wv]\s*\)?)?$", re.IGNORECASE), "percent"),
    (re.compile(r"^(?:rpm|rev/min)$", re.IGNORECASE), "revolutions_per_minute"),
    (re.compile(r"^[µμu]l$", re.IGNORECASE), "microliter"),
    (re.compile(r"^ml$", re.IGNORECASE), "milliliter"),
    (re.compile(r"^[µμu]m$"), "micrometer"),
    (re.compile(r"^kda$", re.IGNORECASE), "kilodalton"),
    (re.compile(r"^g\s*/\s*ml$", re.IGNORECASE), "gram / milliliter"),
    (re.compile(r"^ml\s*/\s*min$", re.IGNORECASE), "milliliter / minute"),
)


class UnitParseError(ValueError):
    """A value could not be read as a quantity in the expected unit."""


@dataclass(frozen=True)
class ParameterValue:
    """A canonical number with its canonical unit label and the text it was read from."""

    value: float
    unit: str
    original: str | None


def _split_number(text: str) -> tuple[float, str]:
    match = _NUMBER.match(text)
    if not match:
        raise UnitParseError("it does not start with a number")
    integer = re.sub(f"[{_THOUSANDS_SEPARATORS}]", "", match.group("integer"))
    literal = f"{match.group('sign')}{integer}.{match.group('fraction') or '0'}{match.group('exponent') or ''}"
    return float(literal), match.group("unit")


def _pint_unit(unit_text: str, canonical: str) -> str:
    if canonical == "g":
        if _RCF_UNIT.match(unit_text):
            return "rcf"
        if unit_text.lower() in ("rpm", "rev/min"):
            raise UnitParseError("is a speed in rpm; give it in speed_rpm and state the g-force here")
    for pattern, pint_name in _UNIT_ALIASES:
        if pattern.match(unit_text):
            return pint_name
    return unit_text


def _quantity(text: str, canonical: str, *, delta: bool) -> float:
    number, unit_text = _split_number(text)
    target = CANONICAL_UNITS[canonical]
    if not unit_text:
        return number
    unit_name = _pint_unit(unit_text, canonical)
    if delta and unit_name in ("degC", "kelvin", "K", "degF"):
        unit_name = {"degC": "delta_degC", "degF": "delta_degF"}.get(unit_name, unit_name)
        target = "delta_degC"
    try:
        quantity = UREG.Quantity(number, unit_name)
        return float(quantity.to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise UnitParseError(f"'{unit_text}' is not a unit convertible to {canonical}")
    except (pint.errors.UndefinedUnitError, AttributeError, TypeError, ValueError, AssertionError):
        raise UnitParseError(f"'{unit_text}' is not a known unit")


def parse_quantity(raw: object, canonical: str, *, delta: bool = False) -> ParameterValue:
    """Read ``raw`` (number, or text with a unit) as a value in the ``canonical`` unit label.

    ``delta=True`` reads a difference (used for tolerances): temperatures convert as
    intervals, so "2 K" is 2 °C rather than -271.15 °C.
    """
    if canonical not in CANONICAL_UNITS:
        raise UnitParseError(f"unknown canonical unit '{canonical}'")
    if isinstance(raw, bool):
        raise UnitParseError(f"expected a number in {canonical}, got a boolean ({raw})")
    if isinstance(raw, int | float):
        value, original = float(raw), None
    elif isinstance(raw, str):
        try:
            value = _quantity(raw, canonical, delta=delta)
        except UnitParseError as error:
            raise UnitParseError(f"cannot read '{raw}' as {canonical}: {error}") from None
        original = raw
    else:
        raise UnitParseError(f"expected a number or text with a unit ({canonical}), got {type(raw).__name__}")
    if not math.isfinite(value):
        raise UnitParseError(f"expected a finite number in {canonical}, got {raw!r}")
    return ParameterValue(value=value, unit=canonical, original=original)
