"""Protocols and their versions: the shipped library (shared by every lab) and each lab's own.

A lab writes a version as YAML (``source_text``), validated by the protocol library; a draft may be sent
again to replace it. QA managers or lab admins approve drafts (never their own) and retire approved
versions; approved and retired versions never change.
"""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ..core.models import Lab
from ..isolation import services
from ..isolation.models import Protocol, ProtocolVersion
from ..isolation.selectors import protocol_versions_for, protocols_for
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi, ScopedPrimaryKeyRelatedField, labs_for
from .permissions import ReviewerPermission


class ProtocolVersionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProtocolVersion
        fields = ["id", "version", "status", "content_hash", "methods", "misev_class", "from_library", "approved_at"]
        read_only_fields = fields


class ProtocolOutputSerializer(serializers.ModelSerializer):
    library = serializers.SerializerMethodField()
    versions = ProtocolVersionBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Protocol
        fields = ["id", "lab", "library", "slug", "title", "description", "versions", "created_at"]
        read_only_fields = fields

    def get_library(self, protocol) -> bool:
        return protocol.lab_id is None


class ProtocolVersionOutputSerializer(serializers.ModelSerializer):
    protocol_slug = serializers.CharField(source="protocol.slug", read_only=True)
    protocol_title = serializers.CharField(source="protocol.title", read_only=True)
    lab = serializers.IntegerField(source="protocol.lab_id", allow_null=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None, read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None, read_only=True)

    class Meta:
        model = ProtocolVersion
        fields = [
            "id",
            "protocol",
            "protocol_slug",
            "protocol_title",
            "lab",
            "version",
            "status",
            "content_hash",
            "methods",
            "misev_class",
            "from_library",
            "created_by",
            "approved_by",
            "approved_at",
            "created_at",
        ]
        read_only_fields = fields


class ProtocolVersionDetailSerializer(ProtocolVersionOutputSerializer):
    definition = serializers.JSONField(read_only=True, help_text="The canonical, validated protocol document.")

    class Meta(ProtocolVersionOutputSerializer.Meta):
        fields = [*ProtocolVersionOutputSerializer.Meta.fields, "definition", "source_text"]
        read_only_fields = fields


class ProtocolVersionCreateInputSerializer(serializers.Serializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    source_text = serializers.CharField(
        trim_whitespace=False, help_text="The protocol as YAML (slug, version, title, steps…); see docs/protocols.md."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Kept in the audit trail.")


class RequiredReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why; kept in the audit trail.")


class ProtocolFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")
    library = django_filters.BooleanFilter(field_name="lab", lookup_expr="isnull", label="Library protocols only.")

    class Meta:
        model = Protocol
        fields = ["lab", "library", "slug"]


class ProtocolVersionFilter(django_filters.FilterSet):
    protocol = IdFilter(field_name="protocol_id")
    method = django_filters.CharFilter(field_name="methods", lookup_expr="icontains", label="Uses this method.")

    class Meta:
        model = ProtocolVersion
        fields = ["protocol", "status", "from_library", "method"]


LAB_PROTOCOL_YAML = """schema_version: 1
slug: lab-sec
version: 1.0.0
title: Lab SEC
status: draft
description: Plasma cleared at 2,500 g, then home-made CL-2B SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 2500, duration_min: 15, temperature_c: 20, fraction_kept: supernatant}
    tolerances: {g_force: {rel: 0.1}, duration_min: {abs: 2}}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""


class VersionObjectMixin:
    def get_queryset(self):
        return protocol_versions_for(self.request.user)

    def lab_id_of(self, version):
        return version.protocol.lab_id


@extend_schema(tags=["protocols"], summary="List protocols (library and your labs') with their versions")
class ProtocolListApi(ScopedListApi):
    serializer_class = ProtocolOutputSerializer
    filterset_class = ProtocolFilter
    search_fields = ["slug", "title"]
    ordering_fields = ["slug", "title", "created_at"]
    ordering = ["slug", "id"]

    def get_queryset(self):
        return protocols_for(self.request.user)


@extend_schema(tags=["protocols"], summary="Read a protocol with its versions")
class ProtocolDetailApi(ScopedDetailApi):
    serializer_class = ProtocolOutputSerializer

    def get_queryset(self):
        return protocols_for(self.request.user)

    def lab_id_of(self, protocol):
        return protocol.lab_id


@extend_schema(tags=["protocols"])
class ProtocolVersionListCreateApi(VersionObjectMixin, ScopedListApi):
    """Protocol versions you can use; a lab writes a new version (or replaces its draft) as YAML."""

    serializer_class = ProtocolVersionOutputSerializer
    filterset_class = ProtocolVersionFilter
    search_fields = ["protocol__slug", "protocol__title", "version"]
    ordering_fields = ["created_at", "version"]
    ordering = ["protocol__slug", "created_at", "id"]

    @extend_schema(summary="List protocol versions")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Save a protocol version as a draft (YAML)",
        request=ProtocolVersionCreateInputSerializer,
        responses={201: ProtocolVersionDetailSerializer},
        examples=[
            OpenApiExample(
                "Lab SEC protocol",
                value={"lab": 1, "source_text": LAB_PROTOCOL_YAML, "reason": "New column lot"},
                request_only=True,
            ),
            OpenApiExample(
                "Invalid parameter",
                value={"steps[1].duration_min": ["Must be greater than 0."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(ProtocolVersionCreateInputSerializer)
        version = services.protocol_version_save_draft(actor=request.user, **data)
        version = protocol_version_detail(request.user, version.pk)
        return Response(ProtocolVersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)


def protocol_version_detail(user, pk):
    return protocol_versions_for(user).get(pk=pk)


@extend_schema(tags=["protocols"], summary="Read a protocol version with its definition and YAML")
class ProtocolVersionDetailApi(VersionObjectMixin, ScopedDetailApi):
    serializer_class = ProtocolVersionDetailSerializer


class VersionActionApi(VersionObjectMixin, ScopedObjectApi):
    serializer_class = ProtocolVersionDetailSerializer
    permission_classes = [ReviewerPermission]
    input_serializer_class = ReasonInputSerializer

    def post(self, request, *args, **kwargs):
        version = self.get_object()
        data = self.validated_input(self.input_serializer_class)
        self.perform(version, data["reason"])
        return self.respond(protocol_version_detail(request.user, version.pk))

    def perform(self, version, reason):
        raise NotImplementedError("Each action calls its service.")


@extend_schema(
    tags=["protocols"],
    summary="Approve a draft (QA managers, lab admins; not your own)",
    request=ReasonInputSerializer,
    responses={200: ProtocolVersionDetailSerializer},
    examples=[OpenApiExample("Approve", value={"reason": "Reviewed against SOP-014"}, request_only=True)],
)
class ProtocolVersionApproveApi(VersionActionApi):
    def perform(self, version, reason):
        services.protocol_version_approve(actor=self.request.user, version=version, reason=reason)


@extend_schema(
    tags=["protocols"],
    summary="Retire an approved version (QA managers, lab admins)",
    request=RequiredReasonInputSerializer,
    responses={200: ProtocolVersionDetailSerializer},
    examples=[OpenApiExample("Retire", value={"reason": "Superseded by 1.1.0"}, request_only=True)],
)
class ProtocolVersionRetireApi(VersionActionApi):
    input_serializer_class = RequiredReasonInputSerializer

    def perform(self, version, reason):
        services.protocol_version_retire(actor=self.request.user, version=version, reason=reason)
