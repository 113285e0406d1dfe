"""Storage units (site → freezer → rack → box) and the position grid of a box."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status

from ..core.models import Lab
from ..samples import services
from ..samples.models import Aliquot, StorageUnit
from ..samples.selectors import box_get, box_grid, storage_units_for
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi, ScopedPrimaryKeyRelatedField, labs_for


# One component name for the read and the write shape (the latter becomes "StorageUnitRequest"), so the
# schema names the kind choices StorageUnitKindEnum instead of a hash-suffixed name.
@extend_schema_serializer(component_name="StorageUnit")
class StorageUnitOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = StorageUnit
        fields = ["id", "lab", "parent", "kind", "name", "path", "temperature_c", "rows", "columns", "created_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="StorageUnit")
class StorageUnitCreateInputSerializer(serializers.ModelSerializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    parent = ScopedPrimaryKeyRelatedField(scope=storage_units_for, model=StorageUnit, required=False, allow_null=True)
    rows = serializers.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)
    columns = serializers.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)

    class Meta:
        model = StorageUnit
        fields = ["lab", "parent", "kind", "name", "temperature_c", "rows", "columns"]
        # Name uniqueness within a parent is the service's rule.
        validators = []


class StorageUnitFilter(django_filters.FilterSet):
    parent = IdFilter(field_name="parent_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = StorageUnit
        fields = ["lab", "parent", "kind"]


class GridAliquotSerializer(serializers.ModelSerializer):
    sample_barcode = serializers.CharField(source="sample.barcode", read_only=True)

    class Meta:
        model = Aliquot
        fields = ["id", "barcode", "sample", "sample_barcode", "volume_ul", "status", "freeze_thaw_count"]
        read_only_fields = fields


class GridCellSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.IntegerField()
    label = serializers.CharField(help_text="A1 is row 1, column 1.")
    aliquot = GridAliquotSerializer(allow_null=True)


class BoxGridOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    path = serializers.CharField()
    rows = serializers.IntegerField()
    columns = serializers.IntegerField()
    occupied = serializers.IntegerField()
    free = serializers.IntegerField()
    cells = GridCellSerializer(many=True, help_text="Row by row, left to right.")


def grid_payload(box) -> dict:
    cells = [
        {"row": row, "column": column, "label": f"{chr(ord('A') + row - 1)}{column}", "aliquot": aliquot}
        for row, line in enumerate(box_grid(box), start=1)
        for column, aliquot in enumerate(line, start=1)
    ]
    occupied = sum(cell["aliquot"] is not None for cell in cells)
    return {
        "id": box.pk,
        "path": box.path,
        "rows": box.rows,
        "columns": box.columns,
        "occupied": occupied,
        "free": len(cells) - occupied,
        "cells": cells,
    }


@extend_schema(tags=["storage"])
class StorageUnitListCreateApi(ScopedListApi):
    """Storage units of your labs, and adding one (a site, or a freezer, rack or box inside its parent)."""

    serializer_class = StorageUnitOutputSerializer
    filterset_class = StorageUnitFilter
    search_fields = ["name", "path"]
    ordering_fields = ["path", "name", "created_at"]
    ordering = ["path"]

    def get_queryset(self):
        return storage_units_for(self.request.user)

    @extend_schema(summary="List storage units")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a site, freezer, rack or box",
        request=StorageUnitCreateInputSerializer,
        responses={201: StorageUnitOutputSerializer},
        examples=[
            OpenApiExample(
                "A 9 × 9 box in a rack",
                value={"lab": 1, "parent": 4, "kind": "box", "name": "Box 12", "rows": 9, "columns": 9},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        unit = services.storage_unit_create(
            actor=request.user, **self.validated_input(StorageUnitCreateInputSerializer)
        )
        return self.respond(unit, status=status.HTTP_201_CREATED)


@extend_schema(tags=["storage"], summary="Read a storage unit")
class StorageUnitDetailApi(ScopedDetailApi):
    """One storage unit."""

    serializer_class = StorageUnitOutputSerializer

    def get_queryset(self):
        return storage_units_for(self.request.user)


@extend_schema(tags=["storage"], summary="The positions of a box and the aliquot in each")
class BoxGridApi(ScopedObjectApi):
    """Every position of a box, row by row, with the aliquot in it (or null). Not a box: 404."""

    serializer_class = BoxGridOutputSerializer

    def get_queryset(self):
        return storage_units_for(self.request.user)

    def get(self, request, pk, *args, **kwargs):
        return self.respond(grid_payload(box_get(request.user, pk)))
