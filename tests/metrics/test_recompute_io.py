"""The recompute's reads and writes (evlims/metrics/services/_recompute_io.py): ``fetch`` gives what ``values_list``
gives, value for value and type for type, however a JSON or decimal column is written; new rows go in by an INSERT
that leaves a conflicting row alone, and a row another recompute stored in the meantime is updated as the upsert
always did."""

import pandas as pd
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evlims.characterization.models import Measurement
from evlims.demo import scale
from evlims.isolation.models import EVPreparation
from evlims.metrics import services
from evlims.metrics.models import PreparationMetrics
from evlims.metrics.services import _recompute_io

pytestmark = pytest.mark.django_db
SIZE = scale.ScaleSize(preparations=30, samples=20, measurements=300, runs=4, histogram_bins=4, seed=7)


@pytest.fixture
def lab_ids():
    (summary,) = scale.generate(SIZE)
    return list(EVPreparation.objects.filter(lab=summary.lab).order_by("pk").values_list("pk", flat=True))


def same_rows(queryset):
    expected = [tuple(row) for row in queryset]
    got = _recompute_io.fetch(queryset)
    assert [tuple(row) for row in got] == expected
    assert [[type(value) for value in row] for row in got] == [[type(value) for value in row] for row in expected]
    return got


def test_fetch_gives_the_values_values_list_gives(lab_ids):
    preparations = EVPreparation.objects.filter(pk__in=lab_ids).values_list(
        "pk", "input_volume_ul", "final_volume_ul", "input_aliquot__sample__volume_ml", "functional_studies"
    )
    assert len(same_rows(preparations)) == len(lab_ids)
    results = Measurement.objects.filter(preparation_id__in=lab_ids).values_list("pk", "values", "measured_at")
    assert len(same_rows(results)) > len(lab_ids)
    assert _recompute_io.fetch(Measurement.objects.filter(_recompute_io.AmongIds("preparation_id", []))) == []


def test_fetch_reads_json_and_decimals_however_they_were_written(lab_ids):
    """JSON texts a scanner alone would misread (blanks around them, a bare string, a number, nesting) and decimals
    stored with more places than the field keeps (Django rounds them as it reads), repeated and missing."""
    first, second, third, fourth = Measurement.objects.filter(preparation_id__in=lab_ids).values_list("pk", flat=True)[
        :4
    ]
    texts = {first: ' {"particles_per_ml": 1.5e9} ', second: '"text"', third: "12.5", fourth: '{"a": [1, {"b": null}]}'}
    quote = connection.ops.quote_name
    placeholder = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        for pk, text in texts.items():
            cursor.execute(
                f"UPDATE {Measurement._meta.db_table} SET {quote('values')} = {placeholder} WHERE id = %s", [text, pk]
            )
        volumes = ", ".join(str(pk) for pk in lab_ids[:3])
        cursor.execute(f"UPDATE {EVPreparation._meta.db_table} SET input_volume_ul = 250.06 WHERE id IN ({volumes})")
    EVPreparation.objects.filter(pk__in=lab_ids[3:5]).update(final_volume_ul=None)

    same_rows(Measurement.objects.filter(pk__in=texts).values_list("pk", "values"))
    rows = same_rows(
        EVPreparation.objects.filter(pk__in=lab_ids).order_by("pk").values_list("input_volume_ul", "final_volume_ul")
    )
    assert str(rows[0][0]) == "250.1" and rows[3][1] is None


def test_new_rows_are_inserted_and_a_row_stored_meanwhile_is_updated(lab_ids, monkeypatch):
    services.recompute(lab_ids)
    stored = dict(PreparationMetrics.objects.values_list("preparation_id", "particles_per_ug"))
    computed = _recompute_io.rows_of(*services.compute_for(lab_ids))
    PreparationMetrics.objects.filter(preparation_id__in=lab_ids[1:]).delete()
    PreparationMetrics.objects.filter(preparation_id=lab_ids[0]).update(particles_per_ug=None, provenance={})
    # The stored rows were read before another recompute stored the first preparation's row.
    monkeypatch.setattr(_recompute_io, "stored_rows", lambda ids: {})

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert _recompute_io.write(computed, timezone.now()) == len(lab_ids)

    inserts = [query["sql"] for query in queries.captured_queries if "INSERT INTO" in query["sql"]]
    assert len(inserts) == 2 and "DO NOTHING" in inserts[0] and "DO UPDATE" in inserts[1]
    assert dict(PreparationMetrics.objects.values_list("preparation_id", "particles_per_ug")) == stored


def test_a_recompute_into_an_empty_table_inserts_without_an_upsert(lab_ids):
    with CaptureQueriesContext(connection) as queries:
        services.recompute(lab_ids)

    inserts = [query["sql"] for query in queries.captured_queries if "INSERT INTO" in query["sql"]]
    assert len(inserts) == 1 and "DO NOTHING" in inserts[0]
    assert PreparationMetrics.objects.filter(preparation_id__in=lab_ids).count() == len(lab_ids)


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_provenance_texts_written_over_columns_are_those_gathered_figure_by_figure(vendor):
    """Preparations list their figures in different orders, a figure has several ids in no order of their own, and a
    frame whose rows of one preparation or one figure are apart goes the gathered way, with the same texts."""
    rows = [
        (1, "particles_per_ug", 30),
        (1, "particles_per_ug", 10),
        (1, "size_mode_nm", 30),
        (2, "size_mode_nm", 40),
        (2, "particles_per_ug", 40),
        (2, "particles_per_ug", 41),
        (2, "recovery_pct", 7),
        (3, "particle_yield_per_ml_input", 5),
    ]
    together = pd.DataFrame(rows, columns=["preparation", "metric", "measurement_id"])
    apart = together.iloc[[0, 2, 3, 1, 4, 7, 5, 6]].reset_index(drop=True)
    split = pd.DataFrame(
        [*rows, (4, "size_mode_nm", 1), (4, "recovery_pct", 2), (4, "size_mode_nm", 3)], columns=together.columns
    )
    for frame in (together, apart, split):
        gathered = {}
        for prep, metric, measurement in frame.itertuples(index=False):
            gathered.setdefault(prep, {}).setdefault(metric, []).append(measurement)
        expected = {prep: _recompute_io.provenance_text(figures, vendor) for prep, figures in gathered.items()}
        assert _recompute_io.provenance_texts(frame, vendor) == expected
    assert _recompute_io.provenance_texts(together, vendor)[2] == (
        '{"size_mode_nm": [40], "particles_per_ug": [40, 41], "recovery_pct": [7]}'
        if vendor == "sqlite"
        else '{"recovery_pct": [7], "size_mode_nm": [40], "particles_per_ug": [40, 41]}'
    )
    assert _recompute_io.provenance_texts(together.iloc[:0], vendor) == {}
