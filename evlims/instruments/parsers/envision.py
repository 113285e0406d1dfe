"""PerkinElmer (Revvity) EnVision CSV export (EnVision Manager / Workstation).

Layout: per measured or calculated plate a ``Plate information`` block (a header row ``Plate,Repeat,Barcode,
Measured height,Chamber temperature at start,…,Label|Formula,…,Measinfo,Kinetics,Measurement date`` and one value
row), optionally ``Background information`` (header and rows), then the values: a ``Results`` (or ``Calculated
results`` / ``Results for …``) title and either a grid (``,01,02,…`` then ``A,…``: 8x12, 16x24…) or a well list
(``Well,<value column>`` then ``A01,…``). Trailing sections (``Basic assay information``, ``Protocol
information``, ``Plate type``, ``Platemap``, ``Instrument``…) are descriptive. Comma-separated with decimal
points, or, from PCs set to a decimal-comma locale, semicolon-separated with decimal commas.

Which plate is absorbance: a measured plate whose label says absorbance (``Absorbance @ 562 (1.0s)``,
``Photometry 562``). A label of luminescence, fluorescence, AlphaScreen, TRF… holds counts, and a plate with a
``Formula`` (``Calc 1: General = …``) is calculated by the software.
"""

from __future__ import annotations

import re

from .errors import ParseError
from .plate_sets import ABSORBANCE, CALCULATED, COUNTS, DataSet, choose, to_grid
from .results import PlateParseResult
from .text import Row, normalise_label, parse_number, read_rows

FORMAT = "envision"
OPTIONS = frozenset({"plate_map", "fit", "read"})

_ROW_LETTER = re.compile(r"^[A-Z]{1,2}$")
_WELL = re.compile(r"^([A-Z]{1,2})0*(\d{1,2})$")
_ABSORBANCE = re.compile(r"absorbance|photometr|\babs\b|\bod\b", re.IGNORECASE)
_COUNTS = re.compile(r"lumin|fluor|alpha|lance|trf|delfia|\bfp\b|\bfi\b|rfu|rlu|counts", re.IGNORECASE)
_ENVISION_KEYS = {"measinfo", "formula", "measuredheight", "repeat"}


def sniff(text: str) -> bool:
    lines = text.lstrip("\ufeff")[:20000].replace("\r", "\n").split("\n")
    lines = [line for line in lines if line.strip(" ,;\t")]
    if len(lines) < 2 or normalise_label(lines[0]) != "plateinformation":
        return False
    header = {normalise_label(cell) for cell in re.split(r"[,;\t]", lines[1])}
    return len(header & _ENVISION_KEYS) >= 2 and "platerepeat" not in header


def _value_rows(rows: list[Row], start: int) -> tuple[list[Row], int]:
    found = []
    index = start
    while index < len(rows) and not rows[index].is_blank:
        found.append(rows[index])
        index += 1
    return found, index


def _skip_blank(rows: list[Row], index: int) -> int:
    while index < len(rows) and rows[index].is_blank:
        index += 1
    return index


def _classify(info: dict[str, str]) -> tuple[str, str, float | None, str]:
    formula = info.get("formula", "")
    if formula:
        name = re.split(r"[:=]", formula, maxsplit=1)[0].strip() or formula
        return CALCULATED, name, None, "calculated by EnVision"
    label = info.get("label") or info.get("meas") or ""
    if _ABSORBANCE.search(label) and not _COUNTS.search(label):
        wavelength = re.search(r"(?:@\s*|\b)(\d{3,4})(?:\s*nm)?\b", label)
        return ABSORBANCE, label, float(wavelength.group(1)) if wavelength else None, ""
    if _COUNTS.search(label):
        return COUNTS, label, None, "luminescence or fluorescence"
    return COUNTS, label or "unlabelled", None, "not labelled as absorbance"


def _grid(rows: list[Row], index: int, dataset: DataSet) -> int:
    header = rows[index]
    numbers = [parse_number(cell) for cell in header.trimmed()[1:]]
    if not numbers or numbers != list(range(1, len(numbers) + 1)):
        raise ParseError("unexpected column numbers in the results grid", header.line, "column header")
    dataset.columns = [int(number) for number in numbers]
    index += 1
    while index < len(rows) and _ROW_LETTER.match(rows[index].label):
        row = rows[index]
        dataset.rows.append(row.label)
        for column in dataset.columns:
            dataset.cells[f"{row.label}{column}"] = (row.cell(column), row.line)
        index += 1
    return index


