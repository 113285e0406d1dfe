"""What every list page shares: its sort (``?sort=``), its page (``?page=``/``?after=``) and its downloads
(``?export=csv|xlsx``), all of the same filtered rows."""

from collections.abc import Callable
from dataclasses import dataclass

from django.shortcuts import render

from .. import exports
from ..exports import FORMATS, Column, export_response
from ..sorting import SortChoices
from .common import paginate, query_without_page


@dataclass(frozen=True)
class ListSpec:
    name: str  # the download's file name: evlims-<name>-<date>.csv
    title: str  # the workbook sheet's name
    sorts: SortChoices
    columns: tuple[Column, ...]
    decorate: Callable | None = None  # per-row figures, computed for a page (or an export chunk) only


def list_response(request, spec: ListSpec, queryset, template: str, context: dict):
    """The list page, or its export. ``queryset`` None: the filters did not validate (no page, no export)."""
    sorting = spec.sorts.from_request(request)
    page = None
    if queryset is not None:
        queryset = sorting.order(queryset)
        if "export" in request.GET:
            return export_response(
                request, queryset, name=spec.name, title=spec.title, columns=spec.columns, decorate=spec.decorate
            )
        page = paginate(request, queryset, decorate=spec.decorate)
    query = query_without_page(request)
    return render(
        request,
        template,
        {
            **context,
            "page": page,
            "query": query,
            "sort": sorting,
            "sort_headers": sorting.headers(request.GET),
            "export_formats": FORMATS,
            "export_max_rows": exports.MAX_EXPORT_ROWS,
        },
    )
