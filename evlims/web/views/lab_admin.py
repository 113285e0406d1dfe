"""Lab administration, for the lab's admins only: its members and their roles (admin_members), its instruments
and their API keys (admin_instruments). Anyone else who belongs to the lab gets the 403 page; a lab the user
does not belong to is a 404, as everywhere."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from ...core.selectors import administered_labs, is_lab_admin, lab_of_member
from .common import member_view

REFUSED = "Only an admin of this lab manages its members, instruments and API keys."


def admin_lab(user, lab_id):
    """The lab ``lab_id`` if ``user`` is one of its admins: NotFound (a 404) outside the user's labs,
    PermissionDenied (the 403 page) for its other members."""
    lab = lab_of_member(user, lab_id)
    ensure_lab_admin(user, lab.pk)
    return lab


def ensure_lab_admin(user, lab_id) -> None:
    if not is_lab_admin(user, lab_id):
        raise PermissionDenied(REFUSED)


@member_view
def lab_admin_home(request):
    """The labs the user administers; with one, straight to its members."""
    labs = list(administered_labs(request.user))
    if not labs:
        raise PermissionDenied(REFUSED)
    if len(labs) == 1:
        return redirect("evlims:lab-admin-members", lab_pk=labs[0].pk)
    return render(request, "evlims/lab_admin/home.html", {"labs": labs})
