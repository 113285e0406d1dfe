"""Evidence in the lab's words: a document path and the value found there, written as a person reads them.

The evaluator keeps document paths (``sample.centrifugation_spins``) because exports and tests need them
exactly; pages, reports and checklists show ``label(path)`` and ``describe(path, value)`` instead, e.g.
"Pre-analytical spins: 2 spins at 2,500 × g, 15 min, room temperature, no brake". Django-free, like the
evaluator, so an exported document reads the same offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from protocols.catalogue import method_entry

from ..core.registry import Provider
from .document import Marker

# Words for the path segments a rule can name; a segment missing here is spelt out from its code.
SEGMENT_LABELS = {
    "sample": "Sample",
    "separation": "Separation",
    "characterization": "Characterisation",
    "claims": "Claims",
    "prep_storage": "Storage of the preparation",
    "functional_studies": "Functional studies",
    "biofluid": "biofluid",
    "volume_ml": "starting volume",
    "tissue_mass_mg": "tissue mass",
    "donor": "donor",
    "anticoagulant": "anticoagulant",
    "tube_type": "collection tube",
    "needle_gauge": "needle gauge",
    "discard_tube": "discard tube",
    "processing_delay_h": "time to processing",
    "processing_temperature_c": "processing temperature",
    "centrifugation_spins": "pre-analytical spins",
    "hemolysis_a414": "haemolysis (A414)",
    "residual_platelets_per_ul": "residual platelets",
    "storage_temperature_c": "storage temperature",
    "storage_duration_days": "storage duration",
    "freeze_thaw_cycles": "freeze–thaw cycles",
    "urine_collection": "urine collection",
    "urine_normalization": "urine normalisation",
    "protease_inhibitors": "protease inhibitors",
    "pre_clearing_g": "pre-clearing spin",
    "cell_line": "cell line",
    "serum_percent": "serum in the medium",
    "serum_ev_depleted": "EV-depleted serum",
    "conditioning_time_h": "conditioning time",
    "cell_count_at_harvest": "cells at harvest",
    "viability_pct_at_harvest": "viability at harvest",
    "particle_analysis": "particle analysis",
    "protein_quantification": "protein quantification",
    "lipid_quantification": "lipid quantification",
    "rna_quantification": "RNA quantification",
    "markers": "protein markers",
    "imaging": "imaging",
    "topology": "topology assays",
    "params": "parameters",
    "lysate": "lysate",
    "antibody": "antibody",
    "subtype": "claimed EV subtype",
    "biogenesis_evidence": "evidence for the biogenesis claim",
    "functional_cargo": "functional cargo",
    "buffer": "buffer",
    "container": "container",
    "temperature_c": "temperature",
    "duration_days": "duration",
    "duration_min": "duration",
    "g_force": "centrifugal force",
    "brake": "brake",
    "settings": "instrument settings",
    "calibration": "calibration",
    "controls": "controls",
    "flow": "Flow cytometry",
    "buffer_reagents": "buffer with reagents",
    "unstained": "unstained sample",
    "isotype": "isotype or FMO",
    "lysis": "detergent lysis",
    "trigger_channel": "trigger channel",
    "trigger_threshold": "trigger threshold",
    "fluorescence_units": "fluorescence units",
    "scatter_units": "scatter units",
    "analysed_volume_ul": "analysed volume",
}

# Units by the suffix of a field's code: (suffix, unit as printed after the number).
UNIT_SUFFIXES = (
    ("concentration_per_ml", " particles/mL"),
    ("_per_ml", "/mL"),
    ("_ug_per_ml", " µg/mL"),
    ("_per_ul", "/µL"),
    ("temperature_c", " °C"),
    ("_ml", " mL"),
    ("_ul", " µL"),
    ("_mg", " mg"),
    ("_ug", " µg"),
    ("_ng", " ng"),
    ("_nmol", " nmol"),
    ("_nm", " nm"),
    ("_min", " min"),
    ("_h", " h"),
    ("_days", " days"),
    ("_pct", " %"),
    ("_pct_at_harvest", " %"),
    ("_percent", " %"),
    ("g_force", " × g"),
    ("_g", " × g"),
)
MAX_LENGTH = 160
_INDEX = re.compile(r"\[(\d+)\]")


def field_words(code: str) -> str:
    """A field's code in words: 'g_force' → 'centrifugal force'."""
    return SEGMENT_LABELS.get(code, code.replace("_", " "))


@lru_cache(maxsize=8192)
def label(path: str) -> str:
    """'sample.centrifugation_spins' → 'Sample › pre-analytical spins'; list indexes count from 1."""
    parts = []
    for segment in path.split("."):
        index = _INDEX.search(segment)
        name = field_words(_INDEX.sub("", segment))
        parts.append(f"{name} {int(index.group(1)) + 1}" if index else name)
    text = " › ".join(parts)
    return text[:1].upper() + text[1:]


def _unit(field: str) -> str:
    # The longest matching suffix wins, so "_ug_per_ml" beats "_per_ml".
    suffixes = [suffix for suffix, _ in UNIT_SUFFIXES if field.endswith(suffix)]
    return dict(UNIT_SUFFIXES)[max(suffixes, key=len)] if suffixes else ""


def _number(value: float | int) -> str:
    if isinstance(value, float) and not value.is_integer():
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3g}".replace("e+", " × 10^").replace("e-", " × 10^-")
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if abs(value) >= 1e7:
        return f"{value:.3g}".replace("e+", " × 10^")
    return f"{int(value):,}"


