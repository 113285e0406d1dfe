"""Celery tasks for compliance: re-evaluate preparations whose evidence changed (skips unchanged ones)."""

import logging

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from ..core import coalesced
from ..core.hooks import send_task
from . import services

logger = logging.getLogger(__name__)

# A change of at most this many preparations (a result post, a recorded step) sends its refresh only for the
# preparations with none waiting (core.coalesced): at line rate, an instrument posting one result at a time to
# the same plate of preparations would otherwise queue one refresh per post, each re-reading the same evidence.
# A larger change (a bulk post, an import, a completed run) is sent as it is: a cache round trip per preparation
# would cost it more than it saves.
COALESCED_UP_TO = 8


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
    if len(preparation_ids) <= COALESCED_UP_TO:
        coalesced.started(refresh_compliance, preparation_ids)  # before reading: later changes send again
    return services.evaluate_preparations(preparation_ids)


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def refresh_all_compliance():
    """Nightly safety net: any message lost while the broker was down is made good here (cheap: unchanged
    evidence is skipped by its hash)."""
    from ..isolation.models import EVPreparation

    ids = list(EVPreparation.objects.values_list("pk", flat=True))
    return sum(services.evaluate_preparations(ids[i : i + 2000]) for i in range(0, len(ids), 2000))


def queue_refresh(preparation_ids) -> None:
    """Send a refresh now (with the metric job of the same change, in one message, when they share a queue),
    for the preparations whose refresh is not already waiting for a worker. An unreachable broker is logged, not
    raised: the user's change is already saved, and the nightly refresh catches up."""
    ids = sorted({int(pk) for pk in preparation_ids})
    if len(ids) <= COALESCED_UP_TO:
        ids = coalesced.mark_waiting(refresh_compliance, ids)
        marked = ids
    else:
        marked = []
    if not ids:
        return

    def unsent():
        if marked:
            coalesced.unmark(refresh_compliance, marked)
        logger.warning("Compliance refresh of %d preparations not queued (broker unreachable).", len(ids))

    send_task(refresh_compliance, ids, unsent=unsent)
