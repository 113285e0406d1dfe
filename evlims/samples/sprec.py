"""The biobanking SPREC code of a fluid sample, where its record holds enough to build one.

Elements the record does not cover are written X ("unknown"), as SPREC prescribes; if even the sample
type or its container is unknown there is no useful code and None is returned.
"""

from functools import cache

import yaml

from .vocabulary import DATA_DIR


@cache
def sprec_table() -> dict:
    return yaml.safe_load((DATA_DIR / "sprec.yaml").read_text(encoding="utf-8"))


def _banded(value, bands) -> str:
    for upper, code in bands:
        if upper is None or value < upper:
            return code
    return "X"


def _sample_type(sample, table) -> str | None:
    entry = table["sample_type"].get(sample.biofluid)
    if isinstance(entry, dict):
        if sample.biofluid == "blood_plasma":
            return entry.get(min(sample.prep_spin_count or 0, 2)) if sample.prep_spin_count else None
        return entry.get(sample.urine_collection or "default", entry.get("default"))
    return entry


def sprec_code(sample) -> str | None:
    table = sprec_table()
    sample_type = _sample_type(sample, table)
    if sample_type is None:
        return None
    blood = sample.biofluid in ("blood_plasma", "serum", "whole_blood")
    container = table["primary_container"].get(sample.anticoagulant) if blood else "PPS"
    if container is None:
        return None
    delay = (
        _banded(sample.processing_delay_min / 60, table["pre_centrifugation_delay_rt"])
        if sample.processing_delay_min is not None
        else "X"
    )
    storage = (
        _banded(float(sample.storage_temperature_c), table["storage"])
        if sample.storage_temperature_c is not None
        else "X"
    )
    # Elements 4-6 (centrifugation codes and post-centrifugation delay) need a finer record than we keep.
    return "-".join([sample_type, container, delay, "X", "X", "X", storage])
