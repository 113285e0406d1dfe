"""Rows read and written by hand-written statements, equal to what the ORM reads and writes.

For the few statements on the path of every instrument post (the key and the preparations read, the ingestion and
metric job rows written), where building the ORM's query costs several times what running it does: each statement
is written once. A row read goes through the converters the ORM applies to its columns (SQLite's dates, JSON)
before ``Model.from_db``, as a queryset's iterator does; a row written has each value prepared by its own field.
"""

from functools import cache

from django.db import connection


def model_columns(model, alias: str) -> tuple[list[str], tuple[list[str], list]]:
    """(the model's concrete columns as ``alias."column"``, its layout for ``instance_from_row``: the attribute
    names and, per column, the expression and the converters the ORM applies to it)."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    cols = [field.get_col(alias) for field in fields]
    converters = [connection.ops.get_db_converters(col) + col.get_db_converters(connection) for col in cols]
    columns = [f"{alias}.{quote(field.column)}" for field in fields]
    return columns, ([field.attname for field in fields], list(zip(cols, converters, strict=True)))


def instance_from_row(model, layout, values):
    """The instance of ``model`` whose columns ``values`` holds, in the order of ``model_columns``."""
    names, columns = layout
    values = list(values)
    for index, (col, converters) in enumerate(columns):
        for converter in converters:
            values[index] = converter(values[index], col, connection)
    return model.from_db(connection.alias, names, values)


@cache
def _insert_statement(model) -> tuple[str, list]:
    """(INSERT of one row of ``model`` with every concrete column but the id, returning the id where the database
    can; those columns' fields)."""
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    insert = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        insert += f" RETURNING {quote(meta.pk.column)}"
    return insert, fields


def row_insert(instance):
    """``instance.save()`` of a new row, in one prepared statement: each value prepared by its own field
    (``pre_save`` stamps the times, ``get_db_prep_save`` the rest) as the ORM does, the id set, the instance marked
    saved. For models no signal listens to, on paths where building the ORM's insert costs more than running it."""
    insert, fields = _insert_statement(type(instance))
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(insert, values)
        instance.pk = cursor.fetchone()[0] if connection.features.can_return_columns_from_insert else cursor.lastrowid
    instance._state.adding, instance._state.db = False, connection.alias
    return instance
