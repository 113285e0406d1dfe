"""Samples: the received specimen with its pre-analytical record, quality flags, SPREC code and aliquots."""

from collections import Counter
from decimal import Decimal

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from ..core.models import Project
from ..samples import services
from ..samples.models import Aliquot, Donor, Sample, StorageUnit
from ..samples.quality import quality_flags
from ..samples.selectors import (
    aliquots_for,
    donors_for,
    projects_for,
    sample_get,
    sample_list,
    samples_for,
    storage_units_for,
    with_available_aliquots,
)
from ..samples.sprec import sprec_code
from .aliquots import AliquotOutputSerializer
from .base import (
    EditSerializer,
    IdFilter,
    QualityFlagSerializer,
    ScopedDetailApi,
    ScopedListApi,
    ScopedObjectApi,
    ScopedPrimaryKeyRelatedField,
    split_edit,
    volume_ul_field,
)
from .exceptions import errors_named_as_payload

# The pre-analytical record, in model order; project and donor are relations handled separately.
SAMPLE_RECORD_FIELDS = [
    field.name
    for field in Sample._meta.concrete_fields
    if field.name in services.SAMPLE_EDITABLE and field.name not in {"project", "donor"}
]
# Rules the database enforces as table constraints, checked here so they come back as field errors.
SAMPLE_FIELD_RULES = {
    "volume_ml": {"min_value": Decimal("0.001"), "error_messages": {"min_value": "Volume must be more than 0 mL."}},
    "viability_pct_at_harvest": {"min_value": Decimal(0), "max_value": Decimal(100)},
}


class SampleListOutputSerializer(serializers.ModelSerializer):
    project_code = serializers.CharField(source="project.code", read_only=True)
    donor_code = serializers.CharField(source="donor.code", read_only=True, allow_null=True, default=None)
    available_aliquots = serializers.IntegerField(source="aliquot_count", read_only=True)

    class Meta:
        model = Sample
        fields = [
            "id",
            "barcode",
            "external_id",
            "lab",
            "project",
            "project_code",
            "donor",
            "donor_code",
            "biofluid",
            "volume_ml",
            "collected_at",
            "received_at",
            "available_aliquots",
            "version",
        ]
        read_only_fields = fields


class AliquotBriefSerializer(serializers.ModelSerializer):
    location = serializers.SerializerMethodField()

    class Meta:
        model = Aliquot
        fields = ["id", "barcode", "parent", "volume_ul", "status", "freeze_thaw_count", "location"]
        read_only_fields = fields

    def get_location(self, aliquot) -> str:
        return f"{aliquot.box} {aliquot.position_label}" if aliquot.box_id else ""


class AliquotSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    available = serializers.IntegerField()
    available_volume_ul = serializers.DecimalField(max_digits=12, decimal_places=1)
    by_status = serializers.DictField(child=serializers.IntegerField())
    items = AliquotBriefSerializer(many=True)


def aliquot_summary(aliquots) -> dict:
    available = [a for a in aliquots if a.status == Aliquot.Status.AVAILABLE]
    return {
        "total": len(aliquots),
        "available": len(available),
        "available_volume_ul": sum((a.volume_ul for a in available), Decimal(0)),
        "by_status": dict(Counter(a.status for a in aliquots)),
        "items": aliquots,
    }


class SampleDetailOutputSerializer(serializers.ModelSerializer):
    """The full record. Pass ``aliquots`` (the sample's aliquots, read through a selector) in the context."""

    project_code = serializers.CharField(source="project.code", read_only=True)
    donor_code = serializers.CharField(source="donor.code", read_only=True, allow_null=True, default=None)
    quality_flags = serializers.SerializerMethodField()
    sprec_code = serializers.SerializerMethodField()
    aliquots = serializers.SerializerMethodField()

    class Meta:
        model = Sample
        fields = [
            "id",
            "barcode",
            "lab",
            "project",
            "project_code",
            "donor",
            "donor_code",
            *SAMPLE_RECORD_FIELDS,
            "version",
            "created_at",
            "updated_at",
            "quality_flags",
            "sprec_code",
            "aliquots",
        ]
        read_only_fields = fields

    @extend_schema_field(QualityFlagSerializer(many=True))
    def get_quality_flags(self, sample):
        return QualityFlagSerializer(quality_flags(sample), many=True).data

    def get_sprec_code(self, sample) -> str | None:
        return sprec_code(sample)

    @extend_schema_field(AliquotSummarySerializer)
    def get_aliquots(self, sample):
        return AliquotSummarySerializer(aliquot_summary(self.context["aliquots"])).data


class SampleCreateInputSerializer(serializers.ModelSerializer):
    project = ScopedPrimaryKeyRelatedField(scope=projects_for, model=Project)
    donor = ScopedPrimaryKeyRelatedField(scope=donors_for, model=Donor, required=False, allow_null=True)
    barcode = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="Leave empty to have one issued."
    )
    aliquot_volumes_ul = serializers.ListField(
        child=volume_ul_field(),
        required=False,
        max_length=384,
        help_text="First aliquots to cut from the sample (µL each).",
    )
    box = ScopedPrimaryKeyRelatedField(
        scope=storage_units_for,
        model=StorageUnit,
        required=False,
        allow_null=True,
        help_text="Box to place the first aliquots in (first free positions).",
    )
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Kept in the audit trail.")

    class Meta:
        model = Sample
        fields = ["project", "donor", "barcode", *SAMPLE_RECORD_FIELDS, "aliquot_volumes_ul", "box", "reason"]
        extra_kwargs = SAMPLE_FIELD_RULES

    def validate(self, attrs):
        if attrs.get("box") is not None and not attrs.get("aliquot_volumes_ul"):
            raise serializers.ValidationError({"box": "A box is only used to place aliquot_volumes_ul."})
        return attrs


