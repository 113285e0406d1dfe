"""The bulk generator (evlims_generate) at a tiny size: consistent, linked, deterministic data that the
metric and compliance computations accept."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from evlims.characterization.models import Measurement, ParticleAnalysis, SizeBin
from evlims.compliance.models import ComplianceEvaluation
from evlims.compliance.services import evaluate_preparations
from evlims.core.models import AuditEvent, Membership
from evlims.demo import scale
from evlims.isolation.models import EVPreparation, IsolationRun, RunStep
from evlims.metrics import services as metrics
from evlims.metrics.models import PreparationMetrics
from evlims.samples.models import Aliquot, CustodyEvent, Sample

pytestmark = pytest.mark.django_db

TINY = scale.ScaleSize(preparations=40, samples=30, measurements=330, runs=8, histogram_bins=5, seed=7)


@pytest.fixture
def generated():
    (summary,) = scale.generate(TINY)
    return summary


def test_counts_match_the_request(generated):
    lab = generated.lab
    assert Sample.objects.filter(lab=lab).count() == 30
    assert EVPreparation.objects.filter(lab=lab).count() == 40
    assert IsolationRun.objects.filter(lab=lab).count() == 8
    assert Measurement.objects.filter(lab=lab).count() == 330
    assert generated.counts["measurements"] == 330
    statuses = set(IsolationRun.objects.filter(lab=lab).values_list("status", flat=True))
    assert statuses == {"completed", "aborted", "in_progress", "planned"}
    assert set(Membership.objects.filter(lab=lab).values_list("role", flat=True)) == {
        "lab_staff",
        "qa_manager",
        "lab_admin",
        "instrument",
    }


def test_every_preparation_has_a_run_and_its_own_input_aliquot(generated):
    preparations = list(EVPreparation.objects.filter(lab=generated.lab).select_related("run", "input_aliquot__sample"))
    assert all(prep.run.lab_id == generated.lab.pk for prep in preparations)
    assert all(prep.input_aliquot.lab_id == generated.lab.pk for prep in preparations)
    assert len({prep.input_aliquot_id for prep in preparations}) == len(preparations)
    for prep in preparations:
        # A run takes tubes of one project and biofluid, and never more than the tube held.
        assert prep.input_aliquot.sample.project_id == prep.run.project_id
        assert Decimal(0) < prep.input_volume_ul <= prep.input_aliquot.initial_volume_ul
        started = prep.run.status != IsolationRun.Status.PLANNED
        taken = prep.input_aliquot.initial_volume_ul - prep.input_aliquot.volume_ul
        assert taken == (prep.input_volume_ul if started else 0)
        if prep.input_aliquot.status == Aliquot.Status.CONSUMED:
            assert prep.input_aliquot.volume_ul == 0 and prep.input_aliquot.box_id is None
        measured = prep.measurements.exists()
        assert not measured or prep.run.status == IsolationRun.Status.COMPLETED


def test_runs_record_their_protocol_steps_and_tubes_their_custody(generated):
    for run in IsolationRun.objects.filter(lab=generated.lab).select_related("protocol_version"):
        recorded = RunStep.objects.filter(run=run).count()
        expected = len(run.protocol_version.steps)
        if run.status == IsolationRun.Status.COMPLETED:
            assert recorded == expected
        elif run.status == IsolationRun.Status.PLANNED:
            assert recorded == 0
    aliquots = Aliquot.objects.filter(lab=generated.lab)
    received = CustodyEvent.objects.filter(lab=generated.lab, kind="received")
    assert received.count() == aliquots.count()
    consumed = CustodyEvent.objects.filter(lab=generated.lab, kind="consumed").count()
    assert consumed == EVPreparation.objects.filter(lab=generated.lab).exclude(run__status="planned").count()


def test_particle_measurements_carry_linked_histograms(generated):
    analyses = ParticleAnalysis.objects.filter(measurement__lab=generated.lab).annotate(n=Count("bins"))
    assert analyses.exists()
    assert {analysis.n for analysis in analyses} == {TINY.histogram_bins}
    assert SizeBin.objects.filter(analysis__measurement__lab=generated.lab).count() == TINY.histogram_bins * len(
        analyses
    )
    kinds = set(Measurement.objects.filter(lab=generated.lab).values_list("kind", flat=True))
    assert {"particle", "protein", "marker"} <= kinds
    for measurement in Measurement.objects.filter(lab=generated.lab, kind="particle").select_related("particle"):
        assert measurement.values["particles_per_ml"] == measurement.particle.concentration_per_ml


def test_metrics_and_compliance_run_on_generated_data(generated):
    ids = list(EVPreparation.objects.filter(lab=generated.lab).values_list("pk", flat=True))
    assert metrics.recompute(ids) == len(ids)
    measured = EVPreparation.objects.filter(lab=generated.lab, run__status="completed")
    figures = PreparationMetrics.objects.filter(preparation__in=measured)
    with_both = [m for m in figures if m.provenance.get("particles_per_ug")]
    assert with_both and all(m.particles_per_ug > 0 and m.purity_class for m in with_both)
    assert evaluate_preparations(ids) == len(ids)
    assert ComplianceEvaluation.objects.filter(preparation_id__in=ids).count() == len(ids)


def test_one_summary_audit_event_per_lab(generated):
    events = AuditEvent.objects.filter(lab=generated.lab)
    assert list(events.values_list("action", flat=True)) == ["scale.generate"]
    assert events.get().changes["preparations"] == 40


def test_same_seed_same_values_in_a_new_lab():
    first, second = scale.generate(TINY)[0], scale.generate(TINY)[0]
    assert first.lab.slug != second.lab.slug

    def values(lab):
        samples = Sample.objects.filter(lab=lab).order_by("id").values_list("biofluid", "volume_ml", "collected_at")
        measurements = Measurement.objects.filter(lab=lab).order_by("id").values_list("kind", "values")
        return list(samples), list(measurements)

    assert values(first.lab) == values(second.lab)
    assert first.counts == second.counts


def test_command_splits_the_counts_over_labs():
    out = StringIO()
    call_command(
        "evlims_generate",
        "--preparations",
        "20",
        "--samples",
        "16",
        "--measurements",
        "60",
        "--runs",
        "4",
        "--labs",
        "2",
        "--histogram-bins",
        "4",
        stdout=out,
    )
    text = out.getvalue()
    assert text.count("Generated Lab") == 2 and "Generated " in text.splitlines()[-1]
    assert EVPreparation.objects.count() == 20 and Sample.objects.count() == 16
    assert Measurement.objects.count() == 60
