"""Byte-level hygiene shared by all parsers: size limit, binary detection, decoding, rows, numbers.

Instrument PCs write cp1252 (Latin-1) or UTF-8 (with or without BOM), and files pass through spreadsheets
and e-mail on their way to the LIMS, so line endings (CRLF, LF, CR-only), delimiters (comma, tab,
semicolon) and the decimal separator are all decided per file, never assumed.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from dataclasses import dataclass

from ...core.encodings import TextEncodingError, decode_legacy, looks_like_utf16, utf16_refusal
from .errors import ParseError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"

# Share of control characters above which decoded "text" is really a binary file.
_MAX_CONTROL_FRACTION = 0.01
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# _NUMBER's language written so that a cell matches in one way only: with a repetition over a column, a number
# that could be split in several ways (\d+\.?\d* over "12") makes a failing match backtrack exponentially.
_ONE_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_COLUMN = re.compile(rf"(?:{_ONE_NUMBER}\n)*{_ONE_NUMBER}")
_MISSING_TOKENS = {"", "nan", "n/a", "na", "-", "--"}


def check_size(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"expected bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ParseError("the file is empty")
    if len(data) > max_bytes:
        raise ParseError(f"the file is {len(data)} bytes, larger than the limit of {max_bytes} bytes")


def decode_text(data: bytes) -> str:
    """Decode instrument bytes to text, rejecting binary content.

    A BOM is authoritative. Without one, strict UTF-8 is tried first because a cp1252 file with
    non-ASCII bytes (e.g. 0xB2 for the superscript two in NanoSight unit labels) practically never
    forms valid UTF-8, whereas reading UTF-8 as cp1252 silently yields mojibake. Windows-1252 is
    then accepted only when every byte is defined in it and the text looks Western
    (``core.encodings.decode_legacy``); a Shift-JIS or GB2312 export, or UTF-16 without a BOM, is refused.
    """
    data = bytes(data)
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError(
                f"the file starts with a UTF-8 byte-order mark but byte {error.start + 3} is not valid UTF-8"
            )
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ParseError(f"the file declares UTF-16 but byte {error.start} is not valid UTF-16")
    else:
        if b"\x00" in data[:65536]:
            if looks_like_utf16(data):
                raise ParseError(utf16_refusal())
            raise ParseError("the file is binary (it contains NUL bytes), not a text export")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                # The formats' documented legacy encoding, only where the text reads as Western text.
                text = decode_legacy(data)
            except TextEncodingError as error:
                raise ParseError(error.message)
    sample = text[:65536]
    controls = len(_CONTROL_CHARS.findall(sample))
    if "\x00" in sample or (sample and controls / len(sample) > _MAX_CONTROL_FRACTION):
        raise ParseError("the file is binary (control characters in the text), not a text export")
    return text


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_cell(cell: str) -> str:
    """Strip spaces (including the non-breaking ones EnSight writes) and stray quotes."""
    cell = cell.replace("\u00a0", " ").strip()
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        cell = cell[1:-1].strip()
    return cell


@dataclass(frozen=True)
class Row:
    """One CSV record with the physical line it started on (for error messages)."""

    line: int
    cells: list[str]

    def cell(self, index: int) -> str:
        return self.cells[index] if index < len(self.cells) else ""

    @property
    def label(self) -> str:
        return self.cell(0)

    @property
    def is_blank(self) -> bool:
        return not any(self.cells)

    def trimmed(self) -> list[str]:
        """Cells without the trailing empty ones that trailing commas and padding produce."""
        cells = list(self.cells)
        while cells and cells[-1] == "":
            cells.pop()
        return cells


def sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that appears most across the first meaningful lines."""
    counts = {"\t": 0, ";": 0, ",": 0}
    for line in lines[:40]:
        for delimiter in counts:
            counts[delimiter] += line.count(delimiter)
    best = max(counts, key=lambda key: (counts[key], key == ","))
    return best if counts[best] else ","


def read_rows(text: str, delimiter: str | None = None) -> tuple[list[Row], str]:
    """Split text into cleaned rows; returns the rows and the delimiter used."""
    text = normalise_newlines(text)
    if delimiter is None:
        delimiter = sniff_delimiter(text.split("\n", 40))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for record in reader:
            rows.append(Row(start, [clean_cell(cell) for cell in record]))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ParseError(f"unreadable CSV: {error}", line=reader.line_num)
    return rows, delimiter


def parse_number(text: str, decimal: str = ".") -> float | None:
    """Parse one numeric cell; None for an empty or 'not a number' cell, ParseError-free.

    Returns None for text that is not a number at all, so callers decide whether that is an
    error (a required value) or a category (e.g. 'Not recorded').
    """
    token = clean_cell(text).replace(" ", "")
    if token.lower() in _MISSING_TOKENS:
        return None
    if decimal == ",":
        if "." in token and "," in token:
            return None
        token = token.replace(",", ".")
    if not _NUMBER.match(token):
        return None
    value = float(token)
    return value if math.isfinite(value) else None


def is_number(text: str, decimal: str = ".") -> bool:
    """``parse_number(text, decimal) is not None``, with a fast answer for a plain, already cleaned number."""
    if decimal == "." and _NUMBER.match(text):
        return math.isfinite(float(text))
    return parse_number(text, decimal) is not None


def number_column(cells: list[str], decimal: str = ".") -> list[float | None] | None:
    """Every cell read as ``parse_number`` reads it, decided for the whole column at once: one regular-expression
    match over the joined cells and a C-level ``float`` over them. None when any cell needs the per-cell reading
    (a decimal comma, inner spaces, an empty or non-numeric cell, a number too large for a float); the caller
    then reads cell by cell, which also names the offending cell."""
    if decimal != "." or not cells:
        return None
    if not _NUMBER_COLUMN.fullmatch("\n".join(cells)):
        return None
    try:
        values = list(map(float, cells))
    except ValueError:  # a line break inside a quoted cell
        return None
    return values if all(map(math.isfinite, values)) else None


def require_number(text: str, *, line: int, field: str, decimal: str = ".") -> float:
    value = parse_number(text, decimal)
    if value is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ParseError(f"expected a number, found '{shown}'", line=line, field=field)
    return value


# Compiled once: the NanoSight reader normalises the first cell of every line that is not graph data.
_NOT_LABEL = re.compile(r"[^0-9a-z]+")


def normalise_label(label: str) -> str:
    """Compare labels across software versions: case, spacing and punctuation are not meaningful."""
    return _NOT_LABEL.sub("", label.lower())
