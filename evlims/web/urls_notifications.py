"""A person's notifications and what they choose to receive."""

from django.urls import path

from .views import notifications

urlpatterns = [
    path("", notifications.notification_list, name="notification-list"),
    path("read/", notifications.notification_mark_read, name="notification-mark-read"),
    path("preferences/", notifications.notification_preferences, name="notification-preferences"),
]
