"""What a NanoSight export says of its captures besides the numbers: when they were acquired (``Time Captured``,
or the timestamp NTA writes into experiment and capture names) and the instrument's own verdicts in
``[Concentration Warnings]`` (which captures it rates invalid, and every other warning it gives)."""

from __future__ import annotations

import re
from datetime import datetime

from .nanosight_layout import Layout, keyed_row
from .text import normalise_label

# Instrument verdicts that mean "nothing to report" in [Concentration Warnings].
_BENIGN_VERDICTS = {"ok", "no", ""}
# The row of [Concentration Warnings] that is the instrument's verdict on a capture, and its verdicts that mark
# the capture invalid (a caution such as "Be cautious of data due to noise" stays a warning).
_VALIDITY_ROW = "Validity of concentration measurement"
_INVALID_VERDICTS = {"unreliable", "invalid"}
# NTA's timestamp in experiment and capture names: "EMT1 d200 2021-04-01 15-42-48".
_NAME_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2})-(\d{2})-(\d{2})")


def read_time_captured(text: str) -> str | None:
    try:
        return datetime.strptime(" ".join(text.split()), "%H:%M:%S %d/%m/%Y").isoformat()
    except ValueError:
        return None


def name_timestamp(*names: str) -> str | None:
    """The earliest NTA timestamp in the experiment or capture names, when Time Captured is missing."""
    found = []
    for name in names:
        match = _NAME_TIMESTAMP.search(name or "")
        if match:
            try:
                found.append(datetime.fromisoformat(f"{match[1]}T{match[2]}:{match[3]}:{match[4]}"))
            except ValueError:
                continue
    return min(found).isoformat() if found else None


def validity_verdicts(layout: Layout, names: list[str]) -> dict[str, str]:
    """{capture name: the instrument's verdict} for the captures whose concentration it rates invalid."""
    row = keyed_row(layout, "concentrationwarnings", _VALIDITY_ROW, required=False)
    if row is None:
        return {}
    verdicts = {}
    for index, name in enumerate(names):
        verdict = row.cell(index + 1).strip()
        if normalise_label(verdict) in _INVALID_VERDICTS:
            verdicts[name] = verdict
    return verdicts


def instrument_verdicts(layout: Layout, names: list[str]) -> list[str]:
    verdicts: dict[str, list[str]] = {name: [] for name in names}
    for (section, _key), row in layout.keyed.items():
        if section != "concentrationwarnings":
            continue
        for index, name in enumerate(names):
            verdict = row.cell(index + 1)
            if normalise_label(verdict) not in _BENIGN_VERDICTS:
                verdicts[name].append(f"{row.label}: {verdict}")
    return [f"Capture '{name}': the instrument warns {'; '.join(items)}." for name, items in verdicts.items() if items]
