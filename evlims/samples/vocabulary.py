"""Sample vocabularies loaded from data files (see data/*.yaml for sources)."""

from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"


@cache
def biofluids() -> tuple[dict, ...]:
    return tuple(yaml.safe_load((DATA_DIR / "biofluids.yaml").read_text(encoding="utf-8")))


@cache
def preanalytical_rules() -> dict:
    return yaml.safe_load((DATA_DIR / "preanalytical_rules.yaml").read_text(encoding="utf-8"))


def biofluid_choices() -> list[tuple[str, str]]:
    return [(entry["code"], entry["label"]) for entry in biofluids()]


def biofluid(code: str) -> dict | None:
    return next((entry for entry in biofluids() if entry["code"] == code), None)


def is_blood(code: str) -> bool:
    entry = biofluid(code)
    return bool(entry and entry.get("blood"))
