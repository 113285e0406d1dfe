"""Donors: pseudonymous codes with sex, age band, diagnosis and consent."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status

from ..core.models import Lab, Project
from ..samples import services
from ..samples.models import Donor
from ..samples.selectors import donors_for, projects_for
from .base import (
    EditSerializer,
    IdFilter,
    ScopedDetailApi,
    ScopedListApi,
    ScopedPrimaryKeyRelatedField,
    labs_for,
    split_edit,
)

DONOR_RECORD_FIELDS = ["code", "sex", "age_band", "diagnosis", "diagnosis_ontology_id", "consent_status"]


class DonorOutputSerializer(serializers.ModelSerializer):
    project_code = serializers.CharField(source="project.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Donor
        fields = ["id", "lab", "project", "project_code", *DONOR_RECORD_FIELDS, "version", "created_at", "updated_at"]
        read_only_fields = fields


class DonorCreateInputSerializer(serializers.ModelSerializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    project = ScopedPrimaryKeyRelatedField(scope=projects_for, model=Project, required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Kept in the audit trail.")

    class Meta:
        model = Donor
        fields = ["lab", "project", *DONOR_RECORD_FIELDS, "reason"]
        # Code uniqueness is the service's rule (per lab); a serializer check would query all labs.
        validators = []


class DonorUpdateInputSerializer(EditSerializer, serializers.ModelSerializer):
    project = ScopedPrimaryKeyRelatedField(scope=projects_for, model=Project, required=False, allow_null=True)

    class Meta:
        model = Donor
        fields = ["project", *DONOR_RECORD_FIELDS, "reason", "version"]
        extra_kwargs = {name: {"required": False} for name in DONOR_RECORD_FIELDS}
        validators = []


class DonorFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Donor
        fields = ["lab", "project", "sex", "consent_status"]


DONOR_CREATE_EXAMPLE = OpenApiExample(
    "Register a donor",
    value={
        "lab": 1,
        "project": 3,
        "code": "D-0042",
        "sex": "female",
        "age_band": "50-59",
        "diagnosis": "Pancreatic ductal adenocarcinoma",
        "diagnosis_ontology_id": "MONDO:0005184",
        "consent_status": "given",
    },
    request_only=True,
)


@extend_schema(tags=["donors"])
class DonorListCreateApi(ScopedListApi):
    """Donors of your labs (pseudonymous codes only), and registering a new one."""

    serializer_class = DonorOutputSerializer
    filterset_class = DonorFilter
    search_fields = ["code", "diagnosis"]
    ordering_fields = ["code", "created_at", "updated_at"]
    ordering = ["code"]

    def get_queryset(self):
        return donors_for(self.request.user)

    @extend_schema(summary="List donors")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register a donor",
        request=DonorCreateInputSerializer,
        responses={201: DonorOutputSerializer},
        examples=[DONOR_CREATE_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(DonorCreateInputSerializer)
        donor = services.donor_create(actor=request.user, **data)
        return self.respond(donor, status=status.HTTP_201_CREATED)


@extend_schema(tags=["donors"])
class DonorDetailApi(ScopedDetailApi):
    """One donor. Edits need a reason and the version you read; a stale version answers 409."""

    serializer_class = DonorOutputSerializer

    def get_queryset(self):
        return donors_for(self.request.user)

    @extend_schema(summary="Read a donor")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Edit a donor",
        request=DonorUpdateInputSerializer,
        responses={200: DonorOutputSerializer},
        examples=[
            OpenApiExample(
                "Consent withdrawn",
                value={"consent_status": "withdrawn", "reason": "Donor letter of 2025-03-02", "version": 2},
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        donor = self.get_object()
        reason, version, changes = split_edit(self.validated_input(DonorUpdateInputSerializer))
        donor = services.donor_update(
            donor=donor, actor=request.user, reason=reason, expected_version=version, changes=changes
        )
        return self.respond(donor)
