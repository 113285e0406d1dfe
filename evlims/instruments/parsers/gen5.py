"""Agilent BioTek Gen5 plate export as text ("Export to text": tab-separated, ANSI or UTF-8).

Layout: a header block of ``key<TAB>value`` rows (``Software Version``, ``Experiment File Path:``, ``Plate
Number``, ``Date``, ``Time``, ``Reader Type:``, ``Reading Type``), ``Procedure Details`` (``Plate Type``, one
``Read<TAB>Absorbance Endpoint`` row per read with ``Wavelengths:  562`` under it), then data blocks: a title
row, a column header (``<TAB>1<TAB>2…``) and one row per plate row (``A<TAB>0.123…``). A block holds one data set
(title ``Read 1:562``, ``562``, ``Blank 562``…) or, under ``Results``, several: each plate row then has one line
per data set, the later ones with an empty row cell, and the data set's name in the cell after the last column.
``Layout`` blocks hold well IDs, not readings. Results exported as a well table (``Well<TAB>Well ID<TAB>562…``
then ``A1<TAB>…``) hold a data set per column. A multi-plate export repeats the whole file per plate.

Which data set is absorbance: a name that is a wavelength (``562``, ``Read 1:562``) of a read the procedure
calls Absorbance. A read the procedure calls Fluorescence or Luminescence holds counts; every other name
(``Blank 562``, ``Concentration``, ``562[Corrected]``) is a plate Gen5 calculated.
"""

from __future__ import annotations

import re

from .errors import ParseError
from .plate_sets import ABSORBANCE, CALCULATED, COUNTS, DataSet, choose, to_grid
from .results import PlateParseResult
from .text import Row, normalise_label, parse_number, read_rows

FORMAT = "gen5"
OPTIONS = frozenset({"plate_map", "fit", "read"})

_ROW_LETTER = re.compile(r"^[A-Z]{1,2}$")
_READ_NAME = re.compile(r"^(?:Read\s+(\d+)\s*:)?\s*(.*)$", re.IGNORECASE)
_WAVELENGTH = re.compile(r"^\d{3,4}(\.\d+)?$")
_HEADER_KEYS = {
    "softwareversion": "software_version",
    "experimentfilepath": "experiment_file_path",
    "protocolfilepath": "protocol_file_path",
    "platenumber": "plate_number",
    "date": "date",
    "time": "time",
    "readertype": "reader_type",
    "readerserialnumber": "reader_serial_number",
    "readingtype": "reading_type",
    "platetype": "plate_type",
    "actualtemperature": "actual_temperature",
}
_NOT_DATA = {"layout", "procedure details"}
_WELL = re.compile(r"^([A-Z]{1,2})0*(\d{1,2})$")
# Columns of a well table that describe the well rather than hold a data set.
_WELL_COLUMNS = {"well", "wellid", "name", "concdil", "conc", "dil", "sample", "sampleid", "type", "group", "index"}


def sniff(text: str) -> bool:
    head = text.lstrip("\ufeff")[:4000]
    first = next((line for line in head.splitlines() if line.strip(" \t")), "")
    return normalise_label(first.split("\t", 1)[0]) == "softwareversion" and (
        "Plate Number" in head or "Experiment File Path" in head
    )


def _plates(rows: list[Row]) -> list[list[Row]]:
    starts = [index for index, row in enumerate(rows) if normalise_label(row.label) == "softwareversion"]
    if not starts:
        raise ParseError("not a Gen5 export (no 'Software Version' row)", 1, "Software Version")
    return [rows[start:end] for start, end in zip(starts, [*starts[1:], len(rows)], strict=True)]


def _reads(rows: list[Row]) -> list[tuple[str, list[float]]]:
    """(mode, wavelengths) of each ``Read`` step of the procedure, in order."""
    reads: list[tuple[str, list[float]]] = []
    for row in rows:
        if normalise_label(row.label) in {"startkinetic", "startspectrum"} or re.search(
            r"\b(kinetic|spectrum|area scan)\b", row.cell(1), re.IGNORECASE
        ):
            raise ParseError(
                "kinetic, spectrum and area-scan reads are not supported; export an endpoint read", row.line, "Read"
            )
        if normalise_label(row.label) == "read":
            reads.append((row.cell(1).split(" ")[0].lower(), []))
        elif reads and row.label == "" and normalise_label(row.cell(1)).startswith("wavelengths"):
            numbers = re.findall(r"\d{3,4}", row.cell(1).split(":", 1)[-1])
            reads[-1][1].extend(float(number) for number in numbers)
    return reads


def _classify(name: str, reads: list[tuple[str, list[float]]]) -> tuple[str, float | None, str]:
    match = _READ_NAME.match(name)
    number, rest = match.group(1), match.group(2).strip()
    mode = None
    if number and 0 < int(number) <= len(reads):
        mode = reads[int(number) - 1][0]
    elif len(reads) == 1:
        mode = reads[0][0]
    if _WAVELENGTH.match(rest):
        if mode in (None, "absorbance"):
            return ABSORBANCE, float(rest), ""
        return COUNTS, None, mode
    if number and mode and mode != "absorbance":
        return COUNTS, None, mode
    if normalise_label(rest) in {"lum", "luminescence"} or re.fullmatch(r"\d+(/\d+)?,\d+(/\d+)?", rest):
        return COUNTS, None, "luminescence" if "lum" in rest.lower() else "fluorescence"
    return CALCULATED, None, "calculated by Gen5"