def _well_list(rows: list[Row], index: int, dataset: DataSet) -> int:
    header = rows[index]
    names = [normalise_label(cell) for cell in header.cells]
    value_column = next((i for i, name in enumerate(names) if name in {"result", "signal", "value"}), 1)
    index += 1
    letters: list[str] = []
    columns: set[int] = set()
    while index < len(rows) and not rows[index].is_blank:
        row = rows[index]
        match = _WELL.match(row.label.upper())
        if not match:
            raise ParseError(f"expected a well such as A01, found '{row.label[:20]}'", row.line, "Well")
        letter, column = match.group(1), int(match.group(2))
        if letter not in letters:
            letters.append(letter)
        columns.add(column)
        dataset.cells[f"{letter}{column}"] = (row.cell(value_column), row.line)
        index += 1
    dataset.rows = sorted(letters, key=lambda letter: (len(letter), letter))
    dataset.columns = sorted(columns)
    return index


def _plate_block(rows: list[Row], index: int, plates: set[str]) -> tuple[DataSet, dict[str, str], int]:
    title = rows[index]
    if index + 2 >= len(rows) or rows[index + 2].is_blank:
        raise ParseError("the 'Plate information' block is incomplete; the file is truncated", title.line)
    header, values = rows[index + 1], rows[index + 2]
    info = {normalise_label(key): value for key, value in zip(header.cells, values.cells, strict=False) if key}
    kind, label, wavelength, detail = _classify(info)
    plate = info.get("plate", "1")
    repeat = info.get("repeat", "1")
    plates.add(f"{plate}/{repeat}")
    dataset = DataSet(label, kind, label, wavelength, detail, line=title.line)
    dataset.name = f"{plate}/{repeat}/{label}"
    index = _skip_blank(rows, index + 3)
    if index < len(rows) and normalise_label(rows[index].label) == "backgroundinformation":
        _, index = _value_rows(rows, index + 1)
        index = _skip_blank(rows, index)
    if index >= len(rows) or not normalise_label(rows[index].label).startswith(("results", "calculatedresults")):
        raise ParseError(f"plate {plate} ({label}) has no results; the file is truncated", title.line, "Results")
    index = _skip_blank(rows, index + 1)
    if index >= len(rows):
        raise ParseError(f"plate {plate} ({label}) has no results; the file is truncated", title.line, "Results")
    if normalise_label(rows[index].label) == "well":
        index = _well_list(rows, index, dataset)
    else:
        index = _grid(rows, index, dataset)
    return dataset, info, index


def parse(text: str, read: str | None = None) -> PlateParseResult:
    rows, delimiter = read_rows(text)
    if not rows or normalise_label(rows[0].label) != "plateinformation":
        raise ParseError("not an EnVision export (line 1 must be 'Plate information')", 1)
    datasets: list[DataSet] = []
    infos: dict[str, dict[str, str]] = {}
    plates: set[str] = set()
    index = 0
    while index < len(rows):
        if normalise_label(rows[index].label) == "plateinformation":
            dataset, info, index = _plate_block(rows, index, plates)
            datasets.append(dataset)
            infos[dataset.name] = info
        else:
            index += 1
    for dataset in datasets:  # names as the user reads them: the plate only when the file holds several
        plate, repeat, label = dataset.name.split("/", 2)
        dataset.name = label if len(plates) == 1 else f"Plate {plate} repeat {repeat} / {label}"
    chosen_index = datasets.index(choose(datasets, read, "EnVision"))
    chosen = datasets[chosen_index]
    info = list(infos.values())[chosen_index]
    warnings: list[str] = []
    grid = to_grid(chosen, warnings)
    if chosen.wavelength_nm is None:
        warnings.append("The export does not state the measurement wavelength.")
    temperature = info.get("chambertemperatureatstart", "")
    metadata = {
        "instrument": "EnVision",
        "read": chosen.name,
        "data_sets": [dataset.describe() for dataset in datasets],
        "plate": info.get("plate", ""),
        "repeat": info.get("repeat", ""),
        "barcode": info.get("barcode", "").removeprefix('="').removesuffix('"'),
        "measured_height_mm": parse_number(info.get("measuredheight", ""), "." if delimiter == "," else ","),
        "temperature_c": parse_number(temperature, "." if delimiter == "," else ","),
        "measinfo": info.get("measinfo", ""),
        "measurement_date": info.get("measurementdate", ""),
    }
    exported = next((row.label for row in rows if normalise_label(row.label).startswith("exportedwith")), "")
    software = re.search(r"version\s+([\w.]+)", exported, re.IGNORECASE)
    return PlateParseResult(FORMAT, software.group(1) if software else None, warnings, metadata, plate=grid)
