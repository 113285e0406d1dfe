"""Reads of flow cytometry records, limited to the labs a user belongs to."""

from django.db.models import Prefetch

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from .models import FlowAcquisition, FlowCalibration, FlowResult


def acquisitions_for(user):
    return FlowAcquisition.objects.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "lab", "preparation", "controls"
    )


def calibrations_for(user):
    return FlowCalibration.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab", "instrument")


def results_for(user):
    return (
        FlowResult.objects.filter(lab_id__in=visible_lab_ids(user))
        .select_related("acquisition", "measurement", "recorded_by")
        .prefetch_related("calibrations")
    )


def acquisition_page(user, pk) -> FlowAcquisition:
    """An acquisition with its results (newest first, with their calibrations) and its controls; NotFound
    outside the user's labs."""
    results = FlowResult.objects.select_related("recorded_by").prefetch_related("calibrations")
    acquisition = (
        acquisitions_for(user)
        .select_related("raw_file", "uploaded_by")
        .prefetch_related(
            Prefetch("results", queryset=results.order_by("-created_at", "-id")),
            Prefetch("control_acquisitions", queryset=FlowAcquisition.objects.prefetch_related("results")),
        )
        .filter(pk=pk)
        .first()
    )
    if acquisition is None:
        raise NotFound
    return acquisition


def preparation_acquisitions(preparation_id):
    """A preparation's FCS files, newest first, with their latest results."""
    return (
        FlowAcquisition.objects.filter(preparation_id=preparation_id)
        .prefetch_related(Prefetch("results", queryset=FlowResult.objects.order_by("-created_at", "-id")))
        .order_by("-created_at", "-id")
    )
