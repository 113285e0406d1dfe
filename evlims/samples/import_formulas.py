"""Cells of a manifest that a spreadsheet would run: warned about or refused in the dry run, per row and column.

- A **DDE command** (``=cmd|' /C calc'!A0``, ``=DDE(...)``), in any cell, formula or text: an error. It
  starts a program on the PC of whoever opens the file in a spreadsheet; nothing in a manifest needs one,
  and storing it would only keep the payload.
- A **reference to another workbook** (``=[1]Sheet1!A1``, ``='C:\\dir\\[Book.xlsx]Sheet'!A1``) in an imported
  column: an error. The value lives in a file the LIMS does not have; the reference's text is never the
  value meant.
- An **.xlsx formula cell** in an imported column: a warning. Formulas are never evaluated: the cell is
  imported as its formula's text (``=A2&"-1"``), not the value Excel shows, so the person can paste the
  values and upload again before committing. Number, date, yes/no and choice columns refuse it already.
- **Text that starts like a formula** (``=HYPERLINK(...)``, ``+SUM(1,1)``, ``-1+1``, ``@SUM(A1)``) in an
  imported column: a warning. It is stored as typed; every CSV the LIMS produces prefixes it with ``'``
  (``core.spreadsheets.neutralise``), so a spreadsheet shows it as text.
- An .xlsx **linking to other workbooks** (externalLink parts): a warning naming them, on the file.

Cells of columns the import ignores (no header, or not a manifest column) are only checked for DDE.
"""

from __future__ import annotations

from ..core.spreadsheets import DDE, EXTERNAL_REFERENCE, FORMULA, formula_risk
from .import_checks import ERROR, WARNING, problem
from .import_columns import COLUMNS_BY_NAME, header_key, shown
from .import_files import ManifestTable

_TRIGGERS = ("=", "+", "-", "@")


def _columns(header: list) -> list[tuple[str, bool]]:
    """(label, imported) of every column: the manifest column's name, else the header text or its position."""
    columns = []
    for index, cell in enumerate(header):
        key = header_key(cell)
        if key in COLUMNS_BY_NAME:
            columns.append((key, True))
        else:
            columns.append((str(cell).strip() if key else f"column {index + 1}", False))
    return columns


def _message(risk: str, value, formula_cell: bool) -> tuple[str, str]:
    if risk == DDE:
        return ERROR, (
            f"{shown(value)} is a DDE command: a spreadsheet opening the file would start a program. "
            "It is refused; remove it and upload the file again."
        )
    if risk == EXTERNAL_REFERENCE:
        return ERROR, (
            f"{shown(value)} refers to another workbook; its value is not in this file. "
            "Replace it with the value itself (copy, then paste as values)."
        )
    if formula_cell:
        return WARNING, (
            f"This cell holds a formula, {shown(value)}: its text is imported, not the value Excel shows. "
            "To import the value, copy the column and paste it as values, then upload the file again."
        )
    return WARNING, (
        f"{shown(value)} starts like a spreadsheet formula. It is imported as text, never run, and the LIMS's "
        "CSV downloads show it as text."
    )


def formula_problems(table: ManifestTable, problems: list[dict]) -> list[dict]:
    """Problems for the formula, external-reference and DDE cells of the file (header row included).
    ``problems`` are those found so far: a cell that already has an error gets no warning on top of it."""
    found = [
        problem(
            None,
            "",
            f"The workbook links to another workbook ({link[:120]}); nothing is read from it.",
            WARNING,
        )
        for link in table.external_links
    ]
    erroneous = {(p["row"], p["column"]) for p in problems if p["severity"] == ERROR}
    columns = _columns(table.header)
    for number, cells in [(table.header_row, table.header), *table.rows]:
        for index, value in enumerate(cells):
            formula_cell = (number, index) in table.formula_cells
            if not formula_cell and not (isinstance(value, str) and value.lstrip().startswith(_TRIGGERS)):
                continue
            risk = formula_risk(value, formula_cell=formula_cell)
            if risk is None:
                continue
            label, imported = columns[index] if index < len(columns) else (f"column {index + 1}", False)
            if number == table.header_row:
                label, imported = f"column {index + 1}", False
            if risk != DDE and (not imported or (risk == FORMULA and (number, label) in erroneous)):
                continue
            severity, message = _message(risk, value, formula_cell)
            found.append(problem(number, label, message, severity))
    return found
