"""Content hash of a protocol version: sha256 of its canonical JSON form.

Canonical form: the document with parameter values in canonical units (so "1.5 h" and 90 hash
alike), without original texts and derived values (which may be corrected in the rotor table
without changing the protocol), keys sorted, floats rounded to 12 significant digits and
integral floats written as integers, UTF-8, no insignificant whitespace.
"""

from __future__ import annotations

import hashlib
import json
import math

SIGNIFICANT_DIGITS = 12


def _normalise(value: object) -> object:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot hash a non-finite number ({value})")
        rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def canonical_json(content: dict) -> str:
    return json.dumps(_normalise(content), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: dict) -> str:
    """'sha256:<hex>' of the canonical JSON of ``content``."""
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
