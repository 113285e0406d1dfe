"""A notification for one person about one event of one lab, and each person's choice of what they receive."""

from django.conf import settings
from django.db import models

from ..core.models import Lab
from .kinds import CHOICES


class Notification(models.Model):
    """One event told to one person. ``in_app`` rows are listed on their notifications page; ``email`` rows are
    sent by e-mail after the change commits (``emailed_at`` once sent, ``email_error`` when sending failed).
    ``key`` names the event, so an event seen twice (a control chart judged again) is told once."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=CHOICES)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=120, blank=True)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="evlims_notice_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~models.Q(key=""), name="evlims_notice_once_per_event"
            )
        ]

    def __str__(self):
        return self.title


class NotificationPreference(models.Model):
    """What one person receives for one kind of notification; without a row, both in-app and e-mail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=CHOICES)
    in_app = models.BooleanField("In the app", default=True)
    email = models.BooleanField("By e-mail", default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="evlims_notice_preference_once")]

    def __str__(self):
        return f"{self.user} · {self.get_kind_display()}"
