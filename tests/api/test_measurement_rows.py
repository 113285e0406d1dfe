"""Measurement rows written as plain rows (``characterization.measurement_rows``) are the rows and instances
``Measurement.objects.bulk_create`` makes: column by column and type by type as stored, value by value on the
instances returned (with the same related objects cached), in as many statements, ids in the rows' order.
Runs on SQLite and, with DATABASE_URL pointing at PostgreSQL, on PostgreSQL."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evlims.characterization.measurement_rows import PER_ROW, measurements_insert
from evlims.characterization.models import Measurement

pytestmark = pytest.mark.django_db
VARYING = ("id", "created_at", "updated_at")


def _rows(evidence, sample, count):
    prep, spare = evidence.preparation, evidence.spare_preparation
    rows = []
    for i in range(count):
        rows.append(
            {
                "preparation": None if i % 5 == 4 else (prep if i % 2 else spare),
                "input_sample": sample if i % 5 == 4 else None,
                "kind": ("protein", "marker", "particle", "imaging", "lipid")[i % 5],
                "method": f"method-{i % 3}",
                "measured_at": datetime(2026, 1, 1 + i % 28, 12, i % 60, 7, 123456, tzinfo=UTC)
                if i % 3
                else timezone.now(),
                "software_version": "" if i % 4 else "NTA 3.4 — build ü",
                "values": [
                    {"protein_ug_per_ml": 10.0 + i},
                    {"out_of_range": True},
                    {"protein": "CD63", "detected": None, "n": i},
                    {"wide_field": "ok", "close_up": "cup-shaped", "nested": {"a": [1, 2.5, "é"]}},
                    {},
                ][i % 5],
            }
        )
    return rows


def _stored(ids) -> dict:
    """{id: raw row as the database driver gives it}, read without the ORM's converters."""
    meta = Measurement._meta
    quote = connection.ops.quote_name
    columns = [field.column for field in meta.concrete_fields]
    sql = (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ids))
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _typed(row: dict) -> dict:
    return {column: (type(value), value) for column, value in row.items() if column not in VARYING}


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.parametrize("shared_kind", ["instrument", "person"])
@pytest.mark.parametrize("count", [7, 130])
def test_rows_and_instances_equal_bulk_creates(evidence, ours, staff, shared_kind, count):
    if shared_kind == "instrument":
        shared = {
            "lab": evidence.instrument.lab,
            "instrument": evidence.instrument,
            "instrument_name": evidence.instrument.name,
            "raw_file": evidence.raw_file,
            "ingestion": evidence.ingestion,
            "recorded_by": None,
        }
    else:
        shared = {
            "lab": evidence.instrument.lab,
            "instrument": None,
            "instrument_name": "",
            "raw_file": None,
            "ingestion": None,
            "recorded_by": staff,
        }
    rows = _rows(evidence, ours.sample, count)
    before = timezone.now()
    with CaptureQueriesContext(connection) as fast_queries:
        fast = measurements_insert(rows, shared)
    after = timezone.now()
    with CaptureQueriesContext(connection) as orm_queries:
        orm = Measurement.objects.bulk_create([Measurement(**shared, **row) for row in rows])
    assert len(fast_queries.captured_queries) == len(orm_queries.captured_queries)

    fast_stored, orm_stored = _stored([m.pk for m in fast]), _stored([m.pk for m in orm])
    assert len(fast_stored) == len(orm_stored) == count
    for fast_row, orm_row, row in zip(fast, orm, rows, strict=True):
        stored = fast_stored[fast_row.pk]
        assert _typed(stored) == _typed(orm_stored[orm_row.pk])  # column by column, type by type
        for column in ("created_at", "updated_at"):
            assert type(stored[column]) is type(orm_stored[orm_row.pk][column])
        # The instance returned is the one bulk_create returns, its id that of the row holding its values.
        assert {k: v for k, v in _fields(fast_row).items() if k not in VARYING} == {
            k: v for k, v in _fields(orm_row).items() if k not in VARYING
        }
        assert fast_row.values == row["values"] and fast_row.kind == row["kind"]
        assert before <= fast_row.created_at == fast_row.updated_at <= after
        assert (fast_row._state.adding, fast_row._state.db) == (orm_row._state.adding, orm_row._state.db)
        assert fast_row._state.fields_cache.keys() == orm_row._state.fields_cache.keys()
        for name, related in fast_row._state.fields_cache.items():
            assert related is orm_row._state.fields_cache[name]
    # Read back through the ORM, the rows are equal too (times aside).
    by_id = {m.pk: m for m in Measurement.all_versions.filter(pk__in=[m.pk for m in fast])}
    for instance in fast:
        stored = by_id[instance.pk]
        assert _fields(stored) == _fields(instance)


def test_related_objects_are_read_without_a_query(evidence, django_assert_num_queries):
    shared = {"lab": evidence.instrument.lab, "instrument": evidence.instrument, "ingestion": evidence.ingestion}
    row = dict.fromkeys(PER_ROW) | {
        "preparation": evidence.spare_preparation,
        "kind": "protein",
        "method": "bca",
        "measured_at": timezone.now(),
        "software_version": "",
        "values": {},
    }
    (measurement,) = measurements_insert([row], shared)
    with django_assert_num_queries(0):
        assert measurement.preparation is evidence.spare_preparation
        assert measurement.lab is evidence.instrument.lab and measurement.input_sample is None
        assert measurement.instrument is evidence.instrument and measurement.ingestion is evidence.ingestion
        assert measurement.raw_file is None and measurement.recorded_by is None
