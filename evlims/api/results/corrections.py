"""``POST /measurements/{id}/correct/`` and ``/void/``: a result corrected (a new result superseding it) or voided,
with the reason. Who may: the person who recorded it, or a lab admin of its lab (for a result an instrument
posted, the lab admins and the person who sent it); instrument keys never. Only a current result can be
corrected or voided; on an approved preparation the change voids the approval (characterization.corrections)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from ...characterization import corrections, selectors
from ...characterization.models import Measurement
from ...core.record_versions import reason_required
from ...core.tenancy import visible_lab_ids
from ..base import ScopedObjectApi
from ..payloads import ResultPayload
from .outputs import MeasurementDetailOutputSerializer

REASON_HELP = (
    "Why the result is changed; kept with the old version and in the audit trail. On an approved preparation the "
    "approval is voided with this reason."
)


class ResultCorrectionSchemaSerializer(ResultPayload):
    """The corrected result: a full result document of the same kind and subject (``kind``, ``preparation`` or
    ``input_sample`` may be left out: the corrected result's are used), with the reason. What the document does
    not give is not carried over, except an imaging result's image files."""

    reason = serializers.CharField(help_text=REASON_HELP)


class ResultVoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text=REASON_HELP,
        error_messages={
            "required": reason_required("result", "voided"),
            "blank": reason_required("result", "voided"),
        },
    )


CORRECT_EXAMPLE = OpenApiExample(
    "A protein concentration typed with the wrong dilution",
    value={
        "kind": "protein",
        "method": "bca",
        "preparation": "EVP-0000042",
        "protein": {"assay": "bca", "concentration_ug_per_ml": 125.0, "volume_assayed_ul": 10},
        "reason": "Concentration was typed before the 1:10 dilution was applied.",
    },
    request_only=True,
)
VOID_EXAMPLE = OpenApiExample(
    "A blot with a recalled antibody lot",
    value={"reason": "Antibody lot 4411 recalled by the supplier."},
    request_only=True,
)
REFUSED_EXAMPLES = [
    OpenApiExample(
        "No reason given",
        value={"reason": ["Say why the result is corrected; the reason is kept with it and in the audit trail."]},
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "A marker not in the vocabulary",
        value={
            "marker.protein": [
                "CD-63 is not in the marker vocabulary. Did you mean CD63? To record it as typed, send "
                '"protein_confirmed": true.'
            ]
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Corrected already",
        value={"status": ["This result is superseded by a correction already: only the current result can be voided."]},
        response_only=True,
        status_codes=["400"],
    ),
]


class MeasurementChangeApi(ScopedObjectApi):
    """A change to one result of the user's labs (of any status: a superseded one answers 400, not 404)."""

    serializer_class = MeasurementDetailOutputSerializer

    def get_queryset(self):
        return Measurement.all_versions.filter(lab_id__in=visible_lab_ids(self.request.user))

    def answer(self, measurement, code):
        current = selectors.measurement_get(self.request.user, measurement.pk)
        context = self.get_serializer_context() | {"bins": selectors.size_bins([current.pk])}
        return Response(MeasurementDetailOutputSerializer(current, context=context).data, status=code)


@extend_schema(
    tags=["results"],
    summary="Correct a result",
    request=ResultCorrectionSchemaSerializer,
    responses={
        201: OpenApiResponse(MeasurementDetailOutputSerializer, description="The correction, now the current result."),
        400: OpenApiResponse(
            description="The document, the reason or the result's status was refused; nothing was "
            "written. The answer names the field (marker.protein, reason, status)."
        ),
    },
    examples=[CORRECT_EXAMPLE, *REFUSED_EXAMPLES],
)
class MeasurementCorrectApi(MeasurementChangeApi):
    """Record a corrected result; the one in the path becomes superseded by it (kept, with the reason)."""

    def post(self, request, *args, **kwargs):
        measurement = self.get_object()
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"document": ["Send the corrected result document as a JSON object."]})
        document = dict(request.data)
        reason = document.pop("reason", "")
        if not isinstance(reason, str):
            raise exceptions.ValidationError({"reason": ["Give the reason as text."]})
        new = corrections.result_correct(actor=request.user, measurement=measurement, document=document, reason=reason)
        return self.answer(new, status.HTTP_201_CREATED)


@extend_schema(
    tags=["results"],
    summary="Void a result",
    request=ResultVoidInputSerializer,
    responses={200: OpenApiResponse(MeasurementDetailOutputSerializer, description="The result, now voided.")},
    examples=[VOID_EXAMPLE, REFUSED_EXAMPLES[0], REFUSED_EXAMPLES[2]],
)
class MeasurementVoidApi(MeasurementChangeApi):
    """Void a result: it stays in the record with the reason, and counts nowhere any more."""

    def post(self, request, *args, **kwargs):
        measurement = self.get_object()
        data = self.validated_input(ResultVoidInputSerializer)
        voided = corrections.result_void(actor=request.user, measurement=measurement, reason=data["reason"])
        return self.answer(voided, status.HTTP_200_OK)
