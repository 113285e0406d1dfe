"""Gates imported from a FlowJo workspace (.wsp) or a Gating-ML 2.0 file (FCMPASS, FlowKit, Cytobank) applied to
an FCS file: ``POST flow/acquisitions/{id}/imported-gates/`` (multipart) answers the result, each count naming its
gate and the file it came from; a file whose gates cannot be imported answers 400 on ``gates_file``."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from ..cytometry import gate_services
from ..cytometry.selectors import acquisitions_for, calibrations_for
from .base import ScopedObjectApi
from .flow import FlowAcquisitionOutputSerializer, FlowResultOutputSerializer


class GateImportInputSerializer(serializers.Serializer):
    gates_file = serializers.FileField(help_text="A FlowJo workspace (.wsp) or a Gating-ML 2.0 file (.xml).")
    particle_gate = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default="", help_text="Default: the first top-level gate."
    )
    calibrations = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=40)
    volume_ul = serializers.FloatField(required=False, allow_null=True, min_value=0.000001, max_value=1e6)
    dilution_factor = serializers.FloatField(required=False, allow_null=True, min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(tags=["flow cytometry"])
class FlowGateImportApi(ScopedObjectApi):
    """Apply the rectangle and threshold gates of a FlowJo workspace or Gating-ML 2.0 file to an FCS file."""

    serializer_class = FlowResultOutputSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return acquisitions_for(self.request.user).select_related("raw_file")

    @extend_schema(
        summary="Gate an FCS file with imported gates",
        request={"multipart/form-data": GateImportInputSerializer},
        responses={201: FlowResultOutputSerializer},
    )
    def post(self, request, *args, **kwargs):
        acquisition = self.get_object()
        data = self.validated_input(GateImportInputSerializer)
        wanted = data.get("calibrations") or []
        calibrations = list(calibrations_for(request.user).filter(pk__in=wanted))
        if len(calibrations) != len(set(wanted)):
            raise ValidationError({"calibrations": ["A calibration is not one of your labs'."]})
        upload = data["gates_file"]
        result = gate_services.result_import(
            actor=request.user,
            acquisition=acquisition,
            data=upload.read(),
            name=upload.name,
            particle_gate=data["particle_gate"],
            calibrations=calibrations,
            volume_ul=data.get("volume_ul"),
            dilution_factor=data.get("dilution_factor"),
            reason=data["reason"],
        )
        return Response(FlowResultOutputSerializer(result).data, status=status.HTTP_201_CREATED)


class DataSharingInputSerializer(serializers.Serializer):
    data_repository = serializers.CharField(max_length=80, allow_blank=True, help_text="e.g. FlowRepository")
    data_accession = serializers.CharField(max_length=80, allow_blank=True, help_text="e.g. FR-FCM-Z2ZY")
    data_url = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="Default for FlowRepository: its page."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(tags=["flow cytometry"])
class FlowDataSharingApi(ScopedObjectApi):
    """Record where an FCS file is shared: repository, accession and address (empty repository and accession clear
    it)."""

    serializer_class = FlowAcquisitionOutputSerializer

    def get_queryset(self):
        return acquisitions_for(self.request.user)

    @extend_schema(
        summary="Record where an FCS file is shared",
        request=DataSharingInputSerializer,
        responses={200: FlowAcquisitionOutputSerializer},
    )
    def post(self, request, *args, **kwargs):
        acquisition = self.get_object()
        data = self.validated_input(DataSharingInputSerializer)
        acquisition = gate_services.acquisition_share(
            actor=request.user,
            acquisition=acquisition,
            repository=data["data_repository"],
            accession=data["data_accession"],
            url=data["data_url"],
            reason=data["reason"],
        )
        return Response(FlowAcquisitionOutputSerializer(acquisition).data, status=status.HTTP_200_OK)
