"""``POST /tracer-readouts/{id}/correct/`` and ``/void/``, ``POST /spikes/{id}/correct/`` and ``/void/``: a spike or
tracer readout corrected (a new version superseding it; what is not sent is carried over) or voided, with the
reason. Who may: the person who recorded it, or a lab admin of its lab. Only a current version can be changed; on
an approved preparation the change voids the approval (standards.services.changes, docs/standardization.md)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status

from ..core.record_versions import reason_required
from ..standards import services
from ..standards.models import Spike, TracerReadout
from ..standards.recovery import with_related
from ..standards.selectors import readouts_for, spikes_for
from .base import ScopedObjectApi
from .standards import (
    AMOUNT_DEFAULT,
    READOUT_FIGURES,
    SPIKE_FIGURES,
    VOLUME_DEFAULT,
    ReadoutOutputSerializer,
    SpikeOutputSerializer,
)

REASON_HELP = (
    "Why it is changed; kept with the old version and in the audit trail. On an approved preparation the approval "
    "is voided with this reason."
)


def _reason(what: str, action: str):
    words = reason_required(what, action)
    return serializers.CharField(help_text=REASON_HELP, error_messages={"required": words, "blank": words})


class ReadoutCorrectionSerializer(serializers.ModelSerializer):
    """The readout's figures to change; those not sent keep the old version's."""

    measured_at = serializers.DateTimeField(required=False)
    replicates = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    volume_uncertainty_default = VOLUME_DEFAULT
    reason = _reason("tracer readout", "corrected")

    class Meta:
        model = TracerReadout
        fields = [*READOUT_FIGURES, "reason"]
        extra_kwargs = {name: {"required": False} for name in READOUT_FIGURES}


class SpikeCorrectionSerializer(serializers.ModelSerializer):
    """The spike's figures to change (lot and target stay); those not sent keep the old version's."""

    spiked_at = serializers.DateTimeField(required=False)
    amount_uncertainty_default = AMOUNT_DEFAULT
    reason = _reason("spike", "corrected")

    class Meta:
        model = Spike
        fields = [*SPIKE_FIGURES, "reason"]
        extra_kwargs = {name: {"required": False} for name in SPIKE_FIGURES}


class ReadoutVoidSerializer(serializers.Serializer):
    reason = _reason("tracer readout", "voided")


class SpikeVoidSerializer(serializers.Serializer):
    reason = _reason("spike", "voided")


REFUSED = [
    OpenApiExample(
        "No reason given",
        value={
            "reason": ["Say why the tracer readout is corrected; the reason is kept with it and in the audit trail."]
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Changed already",
        value={"status": ["This tracer readout is voided already: only the current version can be corrected."]},
        response_only=True,
        status_codes=["400"],
    ),
]
REFUSED_400 = OpenApiResponse(
    description="The figures, the reason or the record's status were refused; nothing was written. The answer "
    "names the field (value, reason, status)."
)


class _ChangeApi(ScopedObjectApi):
    """A change to one spike or readout of the user's labs (of any version: a superseded one answers 400)."""

    change = None  # the service
    input_serializer = None
    field = ""  # the service's name for the record

    def post(self, request, *args, **kwargs):
        record = self.get_object()
        data = self.validated_input(self.input_serializer)
        changed = type(self).change(actor=request.user, **{self.field: record}, **data)
        code = status.HTTP_200_OK if changed.pk == record.pk else status.HTTP_201_CREATED
        return self.respond(self.get_queryset().get(pk=changed.pk), status=code)


class _ReadoutChangeApi(_ChangeApi):
    serializer_class = ReadoutOutputSerializer
    field = "readout"

    def get_queryset(self):
        return with_related(readouts_for(self.request.user, versions=True))


class _SpikeChangeApi(_ChangeApi):
    serializer_class = SpikeOutputSerializer
    field = "spike"

    def get_queryset(self):
        return spikes_for(self.request.user, versions=True)


@extend_schema(
    tags=["reference materials"],
    summary="Correct a tracer readout",
    request=ReadoutCorrectionSerializer,
    responses={201: OpenApiResponse(ReadoutOutputSerializer, description="The new current version."), 400: REFUSED_400},
    examples=[
        OpenApiExample(
            "A readout typed before the 1:10 dilution",
            value={"value": 4.1e7, "dilution_factor": 10, "dilution_uncertainty": 0.2, "reason": "Read at 1:10."},
            request_only=True,
        ),
        *REFUSED,
    ],
)
class ReadoutCorrectApi(_ReadoutChangeApi):
    """Record a corrected tracer readout; the one in the path becomes superseded by it (kept, with the reason)."""

    change = services.tracer_readout_correct
    input_serializer = ReadoutCorrectionSerializer


@extend_schema(
    tags=["reference materials"],
    summary="Void a tracer readout",
    request=ReadoutVoidSerializer,
    responses={200: OpenApiResponse(ReadoutOutputSerializer, description="The readout, now voided."), 400: REFUSED_400},
    examples=[OpenApiExample("A swapped tube", value={"reason": "Tube swapped at the reader."}, request_only=True)],
)
class ReadoutVoidApi(_ReadoutChangeApi):
    """Void a tracer readout: it stays in the record with the reason, and no recovery counts it."""

    change = services.tracer_readout_void
    input_serializer = ReadoutVoidSerializer


@extend_schema(
    tags=["reference materials"],
    summary="Correct a spike",
    request=SpikeCorrectionSerializer,
    responses={201: OpenApiResponse(SpikeOutputSerializer, description="The new current version."), 400: REFUSED_400},
    examples=[
        OpenApiExample(
            "20 µL spiked, not 10",
            value={"amount": 20, "amount_uncertainty_default": True, "reason": "20 µL were spiked, not 10."},
            request_only=True,
        )
    ],
)
class SpikeCorrectApi(_SpikeChangeApi):
    """Record a corrected spike; the one in the path becomes superseded, and its current readouts follow."""

    change = services.spike_correct
    input_serializer = SpikeCorrectionSerializer


@extend_schema(
    tags=["reference materials"],
    summary="Void a spike",
    request=SpikeVoidSerializer,
    responses={200: OpenApiResponse(SpikeOutputSerializer, description="The spike, now voided."), 400: REFUSED_400},
    examples=[OpenApiExample("The wrong run", value={"reason": "Spiked into the wrong run."}, request_only=True)],
)
class SpikeVoidApi(_SpikeChangeApi):
    """Void a spike (refused while a current tracer readout rests on it): it stays in the record with the reason."""

    change = services.spike_void
    input_serializer = SpikeVoidSerializer
