"""The dry run of a manifest: every row checked, every problem collected as {row, column, message, severity}.

Errors block the import; warnings are shown but do not (an unknown column, blood-collection values
on a urine sample, an aliquot volume that looks like mL). Checks against the database are done per
file in a few queries, not per row, so a 10,000-row file stays quick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import timezone

from ..conf import evlims_settings
from .import_columns import (
    BLOOD,
    COLUMNS,
    COLUMNS_BY_NAME,
    CULTURE,
    REQUIRED_COLUMNS,
    URINE,
    CellError,
    Column,
    header_key,
    is_blank,
    parse_cell,
)
from .import_files import ManifestTable
from .models import Donor
from .selectors import barcode_holders, taken_barcode_message
from .vocabulary import biofluid, is_blood

ERROR, WARNING = "error", "warning"
# A file wrong in every cell would otherwise store millions of problems; the first ones are enough to act on.
MAX_PROBLEMS = 5000
QUERY_CHUNK = 500
_PROGRESS_STEPS = 50
_COLUMN_ORDER = {column.name: index for index, column in enumerate(COLUMNS)}
# A header cell naming no manifest column (warned about once, on the header row).
_IGNORED = object()
_GROUP_NAMES = {BLOOD: "Blood-collection", URINE: "Urine-collection", CULTURE: "Cell-culture"}


def problem(row: int | None, column: str, message: str, severity: str = ERROR) -> dict:
    return {"row": row, "column": column, "message": message, "severity": severity}


def sort_problems(problems: list[dict]) -> list[dict]:
    """File-level problems first, then by row and by the column's place in the template; capped."""
    ordered = sorted(problems, key=lambda p: (p["row"] or 0, _COLUMN_ORDER.get(p["column"], len(_COLUMN_ORDER))))
    if len(ordered) <= MAX_PROBLEMS:
        return ordered
    hidden = len(ordered) - MAX_PROBLEMS
    return [
        *ordered[:MAX_PROBLEMS],
        problem(None, "", f"{hidden:,} more problems are not listed; fix these and upload the file again."),
    ]


@dataclass
class ManifestRow:
    number: int
    # Typed values of the known, non-empty cells, keyed by column name.
    values: dict


