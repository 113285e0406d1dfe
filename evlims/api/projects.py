"""Projects: read-only here (they are set up by lab admins)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from ..core.models import Project
from ..samples.selectors import projects_for
from .base import IdFilter, ScopedDetailApi, ScopedListApi


class ProjectOutputSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)
    lab_slug = serializers.CharField(source="lab.slug", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "lab", "lab_name", "lab_slug", "code", "title", "description", "version", "created_at"]
        read_only_fields = fields


class ProjectFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Project
        fields = ["lab"]


@extend_schema(tags=["projects"], summary="List the projects of your labs")
class ProjectListApi(ScopedListApi):
    """Projects of the labs you belong to."""

    serializer_class = ProjectOutputSerializer
    filterset_class = ProjectFilter
    search_fields = ["code", "title"]
    ordering_fields = ["code", "title", "created_at"]
    ordering = ["code"]

    def get_queryset(self):
        return projects_for(self.request.user)


@extend_schema(tags=["projects"], summary="Read a project")
class ProjectDetailApi(ScopedDetailApi):
    """One project of your labs."""

    serializer_class = ProjectOutputSerializer

    def get_queryset(self):
        return projects_for(self.request.user)
