"""Excel workbooks (.xlsx) flattened to CSV text so every text parser can read a re-saved export."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time
from xml.etree.ElementTree import ParseError as XMLParseError

from ...core.spreadsheets import UnsafeWorkbook, check_xlsx
from .errors import ParseError

# A worksheet larger than this is not an instrument export; the limit also bounds memory.
MAX_CELLS = 2_000_000
# What openpyxl raises on a damaged workbook; XML that does not parse (a DTD, entities) included.
_DAMAGED = (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError, XMLParseError)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def workbook_to_csv(data: bytes, sheet: str | None = None) -> str:
    """Return one worksheet (the named one, else the first) as comma-separated text."""
    from openpyxl import load_workbook

    try:
        check_xlsx(data)
    except UnsafeWorkbook as error:
        raise ParseError(str(error))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _DAMAGED as error:
        raise ParseError(f"the file looks like an Excel workbook but cannot be opened ({type(error).__name__})")
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ParseError(f"the workbook has no sheet '{sheet}' (sheets: {workbook.sheetnames})", field="sheet")
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\n")
        cells = 0
        for row in worksheet.iter_rows(values_only=True):
            cells += len(row)
            if cells > MAX_CELLS:
                raise ParseError(f"the worksheet has more than {MAX_CELLS} cells")
            writer.writerow([_cell_text(value) for value in row])
        return output.getvalue()
    except ParseError:
        raise
    except _DAMAGED as error:
        raise ParseError(f"the Excel workbook is damaged ({type(error).__name__})")
    finally:
        workbook.close()
