"""Lists that stay fast on large labs, shared by the pages and the API.

- The page is cut on the base rows (filtered and ordered, no aggregate) before anything is computed per
  row: ``PageFirst`` gives Django's Paginator the base count and decorates only the cut page.
- ``Keyset`` reaches any depth as cheaply as the first page: a cursor names the sort values and the id of
  the last row seen, and the next page is read with ``WHERE (sort, id) after (cursor)`` from the index
  instead of skipping OFFSET rows.
- ``attach`` computes per-row figures (``count_of`` counts, one-to-one values) for the page's ids only,
  in one query.
"""

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, Func, Q, Subquery
from django.utils import timezone

# A cursor holds a few sort values and an id; anything longer was not made here.
MAX_CURSOR_LENGTH = 1000


class InvalidCursor(ValueError):
    """A cursor this list did not make: mistyped, truncated, or made for another sort order."""


@dataclass(frozen=True)
class Term:
    path: str
    descending: bool

    @property
    def name(self) -> str:
        return f"{'-' if self.descending else ''}{self.path}"


def _terms(queryset) -> list[Term]:
    """The queryset's sort terms, ending with the primary key (added when the ordering lacks it)."""
    query = queryset.query
    names = list(query.order_by) or (list(query.get_meta().ordering) if query.default_ordering else [])
    pk_names = {"pk", query.get_meta().pk.name}
    terms = []
    for name in names:
        if not isinstance(name, str) or name == "?" or "." in name:
            raise InvalidCursor("This list's sort order cannot be paged by cursor; use ?page= instead.")
        terms.append(Term(name.lstrip("-+"), name.startswith("-")))
        if terms[-1].path in pk_names:
            return terms  # the id is unique: whatever follows never breaks a tie
    return [*terms, Term("pk", terms[0].descending if terms else False)]


