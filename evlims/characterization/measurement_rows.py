"""The Measurement rows of a recording written as plain rows: ``Measurement.objects.bulk_create`` without its
per-value work.

``bulk_create`` prepares every value of every model instance through Django's insert compiler (about twenty
columns a row, each field's ``pre_save`` and ``get_db_prep_save`` behind several layers of calls) and checks every
cached relation of every row. Most columns of one recording hold one value for all its rows (the lab, instrument,
ingestion, raw file, recording user, status), so here each of those is prepared once, by its own field's
``get_db_prep_save``, and only the columns that differ from row to row (subject, kind, method, time, software
version, headline values) are prepared per row, by the same method. The rows go in as ``bulk_create`` sends them:
one multi-row ``INSERT … RETURNING`` per batch of the size the database's ``bulk_batch_size`` allows (so as many
statements), the ids read back in order. The instances returned carry what ``bulk_create``'s did: every field,
the id, the related objects given (cached as the constructor caches them), ``_state`` saved.

``created_at`` and ``updated_at`` are one time per call (``bulk_create`` took one per row, microseconds apart).
``tests/api/test_measurement_rows.py`` holds the stored rows equal to ``bulk_create``'s, column by column and type by
type, on SQLite and PostgreSQL.
"""

from functools import cache

from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone

from .models import Measurement

# Columns prepared row by row; every other concrete column holds one value for the whole recording.
PER_ROW = ("preparation", "input_sample", "kind", "method", "measured_at", "software_version", "values")
# Related objects a recording gives, cached on each instance as Measurement(**kwargs) caches them.
RELATIONS = ("lab", "preparation", "input_sample", "instrument", "raw_file", "ingestion", "recorded_by")


@cache
def _layout():
    """(fields in column order without the id, per-row field positions, the INSERT's head, one row's placeholders)."""
    meta = Measurement._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    per_row = [fields.index(meta.get_field(name)) for name in PER_ROW]
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES "
    return fields, per_row, head, "(" + ", ".join(["%s"] * len(fields)) + ")"


def measurements_insert(rows: list[dict], shared: dict) -> list[Measurement]:
    """Insert Measurement rows and return them as saved instances.

    ``rows``: per row, the related objects or values of ``PER_ROW`` (by field name, a related object as the
    object or None). ``shared``: the recording's lab, instrument, instrument_name, raw_file, ingestion and
    recorded_by. Every other field takes its default."""
    fields, per_row, head, one_row = _layout()
    now = timezone.now()
    template = Measurement(**shared, created_at=now, updated_at=now)  # the defaults and shared values, once
    template_values = {field.attname: getattr(template, field.attname) for field in fields}
    prepared_template = [field.get_db_prep_save(template_values[field.attname], connection) for field in fields]
    per_row_fields = [(name, index, fields[index]) for name, index in zip(PER_ROW, per_row, strict=True)]
    params, row_values = [], []
    for row in rows:
        values = {}
        prepared = prepared_template.copy()
        for name, index, field in per_row_fields:
            value = row.get(name)
            if field.is_relation and value is not None:
                value = value.pk
            values[field.attname] = value
            prepared[index] = field.get_db_prep_save(value, connection)
        row_values.append(values)
        params.append(prepared)
    ids = _insert(params, fields, head, one_row)
    return _instances(rows, shared, template_values, row_values, ids)


def _insert(params, fields, head, one_row) -> list[int]:
    ops, features = connection.ops, connection.features
    size = max(ops.bulk_batch_size(fields, params), 1)
    returning = f" RETURNING {ops.quote_name(Measurement._meta.pk.column)}"
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(params), size):
            batch = params[start : start + size]
            sql = head + ", ".join([one_row] * len(batch))
            flat = [value for row in batch for value in row]
            if features.can_return_rows_from_bulk_insert:
                cursor.execute(sql + returning, flat)
                ids += [row[0] for row in cursor.fetchall()]
            else:  # pragma: no cover - SQLite before 3.35: one row at a time, its id from lastrowid
                for row in batch:
                    cursor.execute(head + one_row, row)
                    ids.append(ops.last_insert_id(cursor, Measurement._meta.db_table, Measurement._meta.pk.column))
    return ids


def _instances(rows, shared, template_values, row_values, ids) -> list[Measurement]:
    alias = connection.alias
    pk = Measurement._meta.pk.attname
    shared_cache = {name: shared.get(name) for name in RELATIONS if name in shared}
    measurements = []
    for row, values, pk_value in zip(rows, row_values, ids, strict=True):
        measurement = Measurement.__new__(Measurement)
        state = ModelState()
        state.adding, state.db = False, alias
        state.fields_cache = {**shared_cache, **{name: row.get(name) for name in ("preparation", "input_sample")}}
        measurement.__dict__.update(template_values)
        measurement.__dict__.update(values)
        measurement.__dict__[pk] = pk_value
        measurement._state = state
        measurements.append(measurement)
    return measurements
