"""Writing notifications: ``notify`` tells the members of a lab about an event (inside the transaction of the
change, so the in-app record commits or rolls back with it), the e-mails follow once it commits; people mark
theirs read and choose what they receive.

Tenancy: a notification is only ever written for a member of the lab the event belongs to; a recipient who is
not (any more) is left out, whoever named them.

E-mail never costs the in-app record: the rows are committed first, sending happens after commit (by a worker
where Celery has a broker), and a failure is kept on the row (``email_error``) instead of raised."""

import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from ..conf import evlims_settings
from ..core.models import Membership
from ..core.registry import Provider
from .kinds import KINDS
from .models import Notification, NotificationPreference

logger = logging.getLogger(__name__)
MAX_MARKED = 1000


def preferences_of(user) -> dict[str, dict[str, bool]]:
    """{kind: {"in_app": bool, "email": bool}} for every kind; a kind never chosen is both."""
    chosen = {
        kind: {"in_app": in_app, "email": email}
        for kind, in_app, email in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "in_app", "email"
        )
    }
    return {kind: chosen.get(kind, {"in_app": True, "email": True}) for kind in KINDS}


def notify(*, lab, kind: str, recipients, title: str, body: str = "", link: str = "", key: str = "") -> list:
    """Notify the ``recipients`` who are members of ``lab`` and want ``kind`` (in-app, e-mail or both). With a
    ``key``, a person already told about that event is not told again. Returns the notifications written."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    wanted = {getattr(user, "pk", user) for user in recipients} - {None}
    members = set(
        Membership.objects.filter(lab=lab, user_id__in=wanted, user__is_active=True).values_list("user_id", flat=True)
    )
    if key:
        members -= set(
            Notification.objects.filter(key=key, recipient_id__in=members).values_list("recipient_id", flat=True)
        )
    chosen = {
        user: (in_app, email)
        for user, in_app, email in NotificationPreference.objects.filter(user_id__in=members, kind=kind).values_list(
            "user_id", "in_app", "email"
        )
    }
    rows = []
    for user_id in sorted(members):
        in_app, email = chosen.get(user_id, (True, True))
        if in_app or email:
            rows.append(
                Notification(
                    lab=lab,
                    recipient_id=user_id,
                    kind=kind,
                    title=title[:200],
                    body=body,
                    link=link[:300],
                    key=key,
                    in_app=in_app,
                    email=email,
                )
            )
    written = Notification.objects.bulk_create(rows)
    mailed = [row.pk for row in written if row.email]
    if mailed:
        transaction.on_commit(partial(queue_emails, mailed))
    return written


# The Celery task module registers its sender (``EvlimsConfig.ready()``); without one, e-mails go in process.
email_sender = Provider("sends the e-mails of notifications once their change committed", default=None)


def queue_emails(notification_ids: list[int]) -> None:
    """After commit: a worker sends the e-mails; without a sender or a reachable broker they are sent here and
    now."""
    sender = email_sender.get()
    if sender is not None:
        try:
            sender(notification_ids)
            return
        except Exception:
            logger.warning("notification e-mails %s sent in process: no worker could be reached", notification_ids)
    send_emails(notification_ids)


def _message(notification: Notification, connection) -> EmailMessage:
    link = f"{evlims_settings.SITE_URL.rstrip('/')}{notification.link}" if notification.link else ""
    text = "\n\n".join(
        part
        for part in (
            notification.body,
            f"Open it: {link}" if link else "",
            f"Notifications of {notification.lab.name} in evlims. Choose what you receive on your notification "
            "preferences page.",
        )
        if part
    )
    return EmailMessage(
        subject=f"[evlims] {notification.title}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        connection=connection,
    )


def send_emails(notification_ids) -> int:
    """Send the e-mails not sent yet; each failure is noted on its row and the others still go. Returns the
    number sent."""
    pending = Notification.objects.filter(pk__in=notification_ids, email=True, emailed_at__isnull=True).select_related(
        "recipient", "lab"
    )
    sent = 0
    connection = get_connection(fail_silently=False)
    for notification in pending:
        if not notification.recipient.email:
            Notification.objects.filter(pk=notification.pk).update(email_error="No e-mail address on the account.")
            continue
        try:
            _message(notification, connection).send()
        except Exception as error:  # any backend failure: kept on the row, never raised
            logger.warning("notification %s not e-mailed: %s", notification.pk, error)
            Notification.objects.filter(pk=notification.pk).update(email_error=f"{type(error).__name__}: {error}"[:300])
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now(), email_error="")
        sent += 1
    return sent


def notifications_mark_read(*, actor, ids=None, everything: bool = False) -> int:
    """Mark the actor's own notifications read (``ids``, or ``everything`` unread); others' are never touched.
    Returns how many were unread."""
    if ids is None and not everything:
        raise ValidationError({"ids": ["Name the notifications to mark read, or mark them all."]})
    mine = Notification.objects.filter(recipient=actor, in_app=True, read_at__isnull=True)
    if not everything:
        ids = list(ids)
        if len(ids) > MAX_MARKED or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in ids):
            raise ValidationError({"ids": [f"Give up to {MAX_MARKED} notification ids as whole numbers."]})
        mine = mine.filter(pk__in=ids)
    return mine.update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_update(*, actor, changes: dict) -> dict:
    """Change what the actor receives: ``{kind: {"in_app": bool, "email": bool}}`` (either key may be left out).
    Returns all the actor's preferences."""
    if not isinstance(changes, dict):
        raise ValidationError({"preferences": ["Give the preferences as an object keyed by kind."]})
    errors = {}
    current = preferences_of(actor)
    for kind, choice in changes.items():
        if kind not in KINDS:
            errors[kind] = [f"Unknown kind: choose from {', '.join(KINDS)}."]
        elif not isinstance(choice, dict) or set(choice) - {"in_app", "email"}:
            errors[kind] = ['Give {"in_app": true|false, "email": true|false}.']
        elif not all(isinstance(value, bool) for value in choice.values()):
            errors[kind] = ["Choose true or false."]
    if errors:
        raise ValidationError(errors)
    for kind, choice in changes.items():
        values = current[kind] | choice
        NotificationPreference.objects.update_or_create(user=actor, kind=kind, defaults=values)
    return preferences_of(actor)
