"""Flow cytometry: FCS files uploaded for a preparation (or as its controls), gated into results with counts per
gate and the concentration per mL of the original sample, and bead calibrations (MESF/ERF, Mie sizes).

``POST flow/acquisitions/`` keeps the file and answers its header and warnings at once (events are read in the
background: ``status`` goes from ``queued`` to ``read``); a file that is not readable FCS is kept and answers 400
naming the keyword, with the failed acquisition's id. ``POST flow/acquisitions/{id}/results/`` applies gates.
"""

import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from ..core.models import Lab
from ..cytometry import services
from ..cytometry.models import FlowAcquisition, FlowCalibration, FlowResult
from ..cytometry.selectors import acquisitions_for, calibrations_for, results_for
from ..isolation.selectors import preparations_for
from .authentication import READ, RESULTS_WRITE
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi, ScopedPrimaryKeyRelatedField, labs_for
from .results.posting import actor_and_instrument, posting_lab


class FlowAcquisitionOutputSerializer(serializers.ModelSerializer):
    preparation = serializers.CharField(source="preparation.barcode", read_only=True, allow_null=True, default=None)
    header = serializers.JSONField(read_only=True, help_text="Instrument, parameters ($PnN, $PnS, $PnR, $PnE), …")
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = FlowAcquisition
        fields = [
            "id",
            "lab",
            "preparation",
            "role",
            "controls",
            "file_name",
            "raw_file",
            "status",
            "error",
            "instrument_name",
            "acquired_at",
            "event_count",
            "volume_ul",
            "dilution_factor",
            "data_repository",
            "data_accession",
            "data_url",
            "header",
            "warnings",
            "created_at",
        ]
        read_only_fields = fields


class FlowAcquisitionInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The FCS file (2.0, 3.0 or 3.1) exactly as the cytometer wrote it.")
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab, required=False, allow_null=True)
    preparation = serializers.CharField(required=False, allow_blank=True, max_length=40, help_text="Its barcode.")
    role = serializers.ChoiceField(choices=FlowAcquisition.Role.choices, default=FlowAcquisition.Role.SAMPLE)
    controls = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="The id of the EV sample acquisition it controls."
    )
    dilution_factor = serializers.FloatField(required=False, allow_null=True, min_value=1)
    volume_ul = serializers.FloatField(
        required=False, allow_null=True, min_value=0.000001, max_value=1e6, help_text="Analysed volume, if not $VOL."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FailedAcquisitionSerializer(serializers.Serializer):
    """A refused upload: the file is not readable FCS (file and acquisition are set), or the fields were bad (the
    body names them instead, as every 400 does)."""

    file = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Why the file could not be read."
    )
    acquisition = serializers.IntegerField(required=False, help_text="The failed acquisition, which keeps the file.")


class GateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    x = serializers.CharField(max_length=60, help_text="Parameter name ($PnN).")
    x_min = serializers.FloatField(required=False, allow_null=True)
    x_max = serializers.FloatField(required=False, allow_null=True)
    y = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    y_min = serializers.FloatField(required=False, allow_null=True)
    y_max = serializers.FloatField(required=False, allow_null=True)
    marker = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    parent = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class FlowResultInputSerializer(serializers.Serializer):
    gates = GateSerializer(many=True, min_length=1, max_length=40)
    particle_gate = serializers.CharField(max_length=60, help_text="The gate whose events are the EVs counted.")
    calibrations = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=40)
    volume_ul = serializers.FloatField(required=False, allow_null=True, min_value=0.000001, max_value=1e6)
    dilution_factor = serializers.FloatField(required=False, allow_null=True, min_value=1)
    source = serializers.CharField(required=False, allow_blank=True, max_length=120, help_text="e.g. FlowJo 10.9")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FlowResultOutputSerializer(serializers.ModelSerializer):
    counts = serializers.JSONField(read_only=True, help_text="[{gate, parent, marker, events, percent_of_parent}]")
    gates = serializers.JSONField(read_only=True)
    axes = serializers.JSONField(read_only=True, help_text="{parameter: units}")
    sizes = serializers.JSONField(read_only=True)

    class Meta:
        model = FlowResult
        fields = [
            "id",
            "lab",
            "acquisition",
            "measurement",
            "gates",
            "particle_gate",
            "counts",
            "axes",
            "calibrations",
            "source",
            "volume_ul",
            "dilution_factor",
            "concentration_per_ml",
            "concentration_note",
            "sizes",
            "created_at",
        ]
        read_only_fields = fields


class FlowCalibrationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlowCalibration
        fields = [
            "id",
            "lab",
            "instrument",
            "name",
            "kind",
            "channel",
            "units",
            "beads",
            "lot",
            "calibrated_on",
            "measured",
            "assigned",
            "optics",
            "fit",
            "created_at",
        ]
        read_only_fields = fields


class OpticsSerializer(serializers.Serializer):
    bead_index = serializers.FloatField(min_value=1, max_value=3, default=1.591, help_text="Polystyrene: 1.591")
    particle_index = serializers.FloatField(min_value=1, max_value=3, default=1.40, help_text="EVs: about 1.37–1.42")
    medium_index = serializers.FloatField(min_value=1, max_value=3, default=1.333, help_text="Water: 1.333")
    wavelength_nm = serializers.FloatField(min_value=200, max_value=1100, default=488)


class FlowCalibrationInputSerializer(serializers.Serializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab, required=False, allow_null=True)
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=FlowCalibration.Kind.choices)
    channel = serializers.CharField(max_length=60)
    units = serializers.ChoiceField(choices=FlowCalibration.Units.choices)
    beads = serializers.CharField(max_length=200)
    lot = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    calibrated_on = serializers.DateField()
    measured = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=40)
    assigned = serializers.ListField(
        child=serializers.FloatField(min_value=0), min_length=2, max_length=40, help_text="MESF/ERF, or nm."
    )
    optics = OpticsSerializer(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AcquisitionFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = FlowAcquisition
        fields = ["lab", "role", "status"]


class CalibrationFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = FlowCalibration
        fields = ["lab", "kind", "channel"]


def _preparation(request, barcode):
    if not barcode:
        return None
    preparation = preparations_for(request.user).filter(barcode=barcode).first()
    if preparation is None:
        raise ValidationError({"preparation": [f"No preparation {barcode} in your labs."]})
    return preparation


@extend_schema(tags=["flow cytometry"])
class FlowAcquisitionListCreateApi(ScopedListApi):
    """FCS files of your labs, newest first; upload one for a preparation or as a control of another."""

    serializer_class = FlowAcquisitionOutputSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_class = AcquisitionFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    api_key_scopes = {"read": READ, "write": RESULTS_WRITE}

    def get_queryset(self):
        return acquisitions_for(self.request.user)

    @extend_schema(summary="List FCS files")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload an FCS file",
        request={"multipart/form-data": FlowAcquisitionInputSerializer},
        responses={
            201: FlowAcquisitionOutputSerializer,
            400: OpenApiResponse(FailedAcquisitionSerializer, description="Not readable FCS (kept), or bad fields."),
        },
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(FlowAcquisitionInputSerializer)
        preparation = _preparation(request, data.get("preparation"))
        lab = preparation.lab if preparation is not None else posting_lab(request, data.get("lab"))
        controls = None
        if data.get("controls"):
            controls = acquisitions_for(request.user).filter(pk=data["controls"]).first()
            if controls is None:
                raise ValidationError({"controls": [f"No acquisition {data['controls']} in your labs."]})
        upload = data["file"]
        actor, instrument = actor_and_instrument(request)
        try:
            acquisition = services.acquisition_upload(
                actor=actor,
                instrument=instrument,
                lab=lab,
                data=upload.read(),
                name=upload.name,
                preparation=preparation,
                role=data["role"],
                controls=controls,
                dilution_factor=data.get("dilution_factor"),
                volume_ul=data.get("volume_ul"),
                reason=data["reason"],
            )
        except services.AcquisitionRefused as refused:
            body = {"file": refused.message_dict["file"], "acquisition": refused.acquisition.pk}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return self.respond(acquisition, status=status.HTTP_201_CREATED)


@extend_schema(tags=["flow cytometry"])
class FlowAcquisitionDetailApi(ScopedDetailApi):
    """One FCS file: its header, warnings and reading status."""

    serializer_class = FlowAcquisitionOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return acquisitions_for(self.request.user)

    @extend_schema(summary="Read an FCS file's header")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


GATES_EXAMPLE = OpenApiExample(
    "Particles, then CD63⁺ among them, on MESF",
    value={
        "gates": [
            {"name": "EVs", "x": "SSC-H", "x_min": 100},
            {"name": "CD63+", "x": "FL2-H", "x_min": 1000, "marker": "CD63", "parent": "EVs"},
        ],
        "particle_gate": "EVs",
        "calibrations": [1],
        "dilution_factor": 100,
    },
    request_only=True,
)


@extend_schema(tags=["flow cytometry"])
class FlowResultCreateApi(ScopedObjectApi):
    """Gate an FCS file: counts per gate, % of the parent gate, concentration per mL of the original sample."""

    serializer_class = FlowResultOutputSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        return acquisitions_for(self.request.user).select_related("raw_file")

    @extend_schema(
        summary="Gate an FCS file",
        request=FlowResultInputSerializer,
        responses={201: FlowResultOutputSerializer},
        examples=[GATES_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        acquisition = self.get_object()
        data = self.validated_input(FlowResultInputSerializer)
        wanted = data.get("calibrations") or []
        calibrations = list(calibrations_for(request.user).filter(pk__in=wanted))
        if len(calibrations) != len(set(wanted)):
            raise ValidationError({"calibrations": ["A calibration is not one of your labs'."]})
        result = services.result_record(
            actor=request.user,
            acquisition=acquisition,
            gates=data["gates"],
            particle_gate=data["particle_gate"],
            calibrations=calibrations,
            volume_ul=data.get("volume_ul"),
            dilution_factor=data.get("dilution_factor"),
            source=data.get("source", ""),
            reason=data["reason"],
        )
        return Response(FlowResultOutputSerializer(result).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["flow cytometry"])
class FlowResultDetailApi(ScopedDetailApi):
    """One gated result."""

    serializer_class = FlowResultOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return results_for(self.request.user)

    @extend_schema(summary="Read a flow cytometry result")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["flow cytometry"])
class FlowCalibrationListCreateApi(ScopedListApi):
    """Bead calibrations of your labs; record one from the beads' medians and assigned values."""

    serializer_class = FlowCalibrationOutputSerializer
    parser_classes = [JSONParser]
    filterset_class = CalibrationFilter
    ordering_fields = ["calibrated_on", "created_at"]
    ordering = ["-calibrated_on", "-id"]
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return calibrations_for(self.request.user)

    @extend_schema(summary="List bead calibrations")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a bead calibration",
        request=FlowCalibrationInputSerializer,
        responses={201: FlowCalibrationOutputSerializer},
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(FlowCalibrationInputSerializer)
        lab = posting_lab(request, data.pop("lab", None))
        calibration = services.calibration_create(actor=request.user, lab=lab, **data)
        return self.respond(calibration, status=status.HTTP_201_CREATED)


@extend_schema(tags=["flow cytometry"])
class FlowCalibrationDetailApi(ScopedDetailApi):
    """One bead calibration with its fit."""

    serializer_class = FlowCalibrationOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return calibrations_for(self.request.user)

    @extend_schema(summary="Read a bead calibration")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
