"""``POST /files/``: a raw instrument file, kept byte for byte, parsed, and committed at once when a mapping
comes with it (``instruments.services.uploads.file_upload_and_commit``)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from ...characterization import selectors
from ...instruments.models import Ingestion
from ...instruments.services import file_ingestion, uploads
from ..authentication import RESULTS_WRITE
from ..base import ScopedApi
from .examples import FILE_UPLOAD_EXAMPLES
from .ingestions import failed_upload_response, ingestion_detail_response, refused_mapping
from .inputs import FileUploadInputSerializer
from .outputs import FailedUploadSerializer, IngestionDetailOutputSerializer
from .posting import (
    IDEMPOTENCY_PARAMETER,
    actor_and_instrument,
    idempotency_key,
    posting_lab,
    replay_headers,
    reraise_key_reuse,
)


@extend_schema(tags=["results"])
class FileUploadApi(ScopedApi):
    """Upload a raw instrument file. It is kept byte for byte before anything reads it, then parsed."""

    serializer_class = IngestionDetailOutputSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = None
    filter_backends = []
    api_key_scopes = {"write": RESULTS_WRITE}

    @extend_schema(
        summary="Upload an instrument file: preview, or commit at once with a mapping",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": FileUploadInputSerializer},
        responses={
            201: IngestionDetailOutputSerializer,
            400: OpenApiResponse(
                FailedUploadSerializer, description="The parser refused the file (it is kept), or bad metadata."
            ),
            422: OpenApiResponse(description="The Idempotency-Key was used before for another file."),
        },
        examples=FILE_UPLOAD_EXAMPLES,
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        serializer = self.checked_input(FileUploadInputSerializer)
        data = serializer.validated_data
        lab = posting_lab(request, data.get("lab"))
        layout = data.get("plate_layout")
        if layout is not None and layout.lab_id != lab.pk:
            raise ValidationError({"plate_layout": [f"The layout {layout.name} is not a layout of {lab.name}."]})
        actor, instrument = actor_and_instrument(request)
        upload = data["file"]
        try:
            ingestion, replayed = uploads.file_upload_and_commit(
                actor=actor,
                lab=lab,
                data=upload.read(),
                name=upload.name,
                file_format=data["format"],
                instrument=instrument,
                idempotency_key=key,
                content_type=upload.content_type or "",
                parse_options=serializer.parse_options(),
                mapping=data.get("mapping"),
                dilutions=data.get("dilutions"),
                calibration=data.get("calibration", ""),
                keep_invalid_captures=data.get("keep_invalid_captures", False),
                measured_at=data.get("measured_at"),
                reason=data.get("reason", ""),
            )
        except file_ingestion.FileRejected as rejected:
            return failed_upload_response(rejected.ingestion)
        except uploads.CommitRefused as refused:
            # The file stays stored and previewed: say which ingestion to commit once corrected.
            detail = refused_mapping(refused) | {"ingestion": refused.ingestion.pk}
            return Response(detail, status=status.HTTP_400_BAD_REQUEST, headers=replay_headers(refused.replayed))
        except DjangoValidationError as error:
            reraise_key_reuse(error)
        if ingestion.status == Ingestion.Status.FAILED:
            return failed_upload_response(ingestion, replayed=replayed)
        ingestion = selectors.ingestion_get(request.user, ingestion.pk)
        return ingestion_detail_response(self, ingestion, status_code=status.HTTP_201_CREATED, replayed=replayed)
