"""Migration 0024: reads of the current results of some preparations (or input samples) seek them through an index
of status and preparation (or input sample), where SQLite without planner statistics walked every result through
the index on status alone (docs/performance.md, "Full metric recompute, second pass")."""

import pytest
from django.db import connection

from evlims.characterization.models import Measurement

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plan SQLite chooses without statistics")
@pytest.mark.parametrize(
    ("lookup", "index"),
    [("preparation_id__in", "evlims_meas_status_prep_idx"), ("input_sample_id__in", "evlims_meas_status_input_idx")],
)
def test_current_results_of_a_few_ids_are_sought_by_status_and_id(lookup, index):
    queryset = Measurement.objects.filter(**{lookup: [1, 2, 3]}, kind__in=["particle", "protein"]).values_list("pk")
    assert index in plan(queryset)
