from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from evlims.characterization.services import record_results
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.metrics import services
from evlims.metrics.models import MetricJob, PreparationMetrics
from evlims.metrics.services import _companions
from evlims.samples.services import sample_register
from tests.run_states import completed_run_fields


@pytest.fixture
def preps(staff, project):
    sample = sample_register(
        actor=staff, project=project, biofluid="urine", volume_ml=Decimal("10"), aliquot_volumes_ul=[4000, 4000]
    )
    run = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-M1", protocol_name="SEC", operator=staff, **completed_run_fields()
    )
    return [
        EVPreparation.objects.create(
            lab=project.lab,
            run=run,
            input_aliquot=aliquot,
            barcode=f"EVP-M{i}",
            input_volume_ul=4000,
            final_volume_ul=200,
        )
        for i, aliquot in enumerate(sample.aliquots.order_by("id"))
    ]


def post(staff, lab, prep, particles=None, protein=None):
    documents = []
    if particles is not None:
        documents.append(
            {
                "kind": "particle",
                "method": "nta",
                "preparation": prep.barcode,
                "particle": {
                    "technique": "nta",
                    "concentration_per_ml": particles,
                    "size_mode_nm": 95.0,
                    "histogram": {"bin_center_nm": [50, 150, 250], "concentration_per_ml": [2e9, 1e9, 1e9]},
                },
            }
        )
    if protein is not None:
        documents.append(
            {
                "kind": "protein",
                "method": "bca",
                "preparation": prep.barcode,
                "protein": {"assay": "bca", "concentration_ug_per_ml": protein},
            }
        )
    return record_results(actor=staff, lab=lab, documents=documents)


def test_recompute_stores_figures_with_provenance(staff, lab, preps):
    measurements = post(staff, lab, preps[0], particles=4e11, protein=10.0)
    post(staff, lab, preps[1], particles=1e11)
    assert services.recompute([p.pk for p in preps]) == 2
    first = PreparationMetrics.objects.get(preparation=preps[0])
    # 4e11 /mL × 0.2 mL / 4 mL input = 2e10 particles per mL of urine; 4e11 / 10 µg/mL = 4e10 per µg
    assert first.particle_yield_per_ml_input == pytest.approx(2e10)
    assert first.particles_per_ug == pytest.approx(4e10)
    assert first.purity_class == "high_purity"
    assert first.small_ev_fraction == pytest.approx(0.75)  # bins at 50 and 150 nm of 4e9 in all
    assert first.provenance["particles_per_ug"] == sorted(m.pk for m in measurements)
    second = PreparationMetrics.objects.get(preparation=preps[1])
    assert second.particles_per_ug is None and second.purity_class is None  # absent, not zero


def test_recompute_is_idempotent(staff, lab, preps):
    post(staff, lab, preps[0], particles=4e11, protein=10.0)
    services.recompute([preps[0].pk])
    services.recompute([preps[0].pk])
    assert PreparationMetrics.objects.count() == 1


def test_job_runs_after_commit_and_records_progress(staff, lab, preps, django_capture_on_commit_callbacks):
    post(staff, lab, preps[0], particles=4e11, protein=10.0)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(preparation_ids=[p.pk for p in preps])
    job.refresh_from_db()
    assert job.status == MetricJob.Status.DONE and job.processed == 2 and job.attempts == 1
    assert PreparationMetrics.objects.count() == 2
    assert services.job_run(job.pk).attempts == 1  # a duplicate delivery of a finished job does nothing


def test_full_job_covers_every_preparation(staff, lab, preps):
    job = MetricJob.objects.create(kind=MetricJob.Kind.FULL)
    services.job_run(job.pk)
    job.refresh_from_db()
    assert job.total == 2 and job.processed == 2


def test_sweeper_requeues_jobs_the_broker_lost(preps, monkeypatch):
    # Each job on its own: a job run takes the jobs waiting behind it (tests/metrics/test_job_companions.py).
    monkeypatch.setattr(_companions, "MAX_COMPANIONS", 0)
    lost = MetricJob.objects.create(kind=MetricJob.Kind.INCREMENTAL, preparation_ids=[preps[0].pk], total=1)
    fresh = MetricJob.objects.create(
        kind=MetricJob.Kind.INCREMENTAL, preparation_ids=[preps[1].pk], total=1, queued_at=timezone.now()
    )
    assert services.sweep_stale_jobs() == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == MetricJob.Status.DONE  # eager Celery in tests ran it
    assert services.sweep_stale_jobs(now=timezone.now() + timedelta(hours=1)) == [fresh.pk]


def test_broker_outage_leaves_job_pending(preps, monkeypatch, django_capture_on_commit_callbacks):
    from evlims.metrics import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks.run_metric_job, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(preparation_ids=[preps[0].pk])
    job.refresh_from_db()
    assert job.status == MetricJob.Status.PENDING and job.queued_at is None


def test_changes_of_one_transaction_make_one_job(staff, lab, preps, django_capture_on_commit_callbacks):
    from django.db import transaction

    before = MetricJob.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        post(staff, lab, preps[0], particles=4e11)
        post(staff, lab, preps[1], protein=5.0)
    assert MetricJob.objects.count() == before + 1 and len(callbacks) == 1
    job = MetricJob.objects.latest("pk")
    assert job.preparation_ids == sorted(p.pk for p in preps) and job.status == MetricJob.Status.DONE
    assert PreparationMetrics.objects.count() == 2


def test_broker_outage_is_not_mistaken_for_a_failing_task(preps, monkeypatch, django_capture_on_commit_callbacks):
    from evlims.metrics import tasks

    def task_bug(*args, **kwargs):
        raise KeyError("a bug in the task, not an outage")

    monkeypatch.setattr(tasks.run_metric_job, "delay", task_bug)
    with pytest.raises(KeyError), django_capture_on_commit_callbacks(execute=True):
        services.job_create(preparation_ids=[preps[0].pk])
