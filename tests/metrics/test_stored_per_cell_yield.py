"""Yield per million producing cells from stored records: a preparation from conditioned medium (the
vocabulary's ``cell_culture_medium``) with a cell count and a particle count gets the figure, computed from
the stored sample, preparation and measurement; a blood preparation gets none."""

import pytest

from evlims.characterization.services import record_results
from evlims.core.models import Role
from evlims.demo import scale
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.metrics import services
from evlims.metrics.models import PreparationMetrics
from tests.factories import member
from tests.integration.faults import particle_result
from tests.run_states import completed

pytestmark = pytest.mark.django_db
SIZE = scale.ScaleSize(preparations=60, samples=40, measurements=500, runs=10, histogram_bins=5, seed=11)


def test_conditioned_medium_preparations_get_their_yield_per_million_cells():
    (summary,) = scale.generate(SIZE)
    preparations = EVPreparation.objects.filter(lab=summary.lab).select_related("input_aliquot__sample", "run")
    medium = next(p for p in preparations if p.input_aliquot.sample.biofluid == "cell_culture_medium")
    blood = next(p for p in preparations if p.input_aliquot.sample.biofluid == "blood_plasma")
    EVPreparation.objects.filter(pk__in=[medium.pk, blood.pk]).update(final_volume_ul=100)
    for run in {medium.run, blood.run}:  # results are recorded only for what a completed run produced
        if run.status != IsolationRun.Status.COMPLETED:
            completed(run)
    staff = member(summary.lab, Role.LAB_STAFF, username="per-cell")
    record_results(
        actor=staff,
        lab=summary.lab,
        documents=[particle_result(medium.barcode, 2e10), particle_result(blood.barcode, 2e10)],
    )
    services.recompute([medium.pk, blood.pk])

    sample = medium.input_aliquot.sample
    producing_cells = sample.cell_count_at_harvest * float(medium.input_volume_ul) / 1000 / float(sample.volume_ml)
    expected = 2e10 * 0.1 / producing_cells * 1e6  # particles in 100 µL of stock per 10⁶ producing cells
    figures = PreparationMetrics.objects.get(preparation=medium)
    assert figures.particle_yield_per_million_cells == pytest.approx(expected, rel=1e-6)
    assert PreparationMetrics.objects.get(preparation=blood).particle_yield_per_million_cells is None
