"""Celery task of flow cytometry: an uploaded FCS file's events read off the request (ids in, a service call)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

# As evlims.tasks: acknowledged late, retried with backoff while the database is briefly away.
RETRY_POLICY = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(name="evlims.cytometry.tasks.read_acquisition_events", soft_time_limit=300, time_limit=330, **RETRY_POLICY)
def read_acquisition_events(acquisition_id: int) -> str | None:
    """Read the events of one acquisition and keep its density plot; returns the acquisition's status."""
    acquisition = services.acquisition_read_events(acquisition_id=acquisition_id)
    return acquisition.status if acquisition else None


def send_read_events(acquisition_id: int) -> None:
    """What ``services.events_reader`` calls once an upload is saved: the task, to a worker (in the calling
    process on a site without a broker)."""
    read_acquisition_events.delay(acquisition_id)
