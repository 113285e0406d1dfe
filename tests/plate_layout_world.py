"""Plate layouts for tests: the BCA fixture's plate map (tests/fixtures/instrument-files/bca-plate-map.json, laid
out for the SoftMax BCA export) written well by well, as a saved layout holds it."""

import json
import string
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "instrument-files"
PLATE_MAP = FIXTURES / "bca-plate-map.json"


def _wells_of(key: str) -> list[str]:
    first, _, last = key.partition(":")
    last = last or first
    rows = string.ascii_uppercase
    return [
        f"{rows[row]}{column}"
        for row in range(rows.index(first[0]), rows.index(last[0]) + 1)
        for column in range(int(first[1:]), int(last[1:]) + 1)
    ]


def fixture_plate_map() -> dict:
    return json.loads(PLATE_MAP.read_text())


def fixture_wells() -> dict:
    """{well: spec} of the fixture's plate map, one key per well."""
    wells = {}
    for key, spec in fixture_plate_map()["wells"].items():
        for well in _wells_of(key):
            wells[well] = dict(spec)
    return wells


def small_wells() -> dict:
    """A valid small layout: standards at 3 concentrations, two blanks, one sample in duplicate."""
    return {
        "A1": {"role": "standard", "ug_per_ml": 1000},
        "B1": {"role": "standard", "ug_per_ml": 500},
        "C1": {"role": "standard", "ug_per_ml": 250},
        "G1": {"role": "blank"},
        "H1": {"role": "blank"},
        "A3": {"role": "sample", "name": "EV 1"},
        "A4": {"role": "sample", "name": "EV 1"},
    }
