"""The method league table: figures with the runs behind them, ranks per figure, and only the viewer's labs."""

import pytest
from django.utils import timezone

from evlims.core.models import Role
from evlims.metrics.league import LeagueRow, _rank, league_table
from evlims.metrics.models import PreparationMetrics
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db


def _metrics(preparation, **figures):
    return PreparationMetrics.objects.create(
        lab_id=preparation.lab_id, preparation=preparation, computed_at=timezone.now(), **figures
    )


def test_figures_and_the_runs_behind_them():
    world = build_lab("LGA")
    first, second = world.run.preparations.order_by("id")
    world.preparation.final_volume_ul = 100
    world.preparation.save(update_fields=["final_volume_ul"])
    _metrics(first, particles_per_ug=2e9, particle_yield_per_ml_input=1e10, purity_class="not_interpretable")
    _metrics(second, particles_per_ug=4e9, particle_yield_per_ml_input=3e10, purity_class="not_interpretable")
    other = build_lab("LGB")  # another lab's preparations never count
    _metrics(other.preparation, particles_per_ug=9e12, particle_yield_per_ml_input=1e12)
    [row] = league_table(world.staff)
    assert row.biofluid == "blood_plasma" and row.method == world.run.method
    assert row.purity_particles_per_ug == pytest.approx(3e9)  # median of 2e9 and 4e9
    assert row.purity_runs == 1 and row.preparations == 2
    assert row.lipoprotein_confounded == 2
    assert row.yield_cv_pct is None and row.yield_runs == 1  # one run: no CV between runs
    # The world's readout: 4e8/mL x 0.1 mL of 10 µL x 1e10/mL = 40 %, u from the lot alone (10 %): 4 points.
    assert row.recovery_pct == pytest.approx(40.0)
    assert row.recovery_uncertainty_pct == pytest.approx(4.0)
    assert row.recovery_runs == 1 and row.rank == 1
    assert league_table(other.users[Role.LAB_ADMIN])[0].purity_particles_per_ug == pytest.approx(9e12)
    assert league_table(world.staff, biofluid="serum") == []


def test_ranks_per_figure_and_the_order_by_their_mean():
    sec = LeagueRow("blood_plasma", "sec", recovery_pct=60, purity_particles_per_ug=1e9, yield_cv_pct=10)
    duc = LeagueRow("blood_plasma", "duc", recovery_pct=30, purity_particles_per_ug=5e9, yield_cv_pct=30)
    peg = LeagueRow("blood_plasma", "peg", recovery_pct=None, purity_particles_per_ug=2e8, yield_cv_pct=None)
    rows = [sec, duc, peg]
    _rank(rows, "recovery", lambda r: r.recovery_pct, best_high=True)
    _rank(rows, "purity", lambda r: r.purity_particles_per_ug, best_high=True)
    _rank(rows, "reproducibility", lambda r: r.yield_cv_pct, best_high=False)
    assert sec.ranks == {"recovery": 1, "purity": 2, "reproducibility": 1}  # mean 4/3
    assert duc.ranks == {"recovery": 2, "purity": 1, "reproducibility": 2}  # mean 5/3
    assert peg.ranks == {"purity": 3}  # a figure without runs is left out, not counted as 0
    assert sorted(rows, key=lambda r: r.mean_rank) == [sec, duc, peg]
