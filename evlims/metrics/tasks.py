"""Celery tasks for metrics: ids in, service call out. Acknowledged late, retried on transient errors."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from ..core.hooks import send_task
from . import services

BACKOFF_MAX_S = 300


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=services.TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=BACKOFF_MAX_S,
    max_retries=8,
    soft_time_limit=1800,
    time_limit=2000,
)
def run_metric_job(self, job_id: int, claim: int | None = None):
    """Run one metric job. ``claim`` is set only on a retry: the attempt number the failed delivery held."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        job = services.job_run(job_id, claim=claim, redelivered=redelivered)
    except services.ClaimInterrupted as interrupted:
        # The job is claimed (running) and the database may be too far away to release it: the retry carries
        # the claim, so it takes its own job back instead of finding it running and skipping it.
        # The same back-off as autoretry_for gives the errors raised before the claim.
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=BACKOFF_MAX_S, full_jitter=True
        )
        raise self.retry(exc=interrupted.__cause__, kwargs={"claim": interrupted.claim}, countdown=countdown)
    except services.TRANSIENT:
        raise  # before the claim: autoretry_for sends the same delivery again
    except Exception as exc:
        services.job_fail(job_id, f"{type(exc).__name__}: {exc}")
        raise
    return {
        "job": job.pk,
        "status": job.status,
        "attempts": job.attempts,
        "processed": job.processed,
        "worker": self.request.hostname,
    }


def send_metric_job(job_id: int) -> None:
    """Queue one job row to the workers (``services.queue_job`` calls it, through ``services.job_sender``); after
    a change of evidence, in one message with its compliance refresh when they share a queue. A job the broker
    refuses is left pending without its queued time, for the sweeper (as ``queue_job`` leaves it)."""
    send_task(run_metric_job, job_id, unsent=lambda: services.sent_failed(job_id))


@shared_task(acks_late=True)
def sweep_metric_jobs():
    return services.sweep_stale_jobs()


@shared_task(acks_late=True)
def nightly_full_recompute():
    return services.job_create(full=True).pk
