"""A person's notifications: the list (newest first, unread marked), marking some or all read, and the page
where they choose what they receive, in the app and by e-mail, for each kind."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...core.ids import parse_id
from ...notifications import services
from ...notifications.kinds import KINDS
from ...notifications.selectors import notifications_for
from .common import member_view, paginate


@member_view
def notification_list(request):
    rows = notifications_for(request.user)
    if request.GET.get("unread") == "1":
        rows = rows.filter(read_at__isnull=True)
    page = paginate(request, rows.order_by("-created_at", "-pk"))
    context = {"page": page, "unread_only": request.GET.get("unread") == "1"}
    return render(request, "evlims/notifications/list.html", context)


@require_POST
@member_view
def notification_mark_read(request):
    everything = request.POST.get("all") == "1"
    ids = [pk for pk in (parse_id(value) for value in request.POST.getlist("notification")) if pk is not None]
    try:
        marked = services.notifications_mark_read(
            actor=request.user, ids=None if everything else ids, everything=everything
        )
    except ValidationError:
        marked = 0
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return redirect("evlims:notification-list")


@member_view
def notification_preferences(request):
    if request.method == "POST":
        changes = {
            kind: {
                "in_app": request.POST.get(f"{kind}-in_app") == "on",
                "email": request.POST.get(f"{kind}-email") == "on",
            }
            for kind in KINDS
        }
        services.notification_preferences_update(actor=request.user, changes=changes)
        messages.success(request, "Your notification preferences are saved.")
        return redirect("evlims:notification-preferences")
    chosen = services.preferences_of(request.user)
    rows = [{"kind": kind, "label": words[0], "description": words[1], **chosen[kind]} for kind, words in KINDS.items()]
    return render(request, "evlims/notifications/preferences.html", {"rows": rows, "email": request.user.email})
