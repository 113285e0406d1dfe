"""PerkinElmer EnSight (Kaleido software) CSV export of an absorbance plate read.

UTF-8 with BOM, CRLF, non-breaking spaces in section titles, a ``Results for <technique>`` grid
with row letters and column numbers (empty cells are wells that were not read), then key/value
sections where the value sits in a later column (``Software version:,,1.0``).
"""

from __future__ import annotations

import re

from .errors import ParseError
from .plate_sets import PLATE_GEOMETRIES as _PLATE_GEOMETRIES
from .results import PlateGrid, PlateParseResult
from .text import Row, normalise_label, parse_number, read_rows

FORMAT = "ensight"
OPTIONS = frozenset({"plate_map", "fit"})

_ROW_LETTER = re.compile(r"^[A-Z]{1,2}$")


def sniff(text: str) -> bool:
    head = text.lstrip("\ufeff")[:20000]
    first = head.split("\n", 1)[0].split("\r", 1)[0]
    return normalise_label(first) == "plateinformation" and "results" in head.lower()


def _value_after_label(rows: list[Row], label: str) -> tuple[str, Row | None]:
    wanted = normalise_label(label)
    for row in rows:
        if normalise_label(row.label) == wanted:
            cells = [cell for cell in row.cells[1:] if cell]
            return (cells[0] if cells else ""), row
    return "", None


def parse(text: str) -> PlateParseResult:
    rows, delimiter = read_rows(text)
    if not rows or normalise_label(rows[0].label) != "plateinformation":
        raise ParseError("not an EnSight export (line 1 must be 'Plate information')", 1)
    decimal = "." if delimiter == "," else ","
    result_rows = [index for index, row in enumerate(rows) if normalise_label(row.label).startswith("resultsfor")]
    if not result_rows:
        raise ParseError("no 'Results for ...' section; the file is truncated", field="Results for")
    if len(result_rows) > 1:
        raise ParseError(
            f"the file holds {len(result_rows)} result grids; export one measurement per file",
            rows[result_rows[1]].line,
            "Results for",
        )
    start = result_rows[0]
    technique = rows[start].label.split(" ", 2)[-1].strip() if " " in rows[start].label else ""
    header_index = next(
        (
            index
            for index in range(start + 1, min(start + 6, len(rows)))
            if rows[index].label == "" and parse_number(rows[index].cell(1)) == 1
        ),
        None,
    )
    if header_index is None:
        raise ParseError("the column header of the results grid is missing", rows[start].line, "Results for")
    header = rows[header_index]
    columns = {}
    for index, cell in enumerate(header.trimmed()[1:], start=1):
        number = parse_number(cell)
        if number is None or not number.is_integer():
            raise ParseError(f"unexpected column number '{cell}'", header.line, "column header")
        columns[index] = int(number)

    values: dict[str, float | None] = {}
    plate_rows: list[str] = []
    for row in rows[header_index + 1 :]:
        if not _ROW_LETTER.match(row.label):
            break
        plate_rows.append(row.label)
        for index, column in columns.items():
            well = f"{row.label}{column}"
            cell = row.cell(index)
            value = parse_number(cell, decimal)
            if cell and value is None:
                raise ParseError(f"expected an absorbance for well {well}, found '{cell}'", row.line, well)
            values[well] = value
    expected_rows = parse_number(_value_after_label(rows, "Number of rows:")[0])
    expected_columns = parse_number(_value_after_label(rows, "Number of columns:")[0])
    geometry_known = expected_rows is not None and expected_columns is not None
    if geometry_known and (len(plate_rows), len(columns)) != (expected_rows, expected_columns):
        raise ParseError(
            f"the grid has {len(plate_rows)}x{len(columns)} wells but the plate type says "
            f"{expected_rows:g}x{expected_columns:g}; the file is truncated or edited",
            header.line,
        )
    if not geometry_known and (len(plate_rows), len(columns)) not in _PLATE_GEOMETRIES:
        raise ParseError(
            f"the grid has {len(plate_rows)}x{len(columns)} wells, not a plate geometry; the file is truncated",
            header.line,
        )
    warnings = []
    if not any(value is not None for value in values.values()):
        raise ParseError("the results grid holds no readings", header.line, "Results for")
    wavelength = parse_number(_value_after_label(rows, "Excitation wavelength [nm]")[0])
    if wavelength is None:
        warnings.append("The export does not state the measurement wavelength.")
    software = _value_after_label(rows, "Software version:")[0] or None
    grid = PlateGrid(plate_rows, sorted(columns.values()), values, wavelength, "Endpoint")
    metadata = {
        "instrument": "EnSight",
        "technique": technique or _value_after_label(rows, "Tech")[0],
        "barcode": rows[2].cell(2) if len(rows) > 2 else "",
        "screen_started": _value_after_label(rows, "Screen Started:")[0] or None,
        "instrument_serial_number": _value_after_label(rows, "instrument Serial Number:")[0],
        "protocol_name": _value_after_label(rows, "Protocol Name:")[0],
        "plate_type": _value_after_label(rows, "Plate Type Name:")[0],
    }
    return PlateParseResult(FORMAT, software, warnings, metadata, plate=grid)
