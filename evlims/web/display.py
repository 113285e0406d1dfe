"""Numbers by kind and codes in words, for pages (the template filters in ``evlims.templatetags.evlims_words``).

A number is never shown as Python prints a float: concentrations read ``4.31 × 10¹⁰/mL``, sizes are given to
0.1 nm, percentages to 0.1 %, protein concentrations to 3 significant figures, anything else to at most
6 significant digits. Codes read as the forms show them (the models' choice labels, the biofluid vocabulary,
the protocol catalogue's method and parameter labels); any other value reads as
``evlims.compliance.wording.describe`` writes it (lists joined, mappings as "field: value", Yes/No).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from protocols.catalogue import method_entry, parameter_entry

from ..compliance import wording
from ..samples import vocabulary
from .forms.results import IMAGING_TECHNIQUES, MARKER_METHODS, PARTICLE_TECHNIQUES, PROTEIN_ASSAYS

# The result forms' words for the codes a result document holds (assays, techniques, marker methods).
RESULT_WORDS = {**PARTICLE_TECHNIQUES, **IMAGING_TECHNIQUES, **MARKER_METHODS, **PROTEIN_ASSAYS}

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
EMPTY = "—"
DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")
ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$")


def _float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def significant(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant figures, in plain notation with thousands separators."""
    if value == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):,.{max(decimals, 0)}f}"


def power_of_ten(value: float, unit: str = "") -> str:
    """4.31e10 → '4.31 × 10¹⁰' followed by the unit; small magnitudes stay plain."""
    if value == 0:
        return f"0{unit}"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 4:
        return significant(value, 3) + unit
    mantissa = value / 10**exponent
    if round(mantissa, 2) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.2f} × 10{str(exponent).translate(SUPERSCRIPT)}{unit}"


def number(value: Any, kind: str = "") -> str:
    """A number as the lab writes it for its kind: concentration, size, percent, protein, or plain."""
    figure = _float(value)
    if figure is None:
        return EMPTY if value in (None, "") else str(value)
    if kind == "concentration":
        return power_of_ten(figure, "/mL")
    if kind == "count":
        return power_of_ten(figure)
    if kind == "size":
        return f"{figure:,.1f} nm"
    if kind == "percent":
        return f"{figure:.1f} %"
    if kind == "protein":
        return significant(figure, 3) + " µg/mL"
    if figure.is_integer() and abs(figure) < 1e7:
        return f"{int(figure):,}"
    if abs(figure) >= 1e7 or abs(figure) < 1e-3:
        return power_of_ten(figure)
    return f"{float(f'{figure:.6g}'):,}"


def label(code: Any, kind: str = "") -> str:
    """A code in words: ``kind`` "biofluid", "method", "parameter:<method>" or any model choice / field code."""
    if code in (None, ""):
        return EMPTY
    text = str(code)
    if kind == "biofluid":
        entry = vocabulary.biofluid(text)
        if entry:
            return entry["label"]
    if kind == "method":
        entry = method_entry(text)
        if entry:
            return entry["label"]
    if kind.startswith("parameter:"):
        entry = parameter_entry(kind.split(":", 1)[1], text)
        if entry:
            return entry.get("field_label") or entry["label"]
    if kind == "field":
        words = field_label(text)
        return words[:1].upper() + words[1:]
    return wording.choice_labels().get(text) or RESULT_WORDS.get(text) or _method_or_words(text)


def field_label(code: str) -> str:
    """A field's code as a label with its unit: 'volume_ul' → 'volume (µL)', 'tube_type' → 'collection tube'."""
    if code in wording.SEGMENT_LABELS:
        return wording.SEGMENT_LABELS[code]
    suffixes = [suffix for suffix, _ in wording.UNIT_SUFFIXES if suffix.startswith("_") and code.endswith(suffix)]
    if not suffixes:
        return code.replace("_", " ")
    suffix = max(suffixes, key=len)
    unit = dict(wording.UNIT_SUFFIXES)[suffix].strip()
    return f"{code[: -len(suffix)].replace('_', ' ')} ({unit})"


def _method_or_words(text: str) -> str:
    entry = method_entry(text)
    if entry:
        return entry["label"]
    entry = vocabulary.biofluid(text)
    return entry["label"] if entry else text.replace("_", " ")


def words(value: Any, field: str = "") -> str:
    """Any recorded value in words: numbers with the unit of their field, lists joined, Yes/No, codes labelled."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and ISO_DATETIME.match(value):
        # Dates and times reach the audit trail in ISO form: shown to the minute, as every page does.
        return value[:10] + (" " + value[11:16] if len(value) > 10 else "")
    if isinstance(value, float | Decimal) or isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        # Decimals reach the audit trail as text ("470.0"): they read as numbers too.
        return number(float(value)) + wording._unit(field)
    return wording.describe(field, value)
