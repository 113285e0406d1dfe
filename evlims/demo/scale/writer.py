"""Rows of a model written as plain tuples: COPY on PostgreSQL, ``executemany`` INSERTs elsewhere.

``bulk_create`` builds a model instance per row, runs every field's ``pre_save`` and
``get_db_prep_save`` and, on PostgreSQL, sends multi-row INSERTs of thousands of parameters; at
millions of rows that Python work is most of the load. Here the caller passes tuples in an order it
names, primary keys are reserved up front (so children can point at parents before anything is read
back), columns the caller leaves out get their model default once per table, and only the columns
whose Python value the driver cannot take as it is (JSON, and on SQLite datetimes and decimals) are
converted per row. The column list comes from ``Model._meta.concrete_fields``, so it follows the models.

Both methods write the same values: ``copy`` is the PostgreSQL path, ``insert`` the SQLite one (it
also runs on PostgreSQL, which is how the two are compared in the tests).
"""

import json
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection as default_connection
from django.utils import timezone

METHODS = ("copy", "insert")
# Field types whose Python values every supported driver takes as they are (ForeignKey values are ids).
PLAIN_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DecimalField",  # both drivers take Decimal (Django registers str() as SQLite's adapter)
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
}


@dataclass(frozen=True)
class Table:
    name: str
    pk_column: str
    columns: tuple[str, ...]  # the primary key, the caller's fields, then the defaulted ones
    converters: tuple[tuple[int, object], ...]  # (position in the caller's tuple, function)
    constants: tuple


class Writer:
    """Writes rows of generated models on one connection; ``method`` defaults to the vendor's fastest."""

    def __init__(self, method: str | None = None, connection=None):
        self.connection = connection or default_connection
        vendor = self.connection.vendor
        self.method = method or ("copy" if vendor == "postgresql" else "insert")
        if self.method not in METHODS:
            raise ValueError(f"unknown write method {self.method!r}: {' or '.join(METHODS)}")
        if self.method == "copy" and vendor != "postgresql":
            raise ValueError("COPY needs PostgreSQL; use the insert method on this database.")
        # auto_now(_add) columns of one load share one timestamp: rows keep their order by id.
        self.now = timezone.now()
        self._tables: dict[tuple, Table] = {}
        self._sequences: dict[str, str] = {}

    def write(self, model, fields: tuple[str, ...], rows: list[tuple]) -> list[int]:
        """Insert ``rows`` (tuples of ``fields``, by attname) and return their new primary keys, in order."""
        if not rows:
            return []
        table = self._table(model, fields)
        ids = self._reserve(table, len(rows))
        if table.converters:
            rows = [self._convert(row, table.converters) for row in rows]
        constants = table.constants
        full = [(pk, *row, *constants) for pk, row in zip(ids, rows, strict=True)]
        if self.method == "copy":
            self._copy(table, full)
        else:
            self._insert(table, full)
        return ids

    @staticmethod
    def _convert(row, converters) -> list:
        values = list(row)
        for index, function in converters:
            values[index] = function(values[index])
        return values

    def _table(self, model, fields) -> Table:
        key = (model, fields)
        if key not in self._tables:
            self._tables[key] = self._describe(model, fields)
        return self._tables[key]

    def _describe(self, model, fields) -> Table:
        by_name = {field.attname: field for field in model._meta.concrete_fields}
        unknown = set(fields) - set(by_name)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
        pk = model._meta.pk
        rest = [field for field in model._meta.concrete_fields if field is not pk and field.attname not in fields]
        converters = tuple(
            (index, function)
            for index, name in enumerate(fields)
            if (function := self._converter(by_name[name])) is not None
        )
        constants = []
        for field in rest:
            value = self.now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) else None
            value = field.get_default() if value is None else value
            function = self._converter(field)
            constants.append(function(value) if function and value is not None else value)
        return Table(
            name=model._meta.db_table,
            pk_column=pk.column,
            columns=(pk.column, *(by_name[name].column for name in fields), *(field.column for field in rest)),
            converters=converters,
            constants=tuple(constants),
        )

    def _converter(self, field):
        """The per-value conversion a column needs, or None when the driver takes the Python value."""
        kind = field.get_internal_type()
        if kind == "JSONField":
            # COPY's text format parses JSON text; the INSERT path sends what Django itself would send.
            if self.method == "copy":
                return partial(json.dumps, cls=field.encoder)
            return partial(self.connection.ops.adapt_json_value, encoder=field.encoder)
        if kind in PLAIN_TYPES or self.method == "copy":
            return None  # psycopg adapts datetimes, decimals and dates itself
        if kind == "DateTimeField" and self.connection.vendor == "sqlite" and settings.USE_TZ:
            # What SQLite's adapt_datetimefield_value does to an aware value, without its per-call lookups.
            return partial(_naive_text, zone=self.connection.timezone)
        return partial(_prep, field=field, connection=self.connection)

    def _reserve(self, table: Table, count: int) -> list[int]:
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence(cursor, table), count])
                return [value for (value,) in cursor.fetchall()]
            # SQLite: the open transaction already holds the write lock, so nobody else takes ids meanwhile.
            quote = self.connection.ops.quote_name
            cursor.execute(f"SELECT COALESCE(MAX({quote(table.pk_column)}), 0) FROM {quote(table.name)}")
            (last,) = cursor.fetchone()
            if self.connection.vendor == "sqlite":
                # AUTOINCREMENT never hands out an id again, even after its row was deleted: neither do we.
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table.name])
                row = cursor.fetchone()
                last = max(last, row[0] if row else 0)
        return list(range(last + 1, last + 1 + count))

    def _sequence(self, cursor, table: Table) -> str:
        if table.name not in self._sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table.name, table.pk_column])
            self._sequences[table.name] = cursor.fetchone()[0]
        return self._sequences[table.name]

    def _copy(self, table: Table, rows) -> None:
        quote = self.connection.ops.quote_name
        statement = f"COPY {quote(table.name)} ({', '.join(map(quote, table.columns))}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def _insert(self, table: Table, rows) -> None:
        quote = self.connection.ops.quote_name
        statement = (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, table.columns))}) "
            f"VALUES ({', '.join(['%s'] * len(table.columns))})"
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(statement, rows)


def _naive_text(value, *, zone):
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value} in generated data: the load writes aware datetimes only")
    return str(value.astimezone(zone).replace(tzinfo=None))


def _prep(value, *, field, connection):
    return None if value is None else field.get_db_prep_save(value, connection)
