"""Manifest files as bytes: reading CSV/Excel into rows, writing the templates and the problem report.

Files come from spreadsheets on lab PCs, so the encoding (UTF-8 with or without BOM, UTF-16 with BOM,
Windows-1252 when it reads as Western text) and the delimiter (comma, semicolon, tab) are decided per file.
Row numbers are the rows the user sees in their spreadsheet: the first record of the file is row 1, blank
rows still count.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError as XMLParseError

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from ..core.encodings import TextEncodingError, decode_legacy, looks_like_utf16, utf16_refusal
from ..core.spreadsheets import UnsafeWorkbook, check_xlsx, external_links, neutralise
from .import_columns import COLUMNS, is_blank

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MANIFEST_SHEET = "Manifest"
GUIDE_SHEET = "Columns"
COMMENT_PREFIX = "#"
# Spreadsheet programs run a cell starting with one of these as a formula.
_DELIMITERS = (",", ";", "\t")


class ManifestFileError(Exception):
    """The file as a whole cannot be read (wrong format, too many rows, no header)."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass
class ManifestTable:
    file_format: str
    header_row: int
    header: list = field(default_factory=list)
    # (row number in the file, cells) for every non-blank record after the header.
    rows: list[tuple[int, list]] = field(default_factory=list)
    # A semicolon-separated CSV comes from a locale that writes 4,5 for 4.5.
    decimal_comma: bool = False
    # (row number, column index) of the .xlsx cells stored as formulas; their value is the formula's text.
    formula_cells: set[tuple[int, int]] = field(default_factory=set)
    # The other workbooks an .xlsx links to (its externalLink parts).
    external_links: list[str] = field(default_factory=list)


def read_manifest(data: bytes, *, max_rows: int) -> ManifestTable:
    if not data:
        raise ManifestFileError("The file is empty.")
    if data.startswith(ZIP_MAGIC):
        return _read_xlsx(data, max_rows)
    if data.startswith(OLE2_MAGIC):
        raise ManifestFileError("This is an Excel 97-2003 (.xls) file; save it as .xlsx or CSV and upload again.")
    return _read_csv(decode_text(data), max_rows)