class SampleUpdateInputSerializer(EditSerializer, serializers.ModelSerializer):
    project = ScopedPrimaryKeyRelatedField(scope=projects_for, model=Project, required=False)
    donor = ScopedPrimaryKeyRelatedField(scope=donors_for, model=Donor, required=False, allow_null=True)

    class Meta:
        model = Sample
        fields = ["project", "donor", *SAMPLE_RECORD_FIELDS, "reason", "version"]
        extra_kwargs = {name: {"required": False, **SAMPLE_FIELD_RULES.get(name, {})} for name in SAMPLE_RECORD_FIELDS}


class SampleAliquotsInputSerializer(serializers.Serializer):
    volumes_ul = serializers.ListField(child=volume_ul_field(), min_length=1, max_length=384)
    box = ScopedPrimaryKeyRelatedField(scope=storage_units_for, model=StorageUnit, required=False, allow_null=True)


class SampleFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    donor = IdFilter(field_name="donor_id")
    lab = IdFilter(field_name="lab_id")
    collected_at = django_filters.IsoDateTimeFromToRangeFilter(
        label="Collected between collected_at_after and collected_at_before (ISO 8601, inclusive)."
    )

    class Meta:
        model = Sample
        fields = ["lab", "project", "donor", "biofluid", "collected_at"]


SAMPLE_CREATE_EXAMPLE = OpenApiExample(
    "Plasma tube with three aliquots",
    value={
        "project": 3,
        "donor": 12,
        "external_id": "SITE-A-0193",
        "biofluid": "blood_plasma",
        "volume_ml": "4.000",
        "collected_at": "2025-03-04T08:15:00Z",
        "anticoagulant": "k2_edta",
        "processing_delay_min": 45,
        "prep_spin_g": 2500,
        "prep_spin_min": 15,
        "prep_spin_count": 2,
        "storage_temperature_c": "-80.0",
        "aliquot_volumes_ul": ["500.0", "500.0", "500.0"],
        "box": 7,
    },
    request_only=True,
)


def _detail_context(view, sample) -> dict:
    aliquots = list(aliquots_for(view.request.user).filter(sample=sample).order_by("id"))
    return view.get_serializer_context() | {"aliquots": aliquots}


def _detail_response(view, sample, status_code=status.HTTP_200_OK):
    data = SampleDetailOutputSerializer(sample, context=_detail_context(view, sample)).data
    return Response(data, status=status_code)


@extend_schema(tags=["samples"])
class SampleListCreateApi(ScopedListApi):
    """Samples of your labs, and registering a received sample with optional first aliquots."""

    serializer_class = SampleListOutputSerializer
    filterset_class = SampleFilter
    search_fields = ["barcode", "external_id"]
    ordering_fields = ["collected_at", "received_at", "barcode", "created_at"]
    ordering = ["-collected_at", "-id"]
    decorate_page = staticmethod(with_available_aliquots)

    def get_queryset(self):
        return sample_list(self.request.user)

    @extend_schema(summary="List samples")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register a received sample (optionally with its first aliquots)",
        request=SampleCreateInputSerializer,
        responses={201: SampleDetailOutputSerializer},
        examples=[SAMPLE_CREATE_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        data = dict(self.validated_input(SampleCreateInputSerializer))
        data["aliquot_volumes_ul"] = data.get("aliquot_volumes_ul") or ()
        with errors_named_as_payload(volumes_ul="aliquot_volumes_ul"):
            sample = services.sample_register(actor=request.user, **data)
        return _detail_response(self, sample_get(request.user, sample.pk), status.HTTP_201_CREATED)


@extend_schema(tags=["samples"])
class SampleDetailApi(ScopedDetailApi):
    """One sample with its pre-analytical record, quality flags, SPREC code and aliquots.

    Edits need a reason and the version you read; a stale version answers 409 and writes nothing."""

    serializer_class = SampleDetailOutputSerializer

    def get_queryset(self):
        return samples_for(self.request.user)

    @extend_schema(summary="Read a sample with quality flags, SPREC code and aliquots")
    def get(self, request, *args, **kwargs):
        return _detail_response(self, self.get_object())

    @extend_schema(
        summary="Edit a sample",
        request=SampleUpdateInputSerializer,
        responses={200: SampleDetailOutputSerializer},
        examples=[
            OpenApiExample(
                "Hemolysis measured",
                value={"hemolysis_a414": "0.210", "reason": "A414 read on NanoDrop", "version": 1},
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        sample = self.get_object()
        reason, version, changes = split_edit(self.validated_input(SampleUpdateInputSerializer))
        sample = services.sample_update(
            sample=sample, actor=request.user, reason=reason, expected_version=version, changes=changes
        )
        return _detail_response(self, sample)


@extend_schema(tags=["samples"])
class SampleAliquotsCreateApi(ScopedObjectApi):
    """Cut first-generation aliquots from what is left of a sample, optionally into a box."""

    serializer_class = AliquotOutputSerializer

    def get_queryset(self):
        return samples_for(self.request.user)

    @extend_schema(
        summary="Cut more first-generation aliquots from a sample",
        request=SampleAliquotsInputSerializer,
        responses={201: AliquotOutputSerializer(many=True)},
        examples=[OpenApiExample("Two 250 µL tubes", value={"volumes_ul": ["250.0", "250.0"]}, request_only=True)],
    )
    def post(self, request, *args, **kwargs):
        sample = self.get_object()
        data = self.validated_input(SampleAliquotsInputSerializer)
        created = services.aliquots_create(actor=request.user, sample=sample, **data)
        return self.respond_many(created, status=status.HTTP_201_CREATED)
