"""Tables of the dashboard and control-chart pages, shown and exported from the same rows.

A page builds its tables once as ``DataTable`` objects: the template shows them and ``?export=<name>`` returns
the same rows as CSV, so what is downloaded is exactly what is shown (with full precision).
"""

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.http import Http404, HttpResponse
from django.shortcuts import render

from ...core.numbers import power_of_ten
from ...core.spreadsheets import neutralise


@dataclass
class DataTable:
    """Rows of raw values under (key, label, kind) columns; kind picks the display format."""

    name: str
    title: str
    columns: list[tuple[str, str, str]]
    rows: list[dict] = field(default_factory=list)
    note: str = ""
    # When the page lists only some rows, the CSV takes every row from here.
    all_rows: Callable[[], list[dict]] | None = None

    # Column whose value identifies a row (e.g. for the overlay checkboxes); not shown itself.
    key: str = ""

    def display_rows(self):
        return [
            {"key": row.get(self.key), "cells": [display_cell(row.get(key), kind) for key, _, kind in self.columns]}
            for row in self.rows
        ]

    def csv_response(self) -> HttpResponse:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([label for _, label, _ in self.columns])
        for row in self.all_rows() if self.all_rows else self.rows:
            writer.writerow([csv_cell(row.get(key)) for key, _, _ in self.columns])
        # BOM so spreadsheet programs read µ as UTF-8.
        response = HttpResponse(codecs.BOM_UTF8 + buffer.getvalue().encode(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="evlims-{self.name}.csv"'
        return response


def is_missing(value) -> bool:
    return value is None or (not isinstance(value, str | tuple | list) and bool(pd.isna(value)))


def display_cell(value, kind):
    """(text, css class, link) of one cell; a missing figure shows as a dash, never as 0."""
    align = "" if kind in ("text", "link") else "text-end"
    if kind == "link":
        return (value[0], align, value[1]) if value else ("—", align, None)
    if is_missing(value):
        return ("—", align, None)
    if kind == "sci":
        return (f"{value:.3g}" if abs(value) < 1e4 else power_of_ten(value), align, None)
    if kind == "num":
        return (f"{value:.1f}", align, None)
    if kind == "num2":
        return (f"{value:.2f}", align, None)
    return (str(value), align, None)


def csv_cell(value):
    if isinstance(value, tuple):
        value = value[0]
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value):
        return ""
    if isinstance(value, bool | int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return neutralise(value)


def export_query(request) -> str:
    params = request.GET.copy()
    params.pop("export", None)
    return params.urlencode()


def respond(request, template, context, tables, figures=None):
    """The page, or ``?export=<name>`` as CSV. ``figures()`` gives the tables of the page's cached part; they
    are built only when one of them is exported."""
    wanted = request.GET.get("export")
    if wanted:
        table = next((table for table in [*tables, *(figures() if figures else [])] if table.name == wanted), None)
        if table is None:
            raise Http404("No such table on this page.")
        return table.csv_response()
    tables_by_name = {table.name: table for table in tables}
    return render(request, template, {**context, "tables": tables_by_name, "export_query": export_query(request)})
