"""Navbar data for every page: the user's labs with their role, and links to other feature areas."""

from django.urls import NoReverseMatch, reverse

from ..core.models import Membership
from ..notifications.selectors import unread_count


def _imports_url() -> str | None:
    # The import pages are a separate feature area; the navbar links to them only when they are installed.
    try:
        return reverse("evlims:import-list")
    except NoReverseMatch:
        return None


def evlims(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("lab").order_by("lab__name"))
    return {
        "evlims_memberships": memberships,
        "evlims_imports_url": _imports_url(),
        "evlims_unread_notifications": unread_count(user),
    }
