"""The recompute stores exactly what the implementation before docs/performance.md's "Full metric recompute, second
pass" stored (tests/metrics/legacy_recompute.py, kept verbatim): every figure value by value (exact float equality,
nulls where the old code stored nulls), the purity class, the lab, and the provenance (which measurement ids fed
each figure, in the same order), for a generated lab with hand-made oddities on top; first into an empty table, then
over rows it stored itself after the evidence changed (changed rows rewritten, unchanged ones only stamped)."""

import gc
import json
import math

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from evlims.characterization.models import Measurement, SizeBin
from evlims.demo import scale
from evlims.isolation.models import EVPreparation
from evlims.metrics import figures, services
from evlims.metrics.models import PreparationMetrics
from evlims.metrics.services import _recompute_io
from evlims.samples.models import Sample
from tests.metrics import legacy_recompute

pytestmark = pytest.mark.django_db
SIZE = scale.ScaleSize(preparations=90, samples=60, measurements=900, runs=12, histogram_bins=6, seed=5)


def stored(ids) -> dict:
    """Every stored column but the row id and the stamp, per preparation, with each figure also as the page shows it
    with its unit (so a change of scale or unit would show here too)."""
    rows = {}
    for row in PreparationMetrics.objects.filter(preparation_id__in=ids).values():
        row.pop("id"), row.pop("computed_at")
        shown = {
            figure.key: f"{figure.shown(row[figure.key])} {figure.unit}"
            for figure in figures.NUMBERS
            if row[figure.key] is not None
        }
        rows[row.pop("preparation_id")] = (row, shown)
    return rows


def assert_identical(new: dict, old: dict):
    assert new.keys() == old.keys()
    for prep, (row, shown) in old.items():
        new_row, new_shown = new[prep]
        assert new_row.keys() == row.keys()
        for column, value in row.items():
            other = new_row[column]
            both_nan = isinstance(value, float) and isinstance(other, float) and math.isnan(value) and math.isnan(other)
            assert both_nan or (type(other) is type(value) and other == value), (prep, column, other, value)
        assert new_shown == shown, prep
        # The provenance lists the same measurements for each figure, in the same order, under the same keys.
        assert list(new_row["provenance"].items()) == list(row["provenance"].items()), prep


def oddities(lab):
    """Values the generator never writes but a lab's records may hold: text, booleans, nulls and integers where
    numbers are read, a replicate, a voided result, an empty size distribution and a conditioned medium."""
    particles = list(Measurement.objects.filter(preparation__lab=lab, kind="particle").order_by("pk"))
    proteins = list(Measurement.objects.filter(preparation__lab=lab, kind="protein").order_by("pk"))
    odd = {
        particles[0]: {"particles_per_ml": "3.1e9", "size_mode_nm": 101.5},
        particles[1]: {"particles_per_ml": True, "d50_nm": None},
        particles[2]: {"particles_per_ml": 2500000000, "size_mode_nm": 0, "d50_nm": 1e-300},
        particles[3]: {"particles_per_ml": 0.1, "size_mode_nm": [1, 2], "d50_nm": {"nm": 3}},
        proteins[0]: {"protein_ug_per_ml": False},
        proteins[1]: {"protein_ug_per_ml": 0},
        proteins[2]: {"protein_ug_per_ml": 12},
        proteins[3]: {},
    }
    for measurement, values in odd.items():
        Measurement.objects.filter(pk=measurement.pk).update(values=values)
    # A replicate of a particle count on the preparation of another one, and a voided result.
    replicate = particles[4]
    Measurement.objects.filter(pk=particles[5].pk).update(preparation=replicate.preparation_id)
    Measurement.objects.filter(pk=particles[6].pk).update(status=Measurement.Status.VOIDED)
    # A size distribution that counts no particles.
    SizeBin.objects.filter(analysis__measurement=particles[7]).update(concentration_per_ml=0)
    # Conditioned medium with a cell count, and an input sample counted the same way as its preparation.
    sample = particles[8].preparation.input_aliquot.sample
    Sample.objects.filter(pk=sample.pk).update(biofluid="cell_culture_medium", cell_count_at_harvest=2_000_000)
    Measurement.objects.filter(pk=particles[9].pk).update(preparation=None, input_sample=sample)
    EVPreparation.objects.filter(pk=particles[10].preparation_id).update(final_volume_ul=None)


@pytest.fixture
def lab_ids():
    (summary,) = scale.generate(SIZE)
    oddities(summary.lab)
    return list(EVPreparation.objects.filter(lab=summary.lab).order_by("pk").values_list("pk", flat=True))


