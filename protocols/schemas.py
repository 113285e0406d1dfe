"""Access to the per-method parameter schemas (JSON Schema 2020-12, one file per method).

Custom keywords used in the schemas:

* ``x-unit``: canonical unit label of a parameter (see ``protocols.units.CANONICAL_UNITS``), or null.
* ``x-required-by``: guidelines that ask for the parameter; keys of the schema's ``x-citations``.
* ``x-compare``: how an observed run value is compared to the protocol value:
  ``numeric`` (within tolerance), ``exact`` (must be equal) or ``none`` (recorded, not compared).
* ``x-required-one-of`` (schema level): groups of parameters of which at least one must be given.
* ``x-only-with`` (schema level): parameters allowed only when another parameter has given values.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).parent / "schemas"

METHOD_CODES = (
    "differential_centrifugation",
    "ultracentrifugation",
    "density_gradient",
    "sec",
    "precipitation",
    "filtration",
    "ultrafiltration",
    "immunoaffinity",
    "kit",
    "other",
)

# Methods whose parameters are free-form: unknown parameters are accepted and kept as written.
FREE_PARAMETER_METHODS = frozenset({"other"})


class UnknownMethodError(KeyError):
    def __str__(self) -> str:
        return f"unknown method '{self.args[0]}' (known: {', '.join(METHOD_CODES)})"


def list_methods() -> list[str]:
    """Method codes in display order."""
    return list(METHOD_CODES)


@cache
def _load(name: str) -> dict:
    with (SCHEMA_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def method_schema(method: str) -> dict:
    """The JSON Schema of a method's step parameters (a copy; safe to modify)."""
    if method not in METHOD_CODES:
        raise UnknownMethodError(method)
    return copy.deepcopy(_load(method))


def cached_method_schema(method: str) -> dict:
    """Shared, read-only schema for internal use (avoids copying on every validation)."""
    if method not in METHOD_CODES:
        raise UnknownMethodError(method)
    return _load(method)


def document_schema() -> dict:
    """JSON Schema of a whole protocol document (the YAML file)."""
    return copy.deepcopy(_load("protocol-document"))
