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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from protocols.catalogue import method_entry, parameter_entry

from ..compliance import wording
from ..core.numbers import power_of_ten, significant
from ..samples import vocabulary
from .forms.results import IMAGING_TECHNIQUES, MARKER_METHODS, PARTICLE_TECHNIQUES, PROTEIN_ASSAYS

# The result forms' words for the codes a result document holds (assays, techniques, marker methods).
RESULT_WORDS = {**PARTICLE_TECHNIQUES, **IMAGING_TECHNIQUES, **MARKER_METHODS, **PROTEIN_ASSAYS}

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


def number(value: Any, kind: str = "") -> str:
    """A number as the lab writes it for its kind: concentration, size, percent, protein, or plain."""
    figure = _float(value)
    if figure is None:
        return EMPTY if value in (None, "") else str(value)
    if kind == "concentration":
        return power_of_ten(figure, "/mL")
    if kind == "count":  # a concentration under a header or beside a unit that names it
        return power_of_ten(figure)
    if kind == "size":
        return f"{figure:,.1f} nm"
    if kind == "percent":
        return f"{figure:.1f} %"
    if kind == "protein":
        return significant(figure, 3) + " µg/mL"
    if kind == "protein_value":  # under a header that names the unit
        return significant(figure, 3)
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
    suffixes = [s for s, _ in wording.UNIT_SUFFIXES if (s.startswith("_") or s == code) and code.endswith(s)]
    if not suffixes:
        return code.replace("_", " ")
    suffix = max(suffixes, key=len)
    unit = dict(wording.UNIT_SUFFIXES)[suffix].strip()
    stem = code[: -len(suffix)] or code.split("_")[0]  # 'concentration_per_ml' is its own suffix
    return f"{stem.replace('_', ' ')} ({unit})"


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
    if isinstance(value, datetime):
        return f"{timezone.localtime(value) if timezone.is_aware(value) else value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and ISO_DATETIME.match(value):
        # Dates and times reach the audit trail in ISO form: shown to the minute, as every page does.
        return value[:10] + (" " + value[11:16] if len(value) > 10 else "")
    if isinstance(value, float | Decimal) or isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        # Decimals reach the audit trail as text ("470.0"): they read as numbers too.
        return number(float(value)) + wording._unit(field)
    return wording.describe(field, value)


def ruleset(text: str, kind: str = "") -> str:
    """A rule set as stored ('miblood_ev@1') in words: 'MIBlood-EV (blood-derived EVs), version 1'; with kind
    "version" only 'version 1' (beside a heading that names it)."""
    from .reports.compliance import RULESET_TITLES

    name, _, version = str(text or "").partition("@")
    if kind == "version":
        return f"version {version}" if version else ""
    title = RULESET_TITLES.get(name, label(name))
    return f"{title}, version {version}" if version else title


def action(code: str) -> str:
    """An audit action ('run.record_step') in words: 'Run: record step'."""
    subject, _, verb = str(code or "").partition(".")
    subject_words = label(subject, "field")
    return f"{subject_words}: {verb.replace('_', ' ')}" if verb else subject_words
