"""The rows of a recording written as plain rows: ``bulk_create`` without its per-value work, for the Measurement
rows and the protein, marker, imaging and analyte detail rows.

``bulk_create`` prepares every value of every model instance through Django's insert compiler (about twenty
columns a Measurement row, each field's ``pre_save`` and ``get_db_prep_save`` behind several layers of calls) and
checks every cached relation of every row. Most columns of one recording hold one value for all its rows (the lab,
instrument, ingestion, raw file, recording user, status), so here each of those is prepared once, by its own
field's ``get_db_prep_save``, and only the columns that differ from row to row are prepared per row, by the same
method. The rows go in as ``bulk_create`` sends them: one ``INSERT … RETURNING`` per batch of the size the
database's ``bulk_batch_size`` allows (so as many statements; on PostgreSQL through ``UNNEST`` as Django's compiler
sends it, but one array only for each column that varies, the shared columns as one value each), the ids read back
in order. The instances returned carry what ``bulk_create``'s
did: every field, the id, the related objects given (cached as the constructor caches them, a detail on its
measurement too), ``_state`` saved.

``created_at`` and ``updated_at`` are one time per call (``bulk_create`` took one per row, microseconds apart).
``tests/api/test_measurement_rows.py`` holds the stored rows equal to ``bulk_create``'s, column by column and type
by type, and the statements as many, on SQLite and PostgreSQL.
"""

from functools import cache

from django.db import connection, connections
from django.db.models.base import ModelState
from django.utils import timezone

from .models import Measurement

# Columns of a Measurement prepared row by row; every other concrete column holds one value for the recording.
PER_ROW = ("preparation", "input_sample", "kind", "method", "measured_at", "software_version", "values")


def measurements_insert(rows: list[dict], shared: dict) -> list[Measurement]:
    """Insert Measurement rows and return them as saved instances.

    ``rows``: per row, the related objects or values of ``PER_ROW`` (by field name, a related object as the
    object or None). ``shared``: the recording's lab, instrument, instrument_name, raw_file, ingestion and
    recorded_by. Every other field takes its default."""
    return rows_insert(Measurement, rows, shared, PER_ROW)


@cache
def _layout(model, per_row: tuple):
    """(fields in column order without the id, the per-row fields with their places, the INSERT's head, one row's
    placeholders, the forward relations by name)."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    varying = [(name, fields.index(meta.get_field(name)), meta.get_field(name)) for name in per_row]
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
    relations = {field.name: field for field in fields if field.is_relation}
    places = [index for _, index, _ in varying]
    return fields, varying, head, "(" + ", ".join(["%s"] * len(fields)) + ")", relations, _unnest(fields, places)


def _unnest(fields, places: list[int]) -> str | None:
    """On PostgreSQL, ``SELECT %s::type, …, u.c3, … FROM UNNEST(%s::type[], …) AS u(c3, …)``: the columns that
    vary from row to row as one array each, as Django's insert compiler sends every column for more than one row
    when every field allows it (a plan of its own size whatever the rows), and the columns the rows share as one
    value each, not as an array of the same value repeated (each element of which the driver would write out)."""
    if (
        connection.vendor != "postgresql"
        or not places
        or any(
            hasattr(field, "get_placeholder")
            or (field.target_field if field.is_relation else field).get_internal_type() not in connection.data_types
            for field in fields
        )
    ):
        return None
    types = [field.db_type(connection).split("(")[0] for field in fields]
    columns = ", ".join(f"u.c{index}" if index in places else f"(%s)::{types[index]}" for index in range(len(fields)))
    arrays = ", ".join(f"(%s)::{types[index]}[]" for index in places)
    return f"SELECT {columns} FROM UNNEST({arrays}) AS u({', '.join(f'c{index}' for index in places)})"


def rows_insert(model, rows: list[dict], shared: dict, per_row: tuple) -> list:
    """``model.objects.bulk_create([model(**shared, **row) for row in rows])`` as plain rows (module docstring).

    Each row gives exactly the fields named in ``per_row``; ``shared`` the fields that hold one value for all."""
    fields, varying, head, one_row, relations, unnest = _layout(model, per_row)
    # The connection itself, not the ``django.db.connection`` proxy: each of the thousands of values of a bulk post
    # would otherwise look the connection up again (a thread- and task-local read) in every ``connection.ops``.
    db = connections[connection.alias]
    now = timezone.now()
    stamps = {f.name: now for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    template = model(**shared, **stamps)  # the defaults and shared values, once
    template_values = {field.attname: getattr(template, field.attname) for field in fields}
    prepared_template = [field.get_db_prep_save(template_values[field.attname], db) for field in fields]
    params, row_values = [], []
    for row in rows:
        values = {}
        prepared = prepared_template.copy()
        for name, index, field in varying:
            value = row[name]
            if field.is_relation and value is not None:
                value = value.pk
            values[field.attname] = value
            prepared[index] = field.get_db_prep_save(value, db)
        row_values.append(values)
        params.append(prepared)
    ids = _insert(model, params, fields, head, one_row, unnest, [index for _, index, _ in varying])
    return _instances(model, rows, shared, template_values, row_values, ids, relations)


def _insert(model, params, fields, head, one_row, unnest, places) -> list[int]:
    ops, features, pk = connection.ops, connection.features, model._meta.pk
    size = max(ops.bulk_batch_size(fields, params), 1)
    returning = f" RETURNING {ops.quote_name(pk.column)}"
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(params), size):
            batch = params[start : start + size]
            if unnest and len(batch) > 1:  # the shared columns' values (the first row's), then the varying arrays
                shared = [value for index, value in enumerate(batch[0]) if index not in places]
                sql, flat = head + unnest, shared + [[row[index] for row in batch] for index in places]
            else:
                sql, flat = head + "VALUES " + ", ".join([one_row] * len(batch)), [v for row in batch for v in row]
            if features.can_return_rows_from_bulk_insert:
                cursor.execute(sql + returning, flat)
                ids += [row[0] for row in cursor.fetchall()]
            else:  # pragma: no cover - SQLite before 3.35: one row at a time, its id from lastrowid
                for row in batch:
                    cursor.execute(head + "VALUES " + one_row, row)
                    ids.append(ops.last_insert_id(cursor, model._meta.db_table, pk.column))
    return ids


def _instances(model, rows, shared, template_values, row_values, ids, relations) -> list:
    """The saved instances, with the related objects given cached as ``model(**kwargs)`` caches them (a one-to-one
    field caches the instance on its target too)."""
    alias, pk = connection.alias, model._meta.pk.attname
    shared_cache = {name: value for name, value in shared.items() if name in relations}
    per_row_relations = [name for name in rows[0] if name in relations] if rows else []
    one_to_one = [(name, relations[name].remote_field) for name in per_row_relations if relations[name].one_to_one]
    instances = []
    for row, values, pk_value in zip(rows, row_values, ids, strict=True):
        instance = model.__new__(model)
        state = ModelState()
        state.adding, state.db = False, alias
        state.fields_cache = shared_cache | {name: row[name] for name in per_row_relations}
        instance.__dict__.update(template_values)
        instance.__dict__.update(values)
        instance.__dict__[pk] = pk_value
        instance._state = state
        for name, remote in one_to_one:
            if row[name] is not None:
                remote.set_cached_value(row[name], instance)
        instances.append(instance)
    return instances
