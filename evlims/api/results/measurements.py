"""Measurements (list, detail with the typed part) and raw file downloads."""

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ...characterization import selectors
from ...characterization.models import (
    Measurement,
)
from ...core.tenancy import visible_lab_ids
from ..authentication import READ
from ..base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi
from .outputs import MeasurementDetailOutputSerializer, MeasurementListOutputSerializer


def measurements_for(user):
    """Results of the user's labs of every status: the list narrows them to ``?status=`` (current by default)."""
    return Measurement.all_versions.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "preparation", "input_sample"
    )


def measurement_detail_queryset(user):
    """One result of any status (a superseded or voided one too, with its history); lists show current ones."""
    return (
        Measurement.all_versions.filter(lab_id__in=visible_lab_ids(user))
        .select_related("preparation", "input_sample", "superseded_by", "status_changed_by")
        .select_related("particle", "protein", "marker", "imaging", "analyte")
        .prefetch_related("particle__captures", "imaging__images")
    )


# Raw files are always sent as attachments; only these types keep their own content type. Anything
# else goes out as opaque bytes that no browser renders.
DISPLAYABLE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


# ?status= of the list: one status, or every version of every result.
ALL_STATUSES = "all"


class MeasurementFilter(django_filters.FilterSet):
    preparation = IdFilter(field_name="preparation_id")
    input_sample = IdFilter(field_name="input_sample_id")
    ingestion = IdFilter(field_name="ingestion_id")
    instrument = IdFilter(field_name="instrument_id")
    lab = IdFilter(field_name="lab_id")
    status = django_filters.ChoiceFilter(
        choices=[*Measurement.Status.choices, (ALL_STATUSES, "All")],
        method="filter_status",
        empty_label=None,
        help_text="current (the default: the results that count), superseded (replaced by a correction), voided, "
        "or all (every version). Each result names what superseded it (superseded_by on its detail).",
    )

    class Meta:
        model = Measurement
        fields = ["lab", "preparation", "input_sample", "kind", "method", "ingestion", "instrument", "status"]

    def filter_status(self, queryset, name, value):
        return queryset if value == ALL_STATUSES else queryset.filter(status=value)


@extend_schema(tags=["results"], summary="List measurements")
class MeasurementListApi(ScopedListApi):
    """Results of your labs with their headline figures; the typed detail is on each measurement.

    Only current results are listed unless ``status`` asks for others: a result superseded by a correction or
    voided stays in the record and is listed with ``status=superseded``, ``voided`` or ``all``."""

    serializer_class = MeasurementListOutputSerializer
    filterset_class = MeasurementFilter
    search_fields = ["preparation__barcode", "input_sample__barcode", "method"]
    ordering_fields = ["measured_at", "created_at"]
    ordering = ["measured_at", "id"]
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        measurements = measurements_for(self.request.user)
        if not self.request.query_params.get("status"):
            measurements = measurements.filter(status=Measurement.Status.CURRENT)
        return measurements


@extend_schema(tags=["results"], summary="Read a measurement with its typed detail and histogram")
class MeasurementDetailApi(ScopedDetailApi):
    """One result: the detail of its kind; a particle analysis with captures and size-distribution bins."""

    serializer_class = MeasurementDetailOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return measurement_detail_queryset(self.request.user)

    def get(self, request, *args, **kwargs):
        measurement = self.get_object()
        context = self.get_serializer_context() | {"bins": selectors.size_bins([measurement.pk])}
        return Response(MeasurementDetailOutputSerializer(measurement, context=context).data)


@extend_schema(tags=["results"])
class RawFileDownloadApi(ScopedObjectApi):
    """The file exactly as received, as a download. Images keep their type; anything else is sent as
    application/octet-stream with ``X-Content-Type-Options: nosniff``, so a browser never renders it."""

    api_key_scopes = {"read": READ}

    def get_object(self):
        raw = selectors.raw_file_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, raw)
        return raw

    @extend_schema(
        summary="Download a raw instrument file",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        raw = self.get_object()
        content_type = raw.content_type if raw.content_type in DISPLAYABLE_IMAGE_TYPES else "application/octet-stream"
        response = FileResponse(
            raw.file.open("rb"), as_attachment=True, filename=raw.original_name, content_type=content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
