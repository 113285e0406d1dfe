"""Sortable list columns that keyset paging can follow.

A list offers a few sorts, each on one indexed column with the id breaking ties, so a cursor page is read
from the index at any depth (``core.paging.Keyset``). ``?sort=<key>`` sorts ascending, ``?sort=-<key>``
descending; anything else (an unknown or hand-edited value) is the list's default order, never an error.
"""

from dataclasses import dataclass

# Parameters a sort link drops: a page number or cursor belongs to the old order, an export to its download.
_DROPPED = ("page", "after", "export")


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: str  # the column header, in the lab's words
    field: str  # the indexed column sorted on
    first_descending: bool = False  # the direction of a first click (newest first for times)


@dataclass(frozen=True)
class Header:
    label: str
    query: str  # the query string of the link that sorts by this column
    aria_sort: str  # "ascending", "descending", or "" for a column the list is not sorted by
    arrow: str


@dataclass(frozen=True)
class Sorting:
    """The sort a list was asked for, resolved against its choices."""

    key: str
    descending: bool
    columns: tuple[SortColumn, ...]

    @property
    def value(self) -> str:
        return f"{'-' if self.descending else ''}{self.key}"

    @property
    def column(self) -> SortColumn:
        return next(column for column in self.columns if column.key == self.key)

    def order(self, queryset):
        """``queryset`` ordered by the chosen column, the id breaking ties in the same direction."""
        sign = "-" if self.descending else ""
        return queryset.order_by(f"{sign}{self.column.field}", f"{sign}id")

    def headers(self, params) -> dict[str, Header]:
        """A header per sortable column: the link that sorts by it (the other filters kept), its arrow."""
        headers = {}
        for column in self.columns:
            active = column.key == self.key
            descending = not self.descending if active else column.first_descending
            query = params.copy()
            for name in _DROPPED:
                query.pop(name, None)
            query["sort"] = f"{'-' if descending else ''}{column.key}"
            headers[column.key] = Header(
                label=column.label,
                query=query.urlencode(),
                aria_sort=("descending" if self.descending else "ascending") if active else "",
                arrow=("▼" if self.descending else "▲") if active else "",
            )
        return headers


class SortChoices:
    """The sorts one list offers, and its default (e.g. ``"-collected"``: newest collection first)."""

    def __init__(self, *columns: SortColumn, default: str):
        self.columns = tuple(columns)
        self.default = default
        assert self.resolve(default).value == default, f"default sort {default!r} is not among the choices"

    def resolve(self, value) -> Sorting:
        text = value if isinstance(value, str) else ""
        descending = text.startswith("-")
        key = text[1:] if descending else text
        if key not in {column.key for column in self.columns}:
            if text == self.default:
                raise ValueError(f"default sort {self.default!r} is not among the choices")
            return self.resolve(self.default)
        return Sorting(key=key, descending=descending, columns=self.columns)

    def from_request(self, request) -> Sorting:
        return self.resolve(request.GET.get("sort"))
