"""A person's own notifications: nobody reads another's."""

from .models import Notification


def notifications_for(user):
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, in_app=True).select_related("lab")


def unread_count(user) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()
