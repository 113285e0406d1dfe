"""Error pages in the lab's words, for the host site's handlers and for django-axes' lockouts.

A host points its URLconf at them (``handler404 = "evlims.web.views.errors.page_not_found"``, and so on for 403
and 500) and axes at ``locked_out`` (``AXES_LOCKOUT_CALLABLE``); the demo site does both. The 500 page is
rendered without the request and without the database, which may be what failed.
"""

import datetime as dt
import math

from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone

# django-axes' default cool-off when the site sets none it can read without a request (a quarter of an hour).
DEFAULT_COOLOFF = dt.timedelta(minutes=15)


def page_not_found(request, exception=None):
    return render(request, "evlims/404.html", status=404)


def permission_denied(request, exception=None):
    message = str(exception) if exception is not None and str(exception) else ""
    return render(request, "evlims/403.html", {"message": message}, status=403)


def server_error(request=None):
    return HttpResponseServerError(loader.get_template("evlims/500.html").render())


def lockout_cooloff() -> dt.timedelta | None:
    """How long a locked sign-in waits: AXES_COOLOFF_TIME in hours or as a timedelta; None when it is not set or
    is computed per request (a callable), so the page does not state a wait it cannot know."""
    value = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return dt.timedelta(hours=value)
    return None


def _username(request, credentials) -> str:
    if isinstance(credentials, dict) and isinstance(credentials.get("username"), str):
        return credentials["username"]
    username = request.POST.get("username", "") if request.method == "POST" else ""
    return username if isinstance(username, str) else ""


def _is_api(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and "api" in match.namespaces) or request.headers.get("x-requested-with") == "XMLHttpRequest"


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked sign-in (``AXES_LOCKOUT_CALLABLE``): HTTP 429 with Retry-After, the page
    saying how long to wait, or for the API a JSON ``detail`` like its other refusals."""
    cooloff = lockout_cooloff()
    minutes = math.ceil(cooloff.total_seconds() / 60) if cooloff else None
    if _is_api(request):
        wait = f" Try again in {minutes} minute{'s' if minutes != 1 else ''}." if minutes else " Try again later."
        response = JsonResponse(
            {"detail": "Too many wrong passwords for this account from this address." + wait}, status=429
        )
    else:
        context = {
            "username": _username(request, credentials),
            "cooloff_minutes": minutes,
            "retry_at": timezone.localtime(timezone.now() + cooloff) if cooloff else None,
        }
        response = render(request, "evlims/429.html", context, status=429)
    if cooloff:
        response["Retry-After"] = str(math.ceil(cooloff.total_seconds()))
    return response
