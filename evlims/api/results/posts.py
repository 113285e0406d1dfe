"""``POST /results/``: one or many result documents, stored all or nothing."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ...instruments import services
from ..authentication import RESULTS_WRITE
from ..base import ScopedApi
from .examples import BULK_POST_EXAMPLE, KEY_REUSED_EXAMPLE, NTA_POST_EXAMPLE, POSTED_EXAMPLE, REFUSED_EXAMPLE
from .inputs import ResultsPostInputSerializer, ResultsPostSchemaSerializer
from .outputs import ResultsPostedSerializer
from .posting import (
    IDEMPOTENCY_PARAMETER,
    actor_and_instrument,
    idempotency_key,
    posting_lab,
    replay_headers,
    reraise_key_reuse,
)


@extend_schema(tags=["results"])
class ResultsPostApi(ScopedApi):
    """Post one or many result documents (at most MAX_RESULTS_PER_POST), stored all or nothing."""

    serializer_class = ResultsPostedSerializer
    pagination_class = None
    filter_backends = []
    api_key_scopes = {"write": RESULTS_WRITE}

    @extend_schema(
        summary="Post results (instruments and people)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ResultsPostSchemaSerializer,
        responses={
            201: ResultsPostedSerializer,
            400: OpenApiResponse(description="A result was refused; the answer names it. Nothing was stored."),
            422: OpenApiResponse(description="The Idempotency-Key was used before for another body."),
        },
        examples=[NTA_POST_EXAMPLE, BULK_POST_EXAMPLE, POSTED_EXAMPLE, REFUSED_EXAMPLE, KEY_REUSED_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        data = self.validated_input(ResultsPostInputSerializer)
        lab = posting_lab(request, data.get("lab"))
        actor, instrument = actor_and_instrument(request)
        try:
            ingestion, replayed = services.results_ingest(
                actor=actor,
                lab=lab,
                documents=data["results"],
                instrument=instrument,
                idempotency_key=key,
                external_run_id=data["external_run_id"],
            )
        except DjangoValidationError as error:
            reraise_key_reuse(error)
        body = {
            "ingestion": ingestion.pk,
            "status": ingestion.status,
            "external_run_id": ingestion.external_run_id,
            "measurements": list(ingestion.response.get("measurements", [])),
        }
        return Response(body, status=status.HTTP_201_CREATED, headers=replay_headers(replayed))
