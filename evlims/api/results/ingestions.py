"""Ingestions (uploads and instrument posts): list, detail, and the commit of a previewed file."""

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ...characterization import selectors
from ...instruments.models import Ingestion
from ...instruments.services import uploads
from ..authentication import READ, RESULTS_WRITE, is_instrument
from ..base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi
from .examples import COMMIT_EXAMPLES
from .inputs import MappingInputSerializer
from .outputs import IngestionDetailOutputSerializer, IngestionListOutputSerializer
from .posting import actor_and_instrument, replay_headers


def ingestion_detail_response(view, ingestion, *, status_code=status.HTTP_200_OK, replayed=False):
    context = view.get_serializer_context() | {"measurements": selectors.ingestion_measurements(ingestion)}
    data = IngestionDetailOutputSerializer(ingestion, context=context).data
    return Response(data, status=status_code, headers=replay_headers(replayed))


def failed_upload_response(ingestion, *, replayed=False):
    body = {"file": [ingestion.error], "ingestion": ingestion.pk, "raw_file": ingestion.raw_file_id}
    return Response(body, status=status.HTTP_400_BAD_REQUEST, headers=replay_headers(replayed))


def refused_mapping(refused: uploads.CommitRefused) -> dict:
    """A refused commit's errors as the API words them (Django's ``__all__`` is DRF's non-field key)."""
    rename = {NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY}
    return {rename.get(key, key): messages for key, messages in refused.errors.items()}


def commit_mapping(request, ingestion, data: dict):
    """Commit a previewed file (``data``: the checked MappingInputSerializer), with every refusal put on the sample
    it concerns (``mapping.<name>``)."""
    if is_instrument(request.user) and ingestion.instrument_id != request.user.instrument.pk:
        raise exceptions.PermissionDenied("An instrument key commits only its own instrument's uploads.")
    actor, instrument = actor_and_instrument(request)
    try:
        return uploads.file_commit_by_sample(
            actor=actor or instrument,
            ingestion=ingestion,
            mapping=data["mapping"],
            dilutions=data["dilutions"],
            calibration=data.get("calibration", ""),
            keep_invalid_captures=data.get("keep_invalid_captures", False),
            measured_at=data.get("measured_at"),
            reason=data.get("reason", ""),
        )
    except uploads.CommitRefused as refused:
        raise exceptions.ValidationError(refused_mapping(refused))


class IngestionFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="instrument_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Ingestion
        fields = ["lab", "instrument", "status"]


@extend_schema(tags=["results"], summary="List ingestions (uploads and instrument posts)")
class IngestionListApi(ScopedListApi):
    """Every upload and instrument post of your labs, newest first, without the parsed documents."""

    serializer_class = IngestionListOutputSerializer
    filterset_class = IngestionFilter
    search_fields = ["external_run_id", "uploaded_name"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    api_key_scopes = {"read": READ}
    decorate_page = staticmethod(selectors.with_measurement_counts)

    def get_queryset(self):
        return selectors.ingestions_for(self.request.user)


@extend_schema(tags=["results"])
class IngestionDetailApi(ScopedDetailApi):
    """One ingestion: its status, the parsed values (preview), the error of a refused file, its results."""

    serializer_class = IngestionDetailOutputSerializer
    api_key_scopes = {"read": READ}

    def get_object(self):
        ingestion = selectors.ingestion_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, ingestion)
        return ingestion

    @extend_schema(summary="Read an ingestion with its parsed values and results")
    def get(self, request, *args, **kwargs):
        return ingestion_detail_response(self, self.get_object())


@extend_schema(tags=["results"])
class IngestionCommitApi(ScopedObjectApi):
    """Map a previewed file's samples to preparations and store the results, all or nothing."""

    serializer_class = IngestionDetailOutputSerializer
    api_key_scopes = {"write": RESULTS_WRITE}

    def get_object(self):
        ingestion = selectors.ingestion_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, ingestion)
        return ingestion

    @extend_schema(
        summary="Commit a previewed file with its mapping",
        request=MappingInputSerializer,
        responses={200: IngestionDetailOutputSerializer},
        examples=COMMIT_EXAMPLES,
    )
    def post(self, request, *args, **kwargs):
        ingestion = self.get_object()
        data = self.validated_input(MappingInputSerializer)
        commit_mapping(request, ingestion, data)
        return ingestion_detail_response(self, selectors.ingestion_get(request.user, ingestion.pk))