def decode_text(data: bytes) -> str:
    """A BOM is authoritative; otherwise strict UTF-8, then Windows-1252 (what Excel on Windows writes) when
    the file decodes cleanly and reads as Western text (``core.encodings``); anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        if b"\x00" in data:
            if looks_like_utf16(data):
                raise ManifestFileError(utf16_refusal())
            raise ManifestFileError("This is not a CSV or .xlsx file (it contains binary data).")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return decode_legacy(data)
            except TextEncodingError as error:
                raise ManifestFileError(error.message)
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        raise ManifestFileError(f"The file declares {encoding.upper()} but byte {error.start} is not valid.")


def _sniff_delimiter(line: str) -> str:
    counts = {delimiter: line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _first_header_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith(COMMENT_PREFIX):
            return line
    raise ManifestFileError("The file has no header row.")


def _read_csv(text: str, max_rows: int) -> ManifestTable:
    delimiter = _sniff_delimiter(_first_header_line(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = _numbered(reader)
    table = _table("csv", records, max_rows)
    table.decimal_comma = delimiter == ";"
    return table


def _numbered(reader):
    """Records with their row number; a malformed record is reported at the row it starts on."""
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ManifestFileError(f"Row {number} cannot be read as CSV: {error}.", row=number)
        yield number, record


# The columns of the template plus room for a lab's own notes; anything wider is not a manifest.
MAX_MANIFEST_COLUMNS = len(COLUMNS) + 40


def _read_xlsx(data: bytes, max_rows: int) -> ManifestTable:
    try:
        check_xlsx(data)
    except UnsafeWorkbook as error:
        raise ManifestFileError(str(error))
    try:
        # data_only=False: a formula is read as its text and never as a computed value.
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, XMLParseError):
        raise ManifestFileError("This is not a readable .xlsx workbook.")
    try:
        names = workbook.sheetnames
        sheet = workbook[MANIFEST_SHEET] if MANIFEST_SHEET in names else workbook.worksheets[0]
        # A workbook's declared dimension is not trusted (a tiny file can claim A1:XFD1048576): read the
        # rows that are really there, no wider than a manifest can be, and no more of them than the limit.
        sheet.reset_dimensions()
        # Cells, not values: a formula cell (data type 'f') is told apart from text that merely starts with '='.
        rows = (_trimmed(row) for row in sheet.iter_rows(min_row=1))
        formulas: set[tuple[int, int]] = set()

        def records():
            for number, cells in enumerate(_bounded(rows, max_rows), start=1):
                formulas.update((number, index) for index, cell in enumerate(cells) if cell.data_type == "f")
                yield number, [_xlsx_value(cell.value) for cell in cells]

        table = _table("xlsx", records(), max_rows)
        table.formula_cells = formulas
        table.external_links = external_links(data)
        return table
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, XMLParseError) as error:
        raise ManifestFileError(f"The .xlsx workbook is damaged ({type(error).__name__}).")
    finally:
        workbook.close()


BLANK_RUN_END = 1000


def _trimmed(row: tuple) -> tuple:
    """A row of cells no wider than a manifest can be, without the empty cells that trail it."""
    row = row[:MAX_MANIFEST_COLUMNS]
    end = len(row)
    while end and row[end - 1].value is None:
        end -= 1
    return row[:end]


def _bounded(rows, max_rows: int):
    """Rows, refusing a sheet with far more rows than a manifest may have. A run of BLANK_RUN_END empty
    rows ends the sheet: spreadsheets keep thousands of formatted but empty rows below the data."""
    limit = 2 * max_rows + 1000
    blank_run = 0
    for number, row in enumerate(rows, start=1):
        if number > limit:
            raise ManifestFileError(
                f"The sheet has more than {limit:,} rows; a manifest holds at most {max_rows:,} data rows."
            )
        blank_run = blank_run + 1 if all(cell.value is None for cell in row) else 0
        if blank_run > BLANK_RUN_END:
            return
        yield row


def _xlsx_value(value):
    # Array formulas and rich text arrive as objects; their text is what the user typed.
    if value is None or isinstance(value, str | int | float | bool) or hasattr(value, "isoformat"):
        return value
    return str(getattr(value, "text", value))


def _table(file_format: str, records, max_rows: int) -> ManifestTable:
    table = None
    for number, cells in records:
        if all(is_blank(cell) for cell in cells):
            continue
        if table is None:
            first = str(cells[0]).lstrip() if cells and cells[0] is not None else ""
            if first.startswith(COMMENT_PREFIX):
                continue
            table = ManifestTable(file_format=file_format, header_row=number, header=list(cells))
            continue
        if len(table.rows) >= max_rows:
            raise ManifestFileError(
                f"The file has more than {max_rows:,} data rows, the most one import accepts. "
                "Split it into smaller files."
            )
        table.rows.append((number, list(cells)))
    if table is None:
        raise ManifestFileError("The file has no header row.")
    return table


def problems_csv(problems: list[dict]) -> bytes:
    """The problem report; UTF-8 with BOM so Excel shows µ and ° correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["row", "column", "severity", "message"])
    for problem in problems:
        writer.writerow(
            [
                neutralise(problem["row"] if problem["row"] is not None else ""),
                neutralise(problem["column"]),
                neutralise(problem.get("severity", "error")),
                neutralise(problem["message"]),
            ]
        )
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _guide_rows() -> list[list[str]]:
    return [
        [column.name, "yes" if column.required else "no", column.unit, column.allowed, column.description]
        for column in COLUMNS
    ]


GUIDE_HEADER = ["column", "required", "unit", "allowed values", "description"]


def template_csv() -> bytes:
    """Header row preceded by '#' lines describing each column (the reader skips them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{COMMENT_PREFIX} evlims sample manifest. Lines starting with # are ignored."])
    for name, required, unit, allowed, description in _guide_rows():
        detail = "; ".join(part for part in (f"unit {unit}" if unit else "", allowed, description) if part)
        writer.writerow([f"{COMMENT_PREFIX} {name}{' (required)' if required == 'yes' else ''}: {detail}"])
    writer.writerow([column.name for column in COLUMNS])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """A 'Manifest' sheet (header row with a comment per column) and a 'Columns' guide sheet."""
    workbook = openpyxl.Workbook()
    manifest = workbook.active
    manifest.title = MANIFEST_SHEET
    manifest.append([column.name for column in COLUMNS])
    for cell, (_name, required, unit, allowed, description) in zip(manifest[1], _guide_rows(), strict=True):
        cell.font = Font(bold=True)
        unit_text = f"Unit: {unit}\n" if unit else ""
        cell.comment = Comment(
            f"{description}\n{unit_text}Allowed: {allowed}\nRequired: {required}", "evlims", width=320, height=140
        )
    manifest.freeze_panes = "A2"
    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append(GUIDE_HEADER)
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for row in _guide_rows():
        guide.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
