"""Detail rows of a result post written as plain tuples through one prepared ``executemany``.

``bulk_create`` builds a model instance per row and prepares every value through its field (about 60 % of a
500-result post's CPU went there). The detail tables of protein, marker, imaging and analyte results have no
defaults the database or ``pre_save`` fills and no children that need their ids, so their rows are built as
tuples in one pass; the only values a field must prepare (JSON, floats, booleans) go through that field's own
``get_db_prep_save``, so the stored values are those the ORM writes (``tests/api/test_plain_detail_rows.py``
holds every column equal to the ORM path's).
"""

from django.db import connections, router

PREPARED_TYPES = {"JSONField", "FloatField", "BooleanField"}


def detail_columns(model) -> tuple[str, ...]:
    """The columns of a detail table but its own id, in the model's field order (``measurement_id`` first)."""
    return tuple(field.attname for field in model._meta.concrete_fields if not field.primary_key)


def plain_insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT ``rows`` (values of ``columns``, attribute names such as ``measurement_id``) into ``model``'s table."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in columns]  # attribute names are found too
    # Only the values a field changes on their way to the database are prepared; the rest (strings, ids) as given.
    prepared = [(index, field) for index, field in enumerate(fields) if field.get_internal_type() in PREPARED_TYPES]
    if prepared:
        rows = [list(row) for row in rows]
        for row in rows:
            for index, field in prepared:
                row[index] = field.get_db_prep_save(row[index], connection)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
