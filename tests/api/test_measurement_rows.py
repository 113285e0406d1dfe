"""Measurement and detail rows written as plain rows (``characterization.measurement_rows``) are the rows and
instances ``bulk_create`` makes: column by column and type by type as stored, value by value on the
instances returned (with the same related objects cached), in as many statements, ids in the rows' order.
Runs on SQLite and, with DATABASE_URL pointing at PostgreSQL, on PostgreSQL."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evlims.characterization.measurement_rows import PER_ROW, measurements_insert, rows_insert
from evlims.characterization.models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ProteinQuantification,
)

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


def _stored(ids, model=Measurement) -> dict:
    """{id: raw row as the database driver gives it}, read without the ORM's converters."""
    meta = model._meta
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


def _protein_row(evidence) -> dict:
    return dict.fromkeys(PER_ROW) | {
        "preparation": evidence.spare_preparation,
        "kind": "protein",
        "method": "bca",
        "measured_at": timezone.now(),
        "software_version": "",
        "values": {},
    }


def test_related_objects_are_read_without_a_query(evidence, django_assert_num_queries):
    shared = {"lab": evidence.instrument.lab, "instrument": evidence.instrument, "ingestion": evidence.ingestion}
    row = _protein_row(evidence)
    (measurement,) = measurements_insert([row], shared)
    with django_assert_num_queries(0):
        assert measurement.preparation is evidence.spare_preparation
        assert measurement.lab is evidence.instrument.lab and measurement.input_sample is None
        assert measurement.instrument is evidence.instrument and measurement.ingestion is evidence.ingestion
        assert measurement.raw_file is None and measurement.recorded_by is None


DETAILS = {
    ProteinQuantification: [
        {
            "assay": "micro_bca",
            "concentration_ug_per_ml": 41.7,
            "volume_assayed_ul": None,
            "out_of_range": False,
            "standard_curve": {},
        },
        {
            "assay": "bca",
            "concentration_ug_per_ml": None,
            "volume_assayed_ul": 25,
            "out_of_range": True,
            "standard_curve": {"r2": 0.998, "points": [[0, 0.1], [2000, 1.9]], "note": "é"},
        },
    ],
    MarkerResult: [
        {
            "protein": "CD63",
            "misev_category": "1a,1b",
            "detection": "detected",
            "semi_quantitative_value": None,
            "antibody_clone": "H5C6",
            "antibody_catalogue": "",
            "antibody_dilution": "1:1000",
            "antibody_supplier": "",
            "lysate_buffer": "RIPA",
            "lysis_protocol": "",
            "lysate_reducing": False,
            "protein_loaded_ug": 10,
            "compared_with_source_lysate": None,
            "topology_assay": "",
            "topology_component": "",
        },
        {
            "protein": "APOA1",
            "misev_category": "",
            "detection": "semi_quantitative",
            "semi_quantitative_value": 2.5,
            "antibody_clone": "",
            "antibody_catalogue": "ab-1",
            "antibody_dilution": "",
            "antibody_supplier": "Abcam",
            "lysate_buffer": "",
            "lysis_protocol": "10 min on ice",
            "lysate_reducing": None,
            "protein_loaded_ug": None,
            "compared_with_source_lysate": True,
            "topology_assay": "proteinase K",
            "topology_component": "luminal",
        },
    ],
    ImagingResult: [
        {"technique": "tem", "wide_field": True, "close_up": False, "magnification": ""},
        {"technique": "cryo_em", "wide_field": False, "close_up": True, "magnification": "30,000×"},
    ],
    AnalyteQuantification: [
        {"assay": "sulfo-phospho-vanillin", "value": 12, "unit": "µg/mL"},
        {"assay": "qubit_rna", "value": 0.75, "unit": "ng/µL"},
    ],
}


@pytest.mark.parametrize("model", list(DETAILS), ids=lambda model: model.__name__)
def test_detail_rows_equal_bulk_creates_and_are_cached_on_their_measurement(evidence, model, django_assert_num_queries):
    shared = {"lab": evidence.instrument.lab}
    base = _protein_row(evidence)
    details = DETAILS[model] * 40
    measurements = measurements_insert([base] * (2 * len(details)), shared)
    fast_rows = [{"measurement": m, **d} for m, d in zip(measurements, details, strict=False)]
    orm_rows = [{"measurement": m, **d} for m, d in zip(measurements[len(details) :], details, strict=True)]
    with CaptureQueriesContext(connection) as fast_queries:
        fast = rows_insert(model, fast_rows, {}, tuple(fast_rows[0]))
    with CaptureQueriesContext(connection) as orm_queries:
        orm = model.objects.bulk_create([model(**row) for row in orm_rows])
    assert len(fast_queries.captured_queries) == len(orm_queries.captured_queries)
    fast_stored, orm_stored = _stored([d.pk for d in fast], model), _stored([d.pk for d in orm], model)
    for fast_detail, orm_detail, row in zip(fast, orm, fast_rows, strict=True):
        ignored = ("id", "measurement_id")
        typed = {k: v for k, v in _typed(fast_stored[fast_detail.pk]).items() if k not in ignored}
        assert typed == {k: v for k, v in _typed(orm_stored[orm_detail.pk]).items() if k not in ignored}
        assert fast_stored[fast_detail.pk]["measurement_id"] == row["measurement"].pk
        assert {k: v for k, v in _fields(fast_detail).items() if k not in ignored} == {
            k: v for k, v in _fields(orm_detail).items() if k not in ignored
        }
        assert fast_detail._state.fields_cache.keys() == orm_detail._state.fields_cache.keys()
        assert fast_detail.measurement is row["measurement"]
        # The measurement caches its detail, as the constructor makes it do (measurement.protein …).
        related_name = model._meta.get_field("measurement").remote_field.related_name
        with django_assert_num_queries(0):
            assert getattr(row["measurement"], related_name) is fast_detail
    assert {d.pk for d in model.objects.filter(pk__in=[d.pk for d in fast])} == {d.pk for d in fast}


def test_postgresql_sends_an_array_only_for_the_columns_that_vary(evidence, ours):
    """On PostgreSQL the rows go through UNNEST: one array for each column of ``PER_ROW``, one value for each column
    the rows share (not an array of that value repeated for every row)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes the rows as a VALUES list")
    shared = {"lab": evidence.instrument.lab, "instrument": evidence.instrument, "instrument_name": "NTA"}
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        measurements_insert(_rows(evidence, ours.sample, 7), shared)
    ((sql, params),) = sent
    columns = [field for field in Measurement._meta.concrete_fields if not field.primary_key]
    arrays = [value for value in params if isinstance(value, list)]
    assert "UNNEST(" in sql and len(params) == len(columns)
    assert len(arrays) == len(PER_ROW) and all(len(array) == 7 for array in arrays)


def test_rows_with_no_varying_column_go_as_a_values_list(evidence):
    """Every column shared (nothing per row): no UNNEST of zero arrays, the rows go in as a VALUES list."""
    shared = {
        "lab": evidence.instrument.lab,
        "preparation": evidence.spare_preparation,
        "kind": "protein",
        "method": "bca",
        "measured_at": timezone.now(),
    }
    inserted = rows_insert(Measurement, [{}, {}, {}], shared, ())
    stored = _stored([m.pk for m in inserted])
    assert len(stored) == 3 and len({m.pk for m in inserted}) == 3
    assert {(row["kind"], row["method"], row["lab_id"]) for row in stored.values()} == {
        ("protein", "bca", evidence.instrument.lab.pk)
    }