def test_the_figures_stored_are_those_the_previous_implementation_stored(lab_ids):
    legacy_recompute.recompute(lab_ids)
    old = stored(lab_ids)
    assert any(row["particles_per_ug"] is not None for row, _ in old.values())
    assert any(row["particle_yield_per_million_cells"] is not None for row, _ in old.values())
    assert any(row["recovery_pct"] is not None for row, _ in old.values())
    assert any(row["small_ev_fraction"] is None for row, _ in old.values())
    assert {row["purity_class"] for row, _ in old.values()} >= {None, "not_interpretable"}
    PreparationMetrics.objects.all().delete()

    assert services.recompute(lab_ids) == len(lab_ids)

    assert_identical(stored(lab_ids), old)


def test_after_a_change_every_row_is_stamped_and_the_changed_ones_rewritten_as_before(lab_ids):
    services.recompute(lab_ids)
    first = dict(PreparationMetrics.objects.values_list("preparation_id", "computed_at"))
    # Evidence changes after the figures were stored: values rescaled, a result voided, a volume corrected.
    particles = Measurement.objects.filter(preparation_id__in=lab_ids[:30], kind="particle")
    changed = list(particles.values_list("pk", flat=True)[:6])
    for measurement in Measurement.objects.filter(pk__in=changed):
        values = dict(measurement.values, particles_per_ml=(measurement.values.get("particles_per_ml") or 1e9) * 3)
        Measurement.objects.filter(pk=measurement.pk).update(values=values)
    Measurement.objects.filter(pk=particles.exclude(pk__in=changed).values_list("pk", flat=True)[0]).update(
        status=Measurement.Status.VOIDED
    )
    EVPreparation.objects.filter(pk=lab_ids[40]).update(final_volume_ul=F("final_volume_ul") * 2)

    services.recompute(lab_ids)

    new = stored(lab_ids)
    restamped = dict(PreparationMetrics.objects.values_list("preparation_id", "computed_at"))
    assert all(restamped[prep] > first[prep] for prep in lab_ids)
    PreparationMetrics.objects.all().delete()
    legacy_recompute.recompute(lab_ids)
    assert_identical(new, stored(lab_ids))
    assert new != stored(lab_ids[:0]) and len(new) == len(lab_ids)


def test_an_incremental_recompute_of_one_preparation_stores_what_the_previous_one_did(lab_ids):
    services.recompute(lab_ids)
    one = lab_ids[len(lab_ids) // 2]
    Measurement.objects.filter(preparation_id=one, kind="protein").update(values={"protein_ug_per_ml": 7.25})

    assert services.recompute([one]) == 1

    new = stored([one])
    PreparationMetrics.objects.filter(preparation_id=one).delete()
    legacy_recompute.recompute([one])
    assert_identical(new, stored([one]))


def test_provenance_is_written_as_json_dumps_writes_it_in_the_order_the_database_gives_it_back():
    by_figure = {"particles_per_ug": [3, 1], "recovery_pct": [2], "size_mode_nm": [7]}
    by_figure["particle_yield_per_ml_input"] = []
    assert _recompute_io.provenance_text(by_figure, "sqlite") == json.dumps(by_figure)
    assert _recompute_io.provenance_text({}, "sqlite") == json.dumps({})
    reordered = {key: by_figure[key] for key in ("recovery_pct", "size_mode_nm", "particles_per_ug")}
    reordered["particle_yield_per_ml_input"] = []
    assert _recompute_io.provenance_text(by_figure, "postgresql") == json.dumps(reordered)


def test_a_recompute_that_changes_nothing_writes_no_row_and_stamps_them_all(lab_ids):
    services.recompute(lab_ids)
    before = dict(PreparationMetrics.objects.values_list("preparation_id", "computed_at"))

    with CaptureQueriesContext(connection) as queries:
        services.recompute(lab_ids)

    statements = [query["sql"].lstrip().split()[0].upper() for query in queries.captured_queries]
    assert "INSERT" not in statements and statements.count("UPDATE") == 1
    after = dict(PreparationMetrics.objects.values_list("preparation_id", "computed_at"))
    assert all(after[prep] > before[prep] for prep in lab_ids)


def test_the_cyclic_collector_is_paused_while_a_chunk_is_computed_and_restored_after(lab_ids, monkeypatch):
    seen = []
    original = services.compute_for

    def compute_for(ids):
        seen.append(gc.isenabled())
        return original(ids)

    monkeypatch.setattr(services, "compute_for", compute_for)
    assert gc.isenabled()

    services.recompute(lab_ids[:5])

    assert seen == [False] and gc.isenabled()


def test_among_ids_selects_what_in_selects(lab_ids):
    wanted = [lab_ids[3], lab_ids[7], lab_ids[7], lab_ids[-1]]
    among = Measurement.objects.filter(_recompute_io.AmongIds("preparation_id", wanted)).values_list("pk", flat=True)
    assert list(among) == list(Measurement.objects.filter(preparation_id__in=wanted).values_list("pk", flat=True))
    assert not Measurement.objects.filter(_recompute_io.AmongIds("preparation_id", [])).exists()