def _encode_value(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # full microseconds: a rounded timestamp would skip or repeat rows
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


class Keyset:
    """Cursor paging over a queryset's own ordering (the id breaks ties), NULL sort values included."""

    def __init__(self, queryset):
        self.terms = _terms(queryset)
        self.names = [f"keyset_{index}" for index in range(len(self.terms))]
        self.queryset = queryset.order_by(*(term.name for term in self.terms)).annotate(
            **{name: F(term.path) for name, term in zip(self.names, self.terms, strict=True)}
        )
        self.fields = [self.queryset.query.annotations[name].output_field for name in self.names]
        if any(field.is_relation for field in self.fields):
            raise InvalidCursor("This list's sort order cannot be paged by cursor; use ?page= instead.")
        # Where NULL sorts depends on the database (PostgreSQL: largest; SQLite: smallest).
        self.nulls_largest = connections[queryset.db].features.nulls_order_largest

    # ------------------------------------------------------------------ cursors

    def cursor(self, row) -> str:
        """The opaque cursor of a row read through ``self.queryset``: the next page starts after it."""
        values = [_encode_value(getattr(row, name)) for name in self.names]
        document = {"o": [term.name for term in self.terms], "v": values}
        return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list:
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("The page cursor is empty or too long.")
        try:
            document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidCursor("The page cursor is not one this list made (damaged or mistyped).") from None
        if not isinstance(document, dict) or document.get("o") != [term.name for term in self.terms]:
            raise InvalidCursor("The page cursor belongs to another list or sort order; start again without it.")
        values = document.get("v")
        if not isinstance(values, list) or len(values) != len(self.fields) or values[-1] is None:
            raise InvalidCursor("The page cursor is not one this list made (damaged or mistyped).")
        try:
            decoded = [
                None if value is None else field.to_python(value)
                for field, value in zip(self.fields, values, strict=True)
            ]
        except (ValidationError, TypeError, ValueError):
            raise InvalidCursor("The page cursor is not one this list made (damaged or mistyped).") from None
        if settings.USE_TZ and any(isinstance(v, dt.datetime) and timezone.is_naive(v) for v in decoded):
            # Cursors carry the offset; a naive time would be read in the server's zone and shift the page.
            raise InvalidCursor("The page cursor is not one this list made (damaged or mistyped).")
        return decoded

    # ------------------------------------------------------------------ reading after a cursor

    def _nulls_come_last(self, term: Term) -> bool:
        return term.descending != self.nulls_largest

    def _nullable(self, index: int) -> bool:
        # A column reached through a relation can be NULL by the outer join even when it is NOT NULL.
        return self.fields[index].null or "__" in self.terms[index].path

    def _compare(self, index: int, value, *, strict: bool) -> Q:
        """Rows whose sort value comes after ``value`` in the list's order (or equals it, unless strict)."""
        term = self.terms[index]
        nulls_last = self._nullable(index) and self._nulls_come_last(term)
        if value is None:
            if strict:
                return Q(**{f"{term.path}__isnull": False}) if not nulls_last else Q(pk__in=[])
            return Q() if not nulls_last else Q(**{f"{term.path}__isnull": True})
        operator = ("lt" if term.descending else "gt") + ("" if strict else "e")
        # A plain <, <=, >, >= on the column: the database starts its ordered index scan at the cursor.
        reached = Q(**{f"{term.path}__{operator}": value})
        return reached | Q(**{f"{term.path}__isnull": True}) if nulls_last else reached

    def _equal(self, index: int, value) -> Q:
        path = self.terms[index].path
        return Q(**{f"{path}__isnull": True}) if value is None else Q(**{path: value})

    def after(self, cursor: str):
        """The rows after the cursor's row, in order (raises InvalidCursor)."""
        values = self.decode(cursor)
        last = len(values) - 1
        condition = self._compare(last, values[last], strict=True)
        for index in reversed(range(last)):
            strictly = self._compare(index, values[index], strict=True)
            condition = strictly | (self._equal(index, values[index]) & condition)
        # Implied by the condition, but a range on the first sort column alone is what lets the database
        # seek to the cursor in the index instead of reading from the first row and filtering.
        return self.queryset.filter(self._compare(0, values[0], strict=False) & condition)


# ---------------------------------------------------------------------- pages


class PageFirst:
    """What Django's Paginator reads: the count on the base rows, and ``decorate`` run on the cut page only."""

    def __init__(self, queryset, decorate=None):
        self.queryset = queryset
        self.decorate = decorate

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        rows = list(self.queryset[index])
        if self.decorate is not None and rows:
            self.decorate(rows)
        return rows


class KeysetPage:
    """A page reached by cursor: no page number, a link to the next rows, and the list's total."""

    keyset = True

    def __init__(self, object_list, *, has_next: bool, paginator):
        self.object_list = object_list
        self._has_next = has_next
        self.paginator = paginator

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return True  # a cursor page always follows the first one

    def has_other_pages(self) -> bool:
        return True


def page_of(queryset, *, size: int, number=None, after: str | None = None, decorate=None):
    """Page ``number`` (Django's Page), or the rows after cursor ``after`` (KeysetPage).

    Either page carries ``next_cursor`` (empty on the last page). Raises InvalidCursor for a bad cursor.
    """
    try:
        keyset = Keyset(queryset)
    except InvalidCursor:
        if after is not None:
            raise
        keyset = None  # an ordering no cursor can follow (e.g. by an expression): page numbers only
    paginator = Paginator(PageFirst(keyset.queryset if keyset else queryset, decorate), size)
    if after is None:
        page = paginator.get_page(number)
        page.keyset = False
    else:
        rows = list(keyset.after(after)[: size + 1])
        page = KeysetPage(rows[:size], has_next=len(rows) > size, paginator=paginator)
        if decorate is not None and page.object_list:
            decorate(page.object_list)
    page.next_cursor = keyset.cursor(page.object_list[-1]) if keyset and page.has_next() else ""
    return page


def count_of(queryset):
    """A correlated COUNT of ``queryset`` (which filters on ``OuterRef("pk")``) for ``attach``.

    COUNT without GROUP BY gives one row per outer id, 0 when nothing matches.
    """
    return Subquery(queryset.order_by().annotate(counted=Func(F("pk"), function="COUNT")).values("counted"))


def attach(rows, **expressions) -> None:
    """Set ``row.<name>`` to ``expressions[name]`` evaluated for the rows of one page, in one query.

    The expressions (``count_of`` subqueries, ``F()`` through one-to-one relations) are computed for the
    page's ids only, never for the whole lab, and never join into the list's count.
    """
    if not rows:
        return
    model = type(rows[0])
    figures = model._base_manager.filter(pk__in=[row.pk for row in rows]).annotate(**expressions)
    by_id = {values[0]: values[1:] for values in figures.values_list("pk", *expressions)}
    for row in rows:
        for name, value in zip(expressions, by_id.get(row.pk, (None,) * len(expressions)), strict=True):
            setattr(row, name, value)
