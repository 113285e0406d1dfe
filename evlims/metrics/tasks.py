"""Celery tasks for metrics: ids in, service call out. Acknowledged late, retried on transient errors."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=1800,
    time_limit=2000,
)
def run_metric_job(self, job_id: int):
    try:
        job = services.job_run(job_id)
    except (DatabaseError, InterfaceError, ConnectionError):
        raise
    except Exception as exc:
        services.job_fail(job_id, f"{type(exc).__name__}: {exc}")
        raise
    return {"job": job.pk, "processed": job.processed}


@shared_task(acks_late=True)
def sweep_metric_jobs():
    return services.sweep_stale_jobs()


@shared_task(acks_late=True)
def nightly_full_recompute():
    return services.job_create(full=True).pk
