"""CSV and Excel downloads of a filtered list: every row the filters match, not only the page shown.

- The rows are read in chunks of ``EXPORT_CHUNK`` by keyset cursor (``core.paging.Keyset``), each chunk in a
  fixed number of queries (its rows, then the list's per-row figures), so memory and time per chunk stay flat
  however long the list is.
- CSV is streamed (``StreamingHttpResponse``); an .xlsx is written row by row in openpyxl's write-only mode
  to a temporary file, which is then streamed from disk.
- At most ``MAX_EXPORT_ROWS`` rows go out at once; beyond, the export is refused with the count and a hint to
  narrow the filters (a 400 page), rather than cut silently.
- Values are written for a spreadsheet: numbers as numbers (real numeric cells in .xlsx), times and dates in
  ISO 8601 (times in the site's time zone, with their offset), yes/no for booleans, empty for no value. Text
  that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) is prefixed
  with an apostrophe in both formats (OWASP "CSV injection").
"""

import codecs
import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ..core.paging import Keyset
from ..core.spreadsheets import neutralise

MAX_EXPORT_ROWS = 50_000
EXPORT_CHUNK = 500
FORMATS = {"csv": "CSV", "xlsx": "Excel"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One exported column: its header in the lab's words (with the unit) and how a row gives its value."""

    label: str
    value: Callable


def spreadsheet_value(value):
    """A Python value as a spreadsheet holds it: a number, ISO text for times, yes/no, or neutralised text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).isoformat(timespec="seconds") if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def chunks(queryset, decorate=None, size: int | None = None) -> Iterator[list]:
    """Every row of the ordered ``queryset``, ``size`` (EXPORT_CHUNK) at a time, each chunk decorated (two
    queries a chunk)."""
    size = size or EXPORT_CHUNK
    keyset = Keyset(queryset)
    rows = list(keyset.queryset[:size])
    while rows:
        if decorate is not None:
            decorate(rows)
        yield rows
        if len(rows) < size:
            return
        rows = list(keyset.after(keyset.cursor(rows[-1]))[:size])


def _values(columns, rows) -> Iterator[list]:
    for row in rows:
        yield [spreadsheet_value(column.value(row)) for column in columns]


def _csv_text(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class _Line:
    """A file-like object whose write returns the text, for csv.writer inside a generator."""

    def write(self, text):
        return text


def _csv_stream(columns, queryset, decorate) -> Iterator[bytes]:
    writer = csv.writer(_Line(), lineterminator="\r\n")
    # BOM so spreadsheet programs read µ and ° as UTF-8.
    yield codecs.BOM_UTF8 + writer.writerow([column.label for column in columns]).encode()
    for rows in chunks(queryset, decorate):
        yield "".join(writer.writerow([_csv_text(v) for v in values]) for values in _values(columns, rows)).encode()


def _xlsx_file(columns, queryset, decorate, title):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([column.label for column in columns])
    for rows in chunks(queryset, decorate):
        for values in _values(columns, rows):
            sheet.append(values)
    stream = tempfile.TemporaryFile()
    workbook.save(stream)
    stream.seek(0)
    return stream


def too_many_rows_message(total: int) -> str:
    return (
        f"The filters match {total:,} rows; at most {MAX_EXPORT_ROWS:,} rows are exported at once. "
        "Narrow the filters (a search, a date range, a project) and export again."
    )


def export_response(request, queryset, *, name: str, title: str, columns, decorate=None):
    """The filtered, ordered ``queryset`` as ``?export=csv`` or ``?export=xlsx`` (refused with a 400 page beyond
    MAX_EXPORT_ROWS rows or for another format)."""
    wanted = request.GET.get("export")
    params = request.GET.copy()
    params.pop("export", None)
    back = f"{request.path}?{params.urlencode()}".rstrip("?")
    if wanted not in FORMATS:
        message = "Exports are offered as CSV (export=csv) or Excel (export=xlsx)."
        return render(request, "evlims/export_refused.html", {"message": message, "back": back}, status=400)
    total = queryset.count()
    if total > MAX_EXPORT_ROWS:
        context = {"message": too_many_rows_message(total), "back": back}
        return render(request, "evlims/export_refused.html", context, status=400)
    filename = f"evlims-{name}-{timezone.localdate().isoformat()}.{wanted}"
    if wanted == "csv":
        response = StreamingHttpResponse(
            _csv_stream(columns, queryset, decorate), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        _xlsx_file(columns, queryset, decorate, title), as_attachment=True, filename=filename, content_type=XLSX_TYPE
    )
