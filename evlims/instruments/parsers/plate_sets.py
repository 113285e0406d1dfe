"""Plate readers whose export holds several data sets (plates, reads, calculated plates): which one is the
absorbance plate to quantify, and its cells read into a :class:`PlateGrid`.

A data set is an absorbance reading, a counts reading (luminescence or fluorescence: photons, not optical
density) or a plate the reader software calculated (blank-corrected values, concentrations, ratios). Only an
absorbance reading is ever taken as absorbance: the user names it with the ``read`` option (its name as the file
prints it, its label, or its wavelength), or the file holds exactly one. Anything else is refused with a
message listing what the file holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ParseError
from .results import PlateGrid
from .text import normalise_label, parse_number

ABSORBANCE, COUNTS, CALCULATED = "absorbance", "counts", "calculated"
# Standard microplate geometries (rows, columns): 6 to 1536 wells.
PLATE_GEOMETRIES = {(2, 3), (3, 4), (4, 6), (6, 8), (8, 12), (16, 24), (32, 48)}
# Text readers print in place of a reading: overflow, out of range, saturated, masked.
NON_READING_MARKERS = {"ovrflw", "overflow", "?????", "range?", "#sat", "sat", "masked", "n/a", "na", "-", "*"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


@dataclass
class DataSet:
    """One plate of values in a file: ``cells`` maps a well to (its text, the line it is on)."""

    name: str
    kind: str
    label: str = ""
    wavelength_nm: float | None = None
    detail: str = ""
    rows: list[str] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)
    cells: dict[str, tuple[str, int]] = field(default_factory=dict)
    line: int | None = None

    def describe(self) -> str:
        if self.kind == ABSORBANCE:
            at = f" at {self.wavelength_nm:g} nm" if self.wavelength_nm is not None else ""
            return f"'{self.name}' (absorbance{at})"
        if self.kind == COUNTS:
            return f"'{self.name}' ({self.detail or 'luminescence or fluorescence'}, counts)"
        return f"'{self.name}' ({self.detail or 'calculated by the reader software'}, not a reading)"


def inventory(datasets: list[DataSet]) -> str:
    return "; ".join(dataset.describe() for dataset in datasets)


def _matches(dataset: DataSet, wanted: str) -> bool:
    key = normalise_label(wanted)
    if key and key in {normalise_label(dataset.name), normalise_label(dataset.label)}:
        return True
    number = parse_number(wanted)
    return number is not None and dataset.wavelength_nm == number


def choose(datasets: list[DataSet], read: str | None, vendor: str) -> DataSet:
    """The absorbance data set named by ``read`` (or the only one); a ParseError listing the file otherwise."""
    if not datasets:
        raise ParseError(f"the {vendor} export holds no plate of readings", field="read")
    if read is not None and not isinstance(read, str):
        raise ParseError("the read must be given as text, e.g. 'Read 1:562' or '562'", field="read")
    listing = f"the file holds {inventory(datasets)}"
    if read:
        found = [dataset for dataset in datasets if _matches(dataset, read)]
        absorbance = [dataset for dataset in found if dataset.kind == ABSORBANCE]
        if not found:
            raise ParseError(f"no read '{read}' in the file; {listing}", field="read")
        if not absorbance:
            raise ParseError(f"{found[0].describe()} is not an absorbance reading; {listing}", field="read")
        if len(absorbance) > 1:
            raise ParseError(f"'{read}' names {len(absorbance)} absorbance plates; {listing}", field="read")
        return absorbance[0]
    absorbance = [dataset for dataset in datasets if dataset.kind == ABSORBANCE]
    if len(absorbance) == 1:
        return absorbance[0]
    if not absorbance:
        raise ParseError(f"no absorbance reading to quantify: {listing}", field="read")
    raise ParseError(
        f"{len(absorbance)} absorbance plates in the file; name the one to use with the option 'read' "
        f"(its name or wavelength): {listing}",
        field="read",
    )


def reading(text: str) -> float | None:
    """A cell as a number (decimal point or comma), or None when it is not one."""
    if _DECIMAL_COMMA.match(text.strip()):
        return parse_number(text, ",")
    return parse_number(text)


def to_grid(dataset: DataSet, warnings: list[str], read_type: str = "Endpoint") -> PlateGrid:
    """The chosen data set's cells as absorbances: empty = not read, an overflow marker = no reading (warned),
    anything else that is not a number = a ParseError naming the well and line."""
    geometry = (len(dataset.rows), len(dataset.columns))
    if geometry not in PLATE_GEOMETRIES:
        raise ParseError(
            f"'{dataset.name}' has {geometry[0]}x{geometry[1]} wells, not a plate geometry; the file is truncated",
            dataset.line,
            "read",
        )
    values: dict[str, float | None] = {}
    for row in dataset.rows:
        for column in dataset.columns:
            well = f"{row}{column}"
            text, line = dataset.cells.get(well, ("", dataset.line))
            value = reading(text) if text else None
            if text and value is None:
                if text.lower() not in NON_READING_MARKERS:
                    raise ParseError(f"expected an absorbance for well {well}, found '{text[:40]}'", line, well)
                warnings.append(f"Well {well}: the reader reported '{text}' instead of a reading.")
            values[well] = value
    if not any(value is not None for value in values.values()):
        raise ParseError(f"'{dataset.name}' holds no readings", dataset.line, "read")
    return PlateGrid(list(dataset.rows), list(dataset.columns), values, dataset.wavelength_nm, read_type)
