"""Celery tasks for compliance: re-evaluate preparations whose evidence changed (skips unchanged ones)."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError, transaction

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=600,
    time_limit=700,
)
def refresh_compliance(preparation_ids: list[int]):
    return services.evaluate_preparations(preparation_ids)


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def refresh_all_compliance():
    """Nightly safety net: any message lost while the broker was down is made good here (cheap: unchanged
    evidence is skipped by its hash)."""
    from ..isolation.models import EVPreparation

    ids = list(EVPreparation.objects.values_list("pk", flat=True))
    return sum(services.evaluate_preparations(ids[i : i + 2000]) for i in range(0, len(ids), 2000))


def schedule_refresh(preparation_ids) -> None:
    """Queue a refresh once the current transaction commits; a broker outage is logged, not raised (the
    nightly refresh catches up)."""
    ids = sorted({int(pk) for pk in preparation_ids})
    if not ids:
        return

    def send():
        try:
            refresh_compliance.delay(ids)
        except Exception:  # noqa: BLE001 - an unreachable broker must not fail the user's saved change
            import logging

            logging.getLogger(__name__).warning("Compliance refresh of %s not queued; nightly refresh will run.", ids)

    transaction.on_commit(send)
