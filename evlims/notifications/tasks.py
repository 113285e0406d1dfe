"""Celery tasks of the notifications: e-mails sent after the change commits, and the control charts of labs
whose figures changed judged for broken rules. Thin adapters over ``services`` and ``receivers``;
``EvlimsConfig.ready()`` registers ``send_later`` as the services' e-mail sender and ``figures_stored`` on the
metrics' ``on_figures_stored`` hook."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ..core import coalesced
from .receivers import control_rules_check
from .services import send_emails

logger = logging.getLogger(__name__)

# Safe to run twice (a sent e-mail is marked and skipped; an event already told is not told again).
RETRY_POLICY = {"acks_late": True, "autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 5}


@shared_task(name="evlims.notifications.tasks.send_notification_emails", ignore_result=True, **RETRY_POLICY)
def send_notification_emails(notification_ids: list[int]) -> int:
    return send_emails(notification_ids)


@shared_task(name="evlims.notifications.tasks.check_control_rules", ignore_result=True, **RETRY_POLICY)
def check_control_rules(lab_ids: list[int]) -> int:
    coalesced.started(check_control_rules, lab_ids)
    return control_rules_check(lab_ids)


def send_later(notification_ids: list[int]) -> None:
    """The services' e-mail sender: a worker sends them (in process when Celery has no broker)."""
    send_notification_emails.delay(notification_ids)


def figures_stored(lab_ids: list[int]) -> None:
    """Receiver of ``metrics.summaries.on_figures_stored``: a worker judges those labs' control charts (once for
    the labs whose judging has not started yet: it judges the whole charts as they are then; ``core.coalesced``).
    """
    try:
        coalesced.send_for_labs(check_control_rules, lab_ids)
    except Exception:
        logger.exception("control rules of labs %s not checked", lab_ids)
