"""The start page: what every member's labs hold, then what the user's roles ask of them today."""

from django.shortcuts import render

from ...core.models import Role
from ...core.tenancy import REVIEWER_ROLES, WRITER_ROLES, labs_where
from ...review import overview
from ...samples import selectors
from ...samples.models import Aliquot
from .common import member_view

RECENT_EVENTS = 10


@member_view
def home(request):
    user = request.user
    context = {
        "sample_count": selectors.samples_for(user).count(),
        "aliquot_count": selectors.aliquots_for(user).filter(status=Aliquot.Status.AVAILABLE).count(),
        "box_count": selectors.boxes_for(user).count(),
        "recent_events": selectors.custody_for(user).order_by("-occurred_at", "-id")[:RECENT_EVENTS],
        # Only what the user's roles may do is offered: a QA manager registers nothing.
        "at_bench": bool(labs_where(user, WRITER_ROLES)),
        "reviews": bool(labs_where(user, REVIEWER_ROLES)),
        "administers": bool(labs_where(user, {Role.LAB_ADMIN})),
    }
    if context["at_bench"]:
        context["open_run_count"], context["open_runs"] = overview.open_runs(user)
        context["recent_results"] = overview.recent_results(user)
        context["recent_samples"] = overview.recent_registrations(user)
    if context["reviews"]:
        context["queue_steps"] = overview.review_queue_summary(user)
    if context["administers"]:
        context["administered_labs"] = overview.administered_labs(user)
    return render(request, "evlims/home.html", context)