def _title(rows: list[Row], header_index: int) -> str:
    for row in reversed(rows[:header_index]):
        if not row.is_blank:
            return next((cell for cell in row.cells if cell), "").rstrip(":")
    return ""


def _well_table(rows: list[Row], index: int, reads, prefix: str, found: dict[str, DataSet]) -> int:
    """A table with one row per well (``Well<TAB>Well ID<TAB>562<TAB>Blank 562`` then ``A1<TAB>…``): one data set
    per column that does not describe the well."""
    header = rows[index]
    columns = {
        position: name
        for position, name in enumerate(header.cells)
        if name and normalise_label(name) not in _WELL_COLUMNS
    }
    index += 1
    while index < len(rows) and not rows[index].is_blank:
        row = rows[index]
        match = _WELL.match(row.label.upper())
        if not match:
            raise ParseError(f"expected a well such as A1, found '{row.label[:20]}'", row.line, "Well")
        letter, column = match.group(1), int(match.group(2))
        for position, name in columns.items():
            dataset = found.get(name)
            if dataset is None:
                kind, wavelength, detail = _classify(name, reads)
                found[name] = dataset = DataSet(f"{prefix}{name}", kind, name, wavelength, detail, line=row.line)
            if letter not in dataset.rows:
                dataset.rows.append(letter)
            if column not in dataset.columns:
                dataset.columns.append(column)
            dataset.cells[f"{letter}{column}"] = (row.cell(position), row.line)
        index += 1
    for dataset in found.values():
        dataset.rows.sort(key=lambda letter: (len(letter), letter))
        dataset.columns.sort()
    return index


def _datasets(rows: list[Row], reads, prefix: str) -> list[DataSet]:
    found: dict[str, DataSet] = {}
    index = 0
    while index < len(rows):
        header = rows[index]
        index += 1
        if normalise_label(header.label) == "well" and _WELL.match(
            rows[index].label.upper() if index < len(rows) else ""
        ):
            index = _well_table(rows, index - 1, reads, prefix, found)
            continue
        if header.label != "" or parse_number(header.cell(1)) != 1:
            continue
        title = _title(rows, index - 1)
        cells = header.trimmed()[1:]
        if not all(parse_number(cell) == position for position, cell in enumerate(cells, start=1)):
            raise ParseError("unexpected column numbers in a plate header", header.line, "column header")
        columns = list(range(1, len(cells) + 1))
        letter = ""
        while index < len(rows) and not rows[index].is_blank:
            row = rows[index]
            index += 1
            if row.label:
                if not _ROW_LETTER.match(row.label):
                    raise ParseError(f"expected a plate row letter, found '{row.label[:20]}'", row.line, "row")
                letter = row.label
            elif not letter:
                raise ParseError("a plate row without its letter", row.line, "row")
            if title.lower() in _NOT_DATA:
                continue
            name = row.cell(len(columns) + 1) or title
            dataset = found.get(name)
            if dataset is None:
                kind, wavelength, detail = _classify(name, reads)
                dataset = DataSet(
                    f"{prefix}{name}", kind, name, wavelength, detail, columns=list(columns), line=row.line
                )
                found[name] = dataset
            if letter not in dataset.rows:
                dataset.rows.append(letter)
            for column in columns:
                dataset.cells[f"{letter}{column}"] = (row.cell(column), row.line)
    return list(found.values())


def _header(rows: list[Row]) -> dict[str, str]:
    values = {}
    for row in rows:
        key = _HEADER_KEYS.get(normalise_label(row.label))
        if key and key not in values:
            values[key] = next((cell for cell in row.cells[1:] if cell), "")
    return values


def parse(text: str, read: str | None = None) -> PlateParseResult:
    rows, _ = read_rows(text, "\t")
    plates = _plates(rows)
    datasets: list[DataSet] = []
    headers = []
    for number, plate_rows in enumerate(plates, start=1):
        header = _header(plate_rows)
        headers.append(header)
        prefix = f"{header.get('plate_number') or f'Plate {number}'} / " if len(plates) > 1 else ""
        datasets.extend(_datasets(plate_rows, _reads(plate_rows), prefix))
    chosen = choose(datasets, read, "Gen5")
    warnings: list[str] = []
    grid = to_grid(chosen, warnings)
    header = next(
        (h for h in headers if len(plates) == 1 or chosen.name.startswith(f"{h.get('plate_number')} /")), headers[0]
    )
    temperature = parse_number(header.get("actual_temperature", "").split(" ")[0].replace(",", "."))
    metadata = {
        "instrument": "Gen5",
        "read": chosen.name,
        "data_sets": [dataset.describe() for dataset in datasets],
        "temperature_c": temperature,
        **{key: value for key, value in header.items() if key not in {"software_version", "actual_temperature"}},
    }
    return PlateParseResult(FORMAT, header.get("software_version") or None, warnings, metadata, plate=grid)
