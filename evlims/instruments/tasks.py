"""Celery task of the instruments domain: one pass over every watched instrument folder (beat runs it every minute).

Safe to run twice or side by side with ``manage.py evlims_watch``: every file version is recorded once, and the
file being ingested is locked while it is read."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services.watch import watch_all_folders


@shared_task(
    name="evlims.instruments.tasks.watch_instrument_folders",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=3,
    soft_time_limit=600,
    time_limit=660,
)
def watch_instrument_folders() -> dict[str, int]:
    """Look at every watched folder once; returns the files ingested, found duplicate, failed or left waiting."""
    return watch_all_folders()
