"""Celery tasks of the notifications: e-mails sent after the change commits, and the control charts of labs
whose figures changed judged for broken rules. Thin adapters over ``services`` and ``receivers``."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

# Safe to run twice (a sent e-mail is marked and skipped; an event already told is not told again).
RETRY_POLICY = {"acks_late": True, "autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 5}


@shared_task(name="evlims.notifications.tasks.send_notification_emails", ignore_result=True, **RETRY_POLICY)
def send_notification_emails(notification_ids: list[int]) -> int:
    from .services import send_emails

    return send_emails(notification_ids)


@shared_task(name="evlims.notifications.tasks.check_control_rules", ignore_result=True, **RETRY_POLICY)
def check_control_rules(lab_ids: list[int]) -> int:
    from .receivers import control_rules_check

    return control_rules_check(lab_ids)
