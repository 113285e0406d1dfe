"""Molecular Devices SoftMax Pro plate-format text export (endpoint absorbance, e.g. BCA at 562 nm).

Layout: ``##BLOCKS= n``, a ``Plate:`` descriptor row, a header row (``Temperature(°C)`` then
column numbers), one row per plate row with the letter omitted (A..H implied by order), ``~End``.
The degree sign is a legacy byte (0xC1 in SoftMax output), so the header is matched by prefix.
"""

from __future__ import annotations

import re
import string

from .errors import ParseError
from .results import PlateGrid, PlateParseResult
from .text import Row, normalise_label, parse_number, read_rows

FORMAT = "softmax"
OPTIONS = frozenset({"plate_map", "fit"})

_BLOCKS = re.compile(r"^\W*##\s*BLOCKS\s*=\s*(\d+)", re.IGNORECASE)
# Text SoftMax writes in place of a reading: over range / saturated / not read.
_NON_READING_MARKERS = {"range?", "#sat", "sat", "ovrflw", "overflow", "masked"}
# Positions in the Plate: row of the plate-format export (SoftMax Pro 5-7, format version 1.x).
_PLATE_FIELD = {"read_type": 4, "read_mode": 5, "data_type": 6, "wavelength_count": 14, "wavelengths": 15, "rows": 20}


def sniff(text: str) -> bool:
    for line in text.lstrip("\ufeff").splitlines()[:3]:
        if line.strip(' ,;\t"'):
            return bool(_BLOCKS.match(line))
    return False


def _field(row: Row, name: str) -> str:
    return row.cell(_PLATE_FIELD[name])


def _decimal(rows: list[Row], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    return "," if any(re.fullmatch(r"-?\d+,\d+", cell) for row in rows for cell in row.cells) else "."


def parse(text: str) -> PlateParseResult:
    rows, delimiter = read_rows(text)
    if not rows or not _BLOCKS.match(rows[0].label):
        raise ParseError("not a SoftMax Pro export (line 1 must be '##BLOCKS= n')", 1)
    blocks = int(_BLOCKS.match(rows[0].label).group(1))
    if blocks != 1:
        raise ParseError(f"the file holds {blocks} blocks; export one plate per file", rows[0].line, "##BLOCKS")
    decimal = _decimal(rows, delimiter)
    plate_index = next((i for i, row in enumerate(rows) if normalise_label(row.label) == "plate"), None)
    if plate_index is None:
        raise ParseError("the 'Plate:' row is missing; the file is truncated", field="Plate:")
    plate_row = rows[plate_index]
    if normalise_label(plate_row.cell(3)) != "plateformat":
        raise ParseError(
            f"only plate-format exports are supported, found '{plate_row.cell(3)}'", plate_row.line, "Plate:"
        )
    read_type = _field(plate_row, "read_type")
    if normalise_label(read_type) != "endpoint":
        raise ParseError(f"only endpoint reads are supported, found '{read_type}'", plate_row.line, "Plate:")
    wavelength_count = parse_number(_field(plate_row, "wavelength_count"))
    if wavelength_count is not None and wavelength_count != 1:
        raise ParseError(
            f"the plate was read at {wavelength_count:g} wavelengths; export one wavelength per file",
            plate_row.line,
            "Plate:",
        )
    wavelength = parse_number(_field(plate_row, "wavelengths"))
    expected_rows = parse_number(_field(plate_row, "rows"))

    if plate_index + 1 >= len(rows):
        raise ParseError("the column header row is missing; the file is truncated", plate_row.line + 1)
    header = rows[plate_index + 1]
    if not header.cell(1).lower().startswith("temperature"):
        raise ParseError("expected the 'Temperature' column header", header.line, "Temperature")
    columns = {}
    for index, cell in enumerate(header.cells[2:], start=2):
        number = parse_number(cell)
        if number is None:
            continue
        if not number.is_integer() or number < 1 or int(number) in columns.values():
            raise ParseError(
                f"unexpected column number '{cell}' (several wavelengths side by side are not supported)",
                header.line,
                "column header",
            )
        columns[index] = int(number)
    if not columns:
        raise ParseError("no column numbers in the header row", header.line, "column header")

    values: dict[str, float | None] = {}
    warnings: list[str] = []
    plate_rows: list[str] = []
    temperature = None
    ended = False
    for row in rows[plate_index + 2 :]:
        if row.label.startswith("~End"):
            ended = True
            break
        if row.is_blank:
            continue
        if len(plate_rows) >= 26:
            raise ParseError("more than 26 plate rows", row.line)
        letter = string.ascii_uppercase[len(plate_rows)]
        plate_rows.append(letter)
        if temperature is None and row.cell(1):
            temperature = parse_number(row.cell(1), decimal)
        for index, column in columns.items():
            values[f"{letter}{column}"] = _reading(row, index, f"{letter}{column}", decimal, warnings)
    if not ended:
        raise ParseError("the '~End' marker is missing; the file is truncated", field="~End")
    if not plate_rows or (expected_rows is not None and len(plate_rows) != expected_rows):
        announced = f"{expected_rows:g}" if expected_rows is not None else "at least one"
        raise ParseError(f"found {len(plate_rows)} plate rows but the Plate: row announces {announced}", field="Plate:")
    trailer = " ".join(rows[-1].trimmed()) if rows[-1].label.lower().startswith("original filename") else ""
    grid = PlateGrid(plate_rows, sorted(columns.values()), values, wavelength, read_type)
    metadata = {
        "instrument": "SoftMax Pro",
        "plate_name": plate_row.cell(1),
        "export_format_version": plate_row.cell(2),
        "read_mode": _field(plate_row, "read_mode"),
        "data_type": _field(plate_row, "data_type"),
        "temperature_c": temperature,
        "file_note": trailer,
    }
    return PlateParseResult(FORMAT, None, warnings, metadata, plate=grid)


def _reading(row: Row, index: int, well: str, decimal: str, warnings: list[str]) -> float | None:
    cell = row.cell(index)
    if not cell:
        return None
    value = parse_number(cell, decimal)
    if value is not None:
        return value
    if cell.lower() in _NON_READING_MARKERS:
        warnings.append(f"Well {well}: the reader reported '{cell}' instead of a reading.")
        return None
    raise ParseError(f"expected an absorbance for well {well}, found '{cell}'", row.line, well)