def check_rows(table: ManifestTable, *, lab, progress=None) -> tuple[list[ManifestRow], list[dict], frozenset]:
    """Typed rows, problems, and the donor codes of the file that already exist in the lab."""
    problems: list[dict] = []
    reader = _CellReader(table, _header_columns(table, problems), problems)
    rows = []
    total = len(table.rows)
    step = max(1, total // _PROGRESS_STEPS)
    for done, (number, cells) in enumerate(table.rows, start=1):
        values = reader.read(number, cells)
        _check_row(number, values, problems)
        rows.append(ManifestRow(number, values))
        if progress is not None and (done % step == 0 or done == total):
            progress(done, total)
    if not table.rows:
        problems.append(problem(None, "", "The file has a header but no data rows."))
    problems.extend(_barcode_problems(rows, lab))
    codes = {row.values["donor_code"] for row in rows if row.values.get("donor_code")}
    return rows, problems, frozenset(existing_values(Donor.objects.filter(lab=lab), "code", codes))


def _header_columns(table: ManifestTable, problems: list[dict]) -> list[Column | None]:
    columns: list[Column | None] = []
    seen = {}
    for index, cell in enumerate(table.header, start=1):
        key = header_key(cell)
        column = COLUMNS_BY_NAME.get(key)
        if not key:
            columns.append(None)
        elif column is None:
            problems.append(
                problem(table.header_row, str(cell).strip(), "Not a manifest column; its values are ignored.", WARNING)
            )
            columns.append(_IGNORED)
        elif key in seen:
            problems.append(problem(table.header_row, key, f"Appears twice (columns {seen[key]} and {index})."))
            columns.append(_IGNORED)
        else:
            seen[key] = index
            columns.append(column)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(problem(table.header_row, name, "Required column is missing from the header row."))
    return columns


class _CellReader:
    """Turns the cells of one row into typed values, adding a problem for each cell that cannot be used."""

    def __init__(self, table: ManifestTable, columns: list[Column | None], problems: list[dict]):
        self.table = table
        self.columns = columns
        self.problems = problems
        self.required = [
            name for name in REQUIRED_COLUMNS if any(isinstance(c, Column) and c.name == name for c in columns)
        ]
        self.warned_headerless: set[int] = set()

    def read(self, number: int, cells: list) -> dict:
        values, filled = {}, set()
        for index, raw in enumerate(cells):
            column = self.columns[index] if index < len(self.columns) else None
            if is_blank(raw) or column is _IGNORED:
                continue
            if column is None:
                self._headerless_value(number, index)
                continue
            filled.add(column.name)
            try:
                values[column.name] = parse_cell(column, raw, decimal_comma=self.table.decimal_comma)
            except CellError as error:
                self.problems.append(problem(number, column.name, str(error)))
        for name in self.required:
            if name not in filled:
                self.problems.append(problem(number, name, "Required; the cell is empty."))
        return values

    def _headerless_value(self, number: int, index: int) -> None:
        label = f"column {index + 1}"
        if index >= len(self.table.header) and self.table.file_format == "csv":
            self.problems.append(
                problem(
                    number,
                    label,
                    f"This row has more cells than the header ({len(self.table.header)}); a value probably "
                    "contains the delimiter without quotes, which shifts the cells after it.",
                )
            )
        elif index not in self.warned_headerless:
            self.warned_headerless.add(index)
            self.problems.append(
                problem(number, label, "This column has values but no header; they are ignored.", WARNING)
            )


def _check_row(number: int, values: dict, problems: list[dict]) -> None:
    _check_aliquots(number, values, problems)
    _check_times(number, values, problems)
    _check_groups(number, values, problems)


def _check_aliquots(number, values, problems) -> None:
    count, volume = values.get("aliquot_count"), values.get("aliquot_volume_ul")
    if count is None and volume is None:
        return
    if count is None or volume is None:
        missing = "aliquot_count" if count is None else "aliquot_volume_ul"
        other = "aliquot_volume_ul" if count is None else "aliquot_count"
        problems.append(problem(number, missing, f"Give {missing} together with {other}, or leave both empty."))
        values.pop("aliquot_count", None)
        values.pop("aliquot_volume_ul", None)
        return
    if volume < 1:
        problems.append(
            problem(number, "aliquot_volume_ul", f"{volume} µL is below 1 µL; this column is in µL, not mL.", WARNING)
        )
    sample_ml = values.get("volume_ml")
    if sample_ml is not None and count * volume > sample_ml * 1000:
        problems.append(
            problem(
                number,
                "aliquot_volume_ul",
                f"{count} aliquot{'s' if count > 1 else ''} × {volume} µL = {count * volume} µL, "
                f"more than the {sample_ml} mL received.",
            )
        )


def _check_times(number, values, problems) -> None:
    now = timezone.now()
    for name in ("collected_at", "received_at"):
        if values.get(name) is not None and values[name] > now:
            problems.append(problem(number, name, f"{_local(values[name])} is in the future."))
    collected, received = values.get("collected_at"), values.get("received_at")
    if collected and received and received < collected and received <= now:
        problems.append(
            problem(number, "received_at", f"{_local(received)} is before collected_at ({_local(collected)}).")
        )


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _check_groups(number, values, problems) -> None:
    """Pre-analytical values that do not fit the biofluid are probably in the wrong row or column."""
    code = values.get("biofluid")
    if code is None:
        return
    fits = {BLOOD: is_blood(code), URINE: code == "urine", CULTURE: bool((biofluid(code) or {}).get("culture"))}
    for group, fitting in fits.items():
        given = [c.name for c in COLUMNS if c.group == group and c.name in values]
        if given and not fitting:
            problems.append(
                problem(
                    number,
                    given[0],
                    f"{_GROUP_NAMES[group]} values ({', '.join(given)}) are given for a {code} sample.",
                    WARNING,
                )
            )


def _issued_barcode_pattern() -> re.Pattern:
    """Barcodes the LIMS issues itself (PREFIX-0000001 by default, for samples, aliquots and preparations)
    cannot be chosen in a file: the sequence would later issue the same barcode to another tube."""
    heads = set()
    for prefix in (
        evlims_settings.SAMPLE_BARCODE_PREFIX,
        evlims_settings.ALIQUOT_BARCODE_PREFIX,
        evlims_settings.PREPARATION_BARCODE_PREFIX,
    ):
        heads.add(evlims_settings.BARCODE_GENERATOR(prefix, 1).rstrip("0123456789"))
    return re.compile(rf"^({'|'.join(re.escape(head) for head in sorted(heads))})\d+$")


def _barcode_problems(rows: list[ManifestRow], lab) -> list[dict]:
    problems = []
    first_row: dict[str, int] = {}
    issued = _issued_barcode_pattern()
    for row in rows:
        barcode = row.values.get("barcode")
        if not barcode:
            continue
        if barcode in first_row:
            problems.append(problem(row.number, "barcode", f"{barcode} also appears in row {first_row[barcode]}."))
            continue
        first_row[barcode] = row.number
        if issued.match(barcode):
            problems.append(
                problem(
                    row.number,
                    "barcode",
                    f"{barcode} has the form of barcodes the LIMS issues itself; leave the cell empty to get one.",
                )
            )
    # Barcodes are unique within a lab: only the importing lab's records are looked at, so a row never
    # learns whether another lab holds its barcode.
    holders = barcode_holders(lab.pk, first_row)
    for barcode in sorted(holders, key=first_row.get):
        problems.append(problem(first_row[barcode], "barcode", taken_barcode_message(barcode, holders[barcode])))
    return problems


def existing_values(queryset, field_name: str, values) -> set[str]:
    """Which of ``values`` the queryset holds in ``field_name``, asked in chunks (SQLite takes at most 999
    parameters per statement)."""
    values = list(values)
    found = set()
    for start in range(0, len(values), QUERY_CHUNK):
        chunk = values[start : start + QUERY_CHUNK]
        found.update(queryset.filter(**{f"{field_name}__in": chunk}).values_list(field_name, flat=True))
    return found