# The forms' own words for vocabulary codes ('k2_edta' → 'K2-EDTA'), read from the models' choices: Django's side
# registers the reader when it starts (EvlimsConfig.ready()). Offline (an exported document evaluated by the
# library alone) there is none, and codes are spelt out.
choice_label_source = Provider("the forms' words for vocabulary codes", default=dict)


def choice_labels() -> dict[str, str]:
    return choice_label_source.get()()


def code_words(code: str) -> str:
    """A vocabulary code as the forms show it: model choices first, then protocol methods, else spelt out."""
    method = method_entry(code)
    return choice_labels().get(code) or (method["label"] if method else code.replace("_", " "))


def codes(values, joiner: str = ", ") -> str:
    """Several codes in words, joined: ['sec', 'density_gradient'] → 'Size-exclusion chromatography, …'."""
    return joiner.join(code_words(str(value)) for value in values)


_DOCUMENT_ROOTS = ("sample", "separation", "characterization", "claims", "prep_storage", "functional_studies")
_PATH_IN_TEXT = re.compile(
    rf"\b(?:{'|'.join(_DOCUMENT_ROOTS)})(?:\[\d+\])?(?:\.[a-z][a-z0-9_]*(?:\[\d+\])?)+|\bseparation\[\d+\]"
)
_CODE_IN_TEXT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def prose(text: str) -> str:
    """A message of the evaluator in words: document paths as their labels, codes as the forms name them.

    'prep_storage.temperature_c is not reported' → 'Storage of the preparation › temperature is not reported';
    'detected by western_blot' → 'detected by Western blot'. Stored verdicts keep the paths; pages show this.
    """
    if not isinstance(text, str):
        return text
    text = _PATH_IN_TEXT.sub(lambda match: label(match.group(0)), text)
    return _CODE_IN_TEXT.sub(lambda match: code_words(match.group(0)), text)


def _scalar(field: str, value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value) + _unit(field)
    text = str(value)
    # Vocabulary codes (blood_plasma, western_blot) read as the forms show them; free text is left as typed.
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", text):
        return code_words(text)
    return text


def _spin(spin: Mapping) -> str:
    parts = []
    if spin.get("g_force") is not None:
        parts.append(f"{_number(spin['g_force'])} × g")
    if spin.get("duration_min") is not None:
        parts.append(f"{_number(spin['duration_min'])} min")
    temperature = spin.get("temperature_c")
    if temperature is not None:
        parts.append("room temperature" if 18 <= temperature <= 25 else f"{_number(temperature)} °C")
    if spin.get("brake") is not None:
        brake = spin["brake"]
        parts.append(("brake on" if brake else "no brake") if isinstance(brake, bool) else f"brake {brake}")
    return ", ".join(parts) or "details not recorded"


def _spins(spins: Sequence) -> str:
    texts = [_spin(spin) for spin in spins if isinstance(spin, Mapping)]
    if texts and len(set(texts)) == 1:
        count = len(texts)
        return f"{count} spin{'s' if count > 1 else ''} at {texts[0]}"
    return "; ".join(f"spin {number}: {text}" for number, text in enumerate(texts, start=1))


def _mapping(value: Mapping) -> str:
    return "; ".join(f"{field_words(key)}: {describe(key, item)}" for key, item in value.items() if item is not None)


def describe(path: str, value: Any) -> str:
    """The value found at a document path, as text: units, words for codes, no Python or JSON syntax."""
    if value.__class__ in _SCALARS:
        # A stored evaluation describes ~40 pieces of evidence per preparation, mostly the same codes and
        # fields again and again: plain values are described once per process (and per source of the forms'
        # words, which Django registers when it starts).
        key = (path, value.__class__, value)
    elif value.__class__ is Marker:
        # A marker is described by its name, outcome and method, so its text is cached by them too.
        key = (path, value.describe_key)
    else:
        # Lists and objects (a separation step with its parameters, the pre-analytical spins) repeat between
        # preparations as equal copies: their JSON text (which keeps key order and tells 1 from 1.0 and true)
        # costs a tenth of describing them again. Anything JSON cannot write is described each time.
        try:
            key = (path, _json_text(value))
        except (TypeError, ValueError):
            return _describe(path, value)
    source = choice_label_source.get()
    if source is not _scalar_texts_source[0] or len(_scalar_texts) > _SCALAR_TEXTS_MAX:
        _scalar_texts.clear()
        _scalar_texts_source[0] = source
    text = _scalar_texts.get(key)
    if text is None:
        text = _scalar_texts[key] = _describe(path, value)
    return text


_SCALARS = frozenset({str, int, float, bool, type(None)})
_json_text = json.JSONEncoder(check_circular=False, allow_nan=True).encode
_SCALAR_TEXTS_MAX = 100_000
_scalar_texts: dict[tuple, str] = {}
_scalar_texts_source: list = [None]


def _describe(path: str, value: Any) -> str:
    field = _INDEX.sub("", path.rsplit(".", 1)[-1])
    if field == "centrifugation_spins" and isinstance(value, Sequence) and not isinstance(value, str):
        text = _spins(value)
    elif isinstance(value, Mapping):
        text = _mapping(value)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        text = ", ".join(describe(field, item) for item in value) or "none"
    else:
        text = _scalar(field, value)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"
