"""Pagination of every list: page numbers (``?page=2&page_size=100``) or a keyset cursor (``?cursor=``).

Both cut the page on the view's filtered, ordered base rows before anything is computed per row: a view
that shows per-row figures (result counts, available aliquots) sets ``decorate_page``, a function that
adds them to one page's rows in a fixed number of queries.

Cursor paging reads the rows after the last one seen through the sort index, so walking a whole lab costs
the same per page at any depth; its answers carry no ``count`` (counting every page would make the walk
quadratic). Start with an empty ``?cursor=`` and follow ``next`` until it is null.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..conf import evlims_settings
from ..core.paging import InvalidCursor, Keyset, PageFirst


class EvlimsPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = "cursor"
    cursor_query_description = (
        "Keyset paging: send it empty for the first page, then follow `next`. Answers carry no `count`; "
        "every page costs the same at any depth. Takes precedence over `page`."
    )

    @property
    def page_size(self):
        # Read per request so a host's EVLIMS["PAGE_SIZE"] (and test overrides) apply.
        return evlims_settings.PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        decorate = getattr(view, "decorate_page", None)
        self.next_cursor = None
        self.request = request
        if self.cursor_query_param not in request.query_params:
            return super().paginate_queryset(PageFirst(queryset, decorate), request, view)
        size = self.get_page_size(request)
        cursor = request.query_params[self.cursor_query_param]
        try:
            keyset = Keyset(queryset)
            rows = list((keyset.after(cursor) if cursor else keyset.queryset)[: size + 1])
        except InvalidCursor as error:
            raise ValidationError({self.cursor_query_param: [str(error)]}) from None
        self.next_cursor = keyset.cursor(rows[size - 1]) if len(rows) > size else ""
        rows = rows[:size]
        if decorate is not None and rows:
            decorate(rows)
        return rows

    def get_paginated_response(self, data):
        if self.next_cursor is None:
            return super().get_paginated_response(data)
        return Response({"next": self._cursor_link(), "results": data})

    def _cursor_link(self):
        if not self.next_cursor:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, self.next_cursor)

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["results"]
        paginated["properties"]["count"]["description"] = "Rows in the whole list (absent with `cursor`)."
        paginated["properties"]["next"]["description"] = (
            "The next page: `?page=` or, with `cursor`, `?cursor=` after this page's last row; null at the end."
        )
        paginated["properties"]["previous"]["description"] = "The previous page by number (absent with `cursor`)."
        return paginated

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": self.cursor_query_description,
                "schema": {"type": "string"},
            }
        )
        return parameters
