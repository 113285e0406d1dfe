"""Safe text for CSV and Excel exports, and the checks an uploaded Excel workbook passes before it is parsed."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

# A spreadsheet runs a cell starting with one of these as a formula; a leading apostrophe keeps it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# An .xlsx is a zip of XML parts. A few hundred kilobytes can declare (or, lying, expand to) gigabytes, and
# openpyxl holds the shared strings, styles and workbook parts whole in memory, so the sizes are checked before
# a workbook is opened: first the sizes the zip declares, then the bytes really inflated, part by part.
XLSX_MAX_PARTS = 500
XLSX_MAX_SHEET_BYTES = 32 * 1024 * 1024  # one worksheet (read as a stream, row by row)
XLSX_MAX_PART_BYTES = 8 * 1024 * 1024  # any other part: shared strings, styles, workbook (read whole)
XLSX_MAX_TOTAL_BYTES = 64 * 1024 * 1024  # every part together
_CHUNK = 64 * 1024
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
# A DTD is where entities are declared; a workbook never needs one. Looked for in UTF-8 and in UTF-16 text.
_DTD_MARKERS = tuple(
    marker.encode(codec) for marker in ("<!DOCTYPE", "<!ENTITY") for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(marker) for marker in _DTD_MARKERS)
_XML_PART = (".xml", ".rels", ".vml")


class UnsafeWorkbook(ValueError):
    """The workbook is refused before it is parsed; the message says why, in words for the person uploading."""


def neutralise(cell) -> str:
    """The cell as text a spreadsheet shows as typed, never runs."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# What an uploaded cell holds that a spreadsheet would run (see formula_risk).
FORMULA, EXTERNAL_REFERENCE, DDE = "formula", "external reference", "DDE"
# Text a spreadsheet takes for a formula: anything after '=', and after '+', '-' or '@' a function call, a cell
# reference or arithmetic ('-1+1'), but not '-80 °C', '+4 °C' or '- none'.
_FORMULA_LIKE = re.compile(r"\s*(?:=|[+\-@]\s*(?:[A-Za-z_][\w.]*\s*\(|\$?[A-Za-z]{1,3}\$?\d+|[\d.]+\s*[-+*/^&]))")
# Dynamic Data Exchange: 'application|topic'!item starts a program (cmd|' /C calc'!A0), as do DDE() and DDEAUTO().
_DDE = re.compile(r"[\w.]+\s*\|.*!|\bDDE(?:AUTO)?\s*\(", re.IGNORECASE | re.DOTALL)
# Another workbook: [1]Sheet1!A1 (how openpyxl shows an externalLink), 'C:\dir\[Book.xlsx]Sheet'!A1, [Book.xlsx].
_EXTERNAL = re.compile(r"\[[^\[\]]+\][^!\[\]]*!|\[[^\[\]]*\.xl[a-z]{0,2}\]", re.IGNORECASE)
_EXTERNAL_LINK_PART = re.compile(r"xl/externalLinks/externalLink\d+\.xml")


def formula_risk(value, *, formula_cell: bool = False) -> str | None:
    """DDE, EXTERNAL_REFERENCE or FORMULA for a cell a spreadsheet would run, None for plain data.

    ``formula_cell``: the workbook stores the cell as a formula (openpyxl's data type 'f', read with
    data_only=False), whatever its text looks like.
    """
    if not isinstance(value, str) or not (formula_cell or _FORMULA_LIKE.match(value)):
        return None
    if _DDE.search(value):
        return DDE
    if _EXTERNAL.search(value):
        return EXTERNAL_REFERENCE
    return FORMULA


def external_links(data: bytes) -> list[str]:
    """The other workbooks an .xlsx links to (its externalLink parts), as their targets say. Call check_xlsx first."""
    from xml.etree.ElementTree import ParseError

    from defusedxml.ElementTree import fromstring

    targets = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        for name in sorted(names):
            if not _EXTERNAL_LINK_PART.fullmatch(name):
                continue
            relations = name.replace("externalLinks/", "externalLinks/_rels/") + ".rels"
            try:
                root = fromstring(archive.read(relations)) if relations in names else ()
                found = [e.get("Target", "") for e in root if e.get("TargetMode") == "External"]
            except (ParseError, ValueError):  # a damaged part names no target; the link is still reported
                found = []
            targets.extend([target for target in found if target] or [name])
    return targets


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def _limit_of(name: str) -> int:
    return XLSX_MAX_SHEET_BYTES if _WORKSHEET.fullmatch(name) else XLSX_MAX_PART_BYTES


def check_xlsx(data: bytes) -> None:
    """Refuse (UnsafeWorkbook) a workbook too large once inflated, lying about its sizes, or carrying a DTD.

    Memory stays at one chunk per part whatever the file claims; time is bounded by XLSX_MAX_TOTAL_BYTES.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnsafeWorkbook("This is not a readable .xlsx workbook. The Excel workbook's zip container is damaged.")
    with archive:
        parts = archive.infolist()
        if len(parts) > XLSX_MAX_PARTS:
            raise UnsafeWorkbook(f"The workbook has {len(parts):,} parts; at most {XLSX_MAX_PARTS} are accepted.")
        declared = 0
        for part in parts:
            if part.file_size > _limit_of(part.filename):
                raise UnsafeWorkbook(
                    f"The workbook part {part.filename[:80]} inflates to {_mb(part.file_size)}; "
                    f"the limit is {_mb(_limit_of(part.filename))}."
                )
            declared += part.file_size
        if declared > XLSX_MAX_TOTAL_BYTES:
            raise UnsafeWorkbook(f"The workbook inflates to {_mb(declared)}; the limit is {_mb(XLSX_MAX_TOTAL_BYTES)}.")
        for part in parts:
            _inflate(archive, part)


def _inflate(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Inflate one part chunk by chunk, counting the bytes (a header may lie) and looking for a DTD."""
    name = part.filename[:80]
    limit = min(part.file_size, _limit_of(part.filename))
    counted, tail, xml = 0, b"", part.filename.lower().endswith(_XML_PART)
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                counted += len(chunk)
                if counted > limit:
                    raise UnsafeWorkbook(f"The workbook part {name} is larger than its zip header says.")
                window = tail + chunk
                if xml and any(marker in window for marker in _DTD_MARKERS):
                    raise UnsafeWorkbook(
                        f"The workbook part {name} declares a DTD or XML entities, which a workbook never needs."
                    )
                tail = window[-_OVERLAP:]
    except UnsafeWorkbook:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError, zlib.error) as error:
        raise UnsafeWorkbook(f"The workbook part {name} cannot be read ({type(error).__name__}).")
