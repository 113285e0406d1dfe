"""Reference-material lots, spikes and tracer readouts (with the spike recovery and its standard uncertainty);
docs/standardization.md. Every write goes through the standards services (audited)."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status

from ..core.models import Lab
from ..isolation.models import EVPreparation, IsolationRun
from ..isolation.selectors import preparations_for, runs_for
from ..samples.models import Aliquot
from ..samples.selectors import aliquots_for
from ..standards import services
from ..standards.models import ReferenceMaterialLot, Spike, TracerReadout
from ..standards.recovery import recoveries, with_related
from ..standards.selectors import lots_for, readouts_for, spikes_for
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedPrimaryKeyRelatedField, labs_for

LOT_FIELDS = [
    "material",
    "lot_number",
    "supplier",
    "readout",
    "assigned_value",
    "assigned_uncertainty",
    "unit",
    "expires_on",
    "storage",
    "certificate",
]
REASON = serializers.CharField(required=False, allow_blank=True, help_text="Kept in the audit trail.")
SPIKE_FIGURES = [
    "amount",
    "amount_unit",
    "amount_uncertainty",
    "amount_uncertainty_basis",
    "amount_uncertainty_default",
    "matrix",
    "spiked_at",
    "notes",
]
READOUT_FIGURES = [
    "value",
    "standard_uncertainty",
    "replicates",
    "unit",
    "dilution_factor",
    "dilution_uncertainty",
    "volume_uncertainty_ul",
    "volume_uncertainty_basis",
    "volume_uncertainty_default",
    "measured_at",
    "notes",
]
AMOUNT_DEFAULT = serializers.BooleanField(
    required=False, help_text="Take the spiked volume's standard uncertainty from ISO 8655-2 for the pipette."
)
VOLUME_DEFAULT = serializers.BooleanField(
    required=False, help_text="Take the final volume's standard uncertainty from ISO 8655-2 for the pipette."
)


class LotOutputSerializer(serializers.ModelSerializer):
    readout_label = serializers.CharField(source="get_readout_display", read_only=True)

    class Meta:
        model = ReferenceMaterialLot
        fields = ["id", "lab", *LOT_FIELDS, "readout_label", "created_at"]
        read_only_fields = fields


class LotInputSerializer(serializers.ModelSerializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    reason = REASON

    class Meta:
        model = ReferenceMaterialLot
        fields = ["lab", *LOT_FIELDS, "reason"]
        validators = []  # uniqueness per lab is the service's rule


class SpikeOutputSerializer(serializers.ModelSerializer):
    lot_label = serializers.CharField(source="lot.__str__", read_only=True)
    aliquot_barcode = serializers.CharField(source="aliquot.barcode", read_only=True, default=None)
    run_code = serializers.CharField(source="run.code", read_only=True, default=None)

    class Meta:
        model = Spike
        fields = [
            "id",
            "lab",
            "lot",
            "lot_label",
            "aliquot",
            "aliquot_barcode",
            "run",
            "run_code",
            "amount",
            "amount_unit",
            "amount_uncertainty",
            "amount_uncertainty_basis",
            "matrix",
            "spiked_at",
            "notes",
            "status",
            "supersedes",
            "status_reason",
            "status_changed_at",
            "created_at",
        ]
        read_only_fields = fields


class SpikeInputSerializer(serializers.ModelSerializer):
    lot = ScopedPrimaryKeyRelatedField(scope=lots_for, model=ReferenceMaterialLot)
    aliquot = ScopedPrimaryKeyRelatedField(scope=aliquots_for, model=Aliquot, required=False, allow_null=True)
    run = ScopedPrimaryKeyRelatedField(scope=runs_for, model=IsolationRun, required=False, allow_null=True)
    spiked_at = serializers.DateTimeField(required=False, allow_null=True)
    amount_uncertainty_default = AMOUNT_DEFAULT
    reason = REASON

    class Meta:
        model = Spike
        fields = ["lot", "aliquot", "run", *SPIKE_FIGURES, "reason"]
        extra_kwargs = {"matrix": {"required": False, "allow_blank": True}}


class BudgetLineField(serializers.Serializer):
    source = serializers.CharField(help_text="lot, spike, readout, dilution or volume.")
    label = serializers.CharField()
    contribution_pct = serializers.FloatField(help_text="|∂R/∂x| · u(x), in % points of recovery.")
    share = serializers.FloatField(help_text="Its part of the variance (the shares add up to 1).")


class RecoveryField(serializers.Serializer):
    recovery_pct = serializers.FloatField(allow_null=True)
    uncertainty_pct = serializers.FloatField(allow_null=True, help_text="Standard uncertainty (k=1), in % points.")
    spiked = serializers.FloatField(allow_null=True)
    recovered = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(help_text="Unit of the spiked and recovered amounts.")
    problem = serializers.CharField(help_text="Why the recovery could not be computed; empty when it was.")
    budget = BudgetLineField(many=True, help_text="What each input gives of the standard uncertainty.")


class ReadoutOutputSerializer(serializers.ModelSerializer):
    preparation_barcode = serializers.CharField(source="preparation.barcode", read_only=True)
    recovery = serializers.SerializerMethodField()

    class Meta:
        model = TracerReadout
        fields = [
            "id",
            "lab",
            "spike",
            "preparation",
            "preparation_barcode",
            "value",
            "standard_uncertainty",
            "replicates",
            "unit",
            "dilution_factor",
            "dilution_uncertainty",
            "volume_uncertainty_ul",
            "volume_uncertainty_basis",
            "measured_at",
            "notes",
            "recovery",
            "status",
            "supersedes",
            "status_reason",
            "status_changed_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RecoveryField)
    def get_recovery(self, readout) -> dict:
        result = recoveries([readout])[0].recovery
        return {
            "recovery_pct": result.percent,
            "uncertainty_pct": result.percent_uncertainty,
            "spiked": result.spiked,
            "recovered": result.recovered,
            "unit": result.unit,
            "problem": result.problem,
            "budget": [
                {
                    "source": line.source,
                    "label": line.label,
                    "contribution_pct": 100.0 * line.contribution,
                    "share": line.share,
                }
                for line in result.budget
            ],
        }


class ReadoutInputSerializer(serializers.ModelSerializer):
    spike = ScopedPrimaryKeyRelatedField(scope=spikes_for, model=Spike)
    preparation = ScopedPrimaryKeyRelatedField(scope=preparations_for, model=EVPreparation)
    measured_at = serializers.DateTimeField(required=False, allow_null=True)
    replicates = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    volume_uncertainty_default = VOLUME_DEFAULT
    reason = REASON

    class Meta:
        model = TracerReadout
        fields = ["spike", "preparation", *READOUT_FIGURES, "reason"]


class LabFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")


class LotFilter(LabFilter):
    class Meta:
        model = ReferenceMaterialLot
        fields = ["lab", "readout"]


class SpikeFilter(LabFilter):
    lot = IdFilter(field_name="lot_id")
    run = IdFilter(field_name="run_id")

    class Meta:
        model = Spike
        fields = ["lab", "lot", "run"]


class ReadoutFilter(LabFilter):
    spike = IdFilter(field_name="spike_id")
    preparation = IdFilter(field_name="preparation_id")

    class Meta:
        model = TracerReadout
        fields = ["lab", "spike", "preparation"]


def _created(view, input_serializer, service):
    data = view.validated_input(input_serializer)
    return view.respond(service(actor=view.request.user, **data), status=status.HTTP_201_CREATED)


@extend_schema(tags=["reference materials"])
class LotListCreateApi(ScopedListApi):
    """Reference-material lots of your labs, with their assigned value and standard uncertainty (k=1)."""

    serializer_class = LotOutputSerializer
    filterset_class = LotFilter
    search_fields = ["material", "lot_number"]
    ordering_fields = ["material", "created_at"]
    ordering = ["material", "lot_number", "id"]

    def get_queryset(self):
        return lots_for(self.request.user)

    @extend_schema(summary="List reference-material lots")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a reference-material lot",
        request=LotInputSerializer,
        responses={201: LotOutputSerializer},
        examples=[
            OpenApiExample(
                "rEV lot",
                value={
                    "lab": 1,
                    "material": "rEV (recombinant GFP EVs)",
                    "lot_number": "REV-2025-03",
                    "readout": "fluorescent_nta",
                    "assigned_value": 1.0e10,
                    "assigned_uncertainty": 8.0e8,
                    "unit": "particles/mL",
                    "storage": "-80 °C, 10 µL vials",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return _created(self, LotInputSerializer, services.reference_lot_create)


@extend_schema(tags=["reference materials"])
class LotDetailApi(ScopedDetailApi):
    """One reference-material lot."""

    serializer_class = LotOutputSerializer

    def get_queryset(self):
        return lots_for(self.request.user)

    @extend_schema(summary="Read a reference-material lot")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["reference materials"])
class SpikeListCreateApi(ScopedListApi):
    """Spikes of a lot into an aliquot or into each input of an isolation run."""

    serializer_class = SpikeOutputSerializer
    filterset_class = SpikeFilter
    ordering_fields = ["spiked_at"]
    ordering = ["-spiked_at", "-id"]

    def get_queryset(self):
        return spikes_for(self.request.user)

    @extend_schema(summary="List spikes")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a spike",
        request=SpikeInputSerializer,
        responses={201: SpikeOutputSerializer},
        examples=[
            OpenApiExample(
                "10 µL of a lot into a plasma aliquot",
                value={"lot": 2, "aliquot": 15, "amount": 10, "amount_unit": "µL", "matrix": "Blood plasma"},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return _created(self, SpikeInputSerializer, services.spike_record)


@extend_schema(tags=["reference materials"])
class SpikeDetailApi(ScopedDetailApi):
    """One spike, of any version (superseded and voided ones are history)."""

    serializer_class = SpikeOutputSerializer

    def get_queryset(self):
        return spikes_for(self.request.user, versions=True)

    @extend_schema(summary="Read a spike")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["reference materials"])
class ReadoutListCreateApi(ScopedListApi):
    """Tracer readouts in preparations, each with its spike recovery and propagated standard uncertainty."""

    serializer_class = ReadoutOutputSerializer
    filterset_class = ReadoutFilter
    ordering_fields = ["measured_at"]
    ordering = ["-measured_at", "-id"]

    def get_queryset(self):
        return with_related(readouts_for(self.request.user))

    @extend_schema(summary="List tracer readouts with their recovery")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a tracer readout",
        request=ReadoutInputSerializer,
        responses={201: ReadoutOutputSerializer},
        examples=[
            OpenApiExample(
                "Fluorescent NTA of the preparation",
                value={
                    "spike": 3,
                    "preparation": 41,
                    "value": 4.1e8,
                    "standard_uncertainty": 2.0e7,
                    "unit": "particles/mL",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return _created(self, ReadoutInputSerializer, services.tracer_readout_record)


@extend_schema(tags=["reference materials"])
class ReadoutDetailApi(ScopedDetailApi):
    """One tracer readout with its spike recovery, of any version (superseded and voided ones are history)."""

    serializer_class = ReadoutOutputSerializer

    def get_queryset(self):
        return with_related(readouts_for(self.request.user, versions=True))

    @extend_schema(summary="Read a tracer readout")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
