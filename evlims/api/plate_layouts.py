"""Plate layouts: a lab's saved BCA plate maps (which well holds a standard with its concentration, a blank, a
sample with its label). Members and read keys list and read them; lab staff and admins create, change (reason and
version; a stale version answers 409) and retire them. A refused layout answers 400 naming each well at fault
(``wells.B3``). ``POST files/`` takes a layout's id as ``plate_layout`` instead of a typed plate map."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status

from ..characterization.selectors import instruments_for
from ..core.models import Lab
from ..instruments import services
from ..instruments.layouts import FITS
from ..instruments.models import Instrument, PlateLayout
from ..instruments.selectors import plate_layouts_for
from .authentication import READ
from .base import (
    EditSerializer,
    IdFilter,
    ScopedDetailApi,
    ScopedListApi,
    ScopedObjectApi,
    ScopedPrimaryKeyRelatedField,
    labs_for,
    split_edit,
)

# As files/ spells its fit, so the schema has one enum for both.
FIT_CHOICES = list(FITS)
WELLS_HELP = (
    '{well: spec}, one key per well: {"role": "standard", "ug_per_ml": 2000}, {"role": "blank"}, {"role": "sample", '
    '"name": "EVP-0000123"} (optional "dilution_factor" ≥ 1) or {"role": "empty"}; wells not given are empty. '
    "Standards at 3 concentrations above 0 µg/mL at least, blank wells (or a 0 µg/mL standard) and one sample."
)


class PlateLayoutOutputSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)
    instrument_name = serializers.CharField(source="instrument.name", read_only=True, allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.get_username", read_only=True)
    retired = serializers.SerializerMethodField()
    wells = serializers.DictField(child=serializers.DictField(), read_only=True, help_text=WELLS_HELP)
    fit = serializers.ChoiceField(choices=FIT_CHOICES, read_only=True, help_text="Standard-curve model.")

    class Meta:
        model = PlateLayout
        fields = [
            "id",
            "lab",
            "lab_name",
            "instrument",
            "instrument_name",
            "name",
            "plate_format",
            "fit",
            "wells",
            "version",
            "created_by",
            "created_at",
            "updated_at",
            "retired",
            "retired_at",
            "retired_reason",
        ]
        read_only_fields = fields

    def get_retired(self, layout) -> bool:
        return layout.retired_at is not None


def _instruments(user):
    return instruments_for(user)


class PlateLayoutCreateInputSerializer(serializers.Serializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    name = serializers.CharField(max_length=120)
    instrument = ScopedPrimaryKeyRelatedField(scope=_instruments, model=Instrument, required=False, allow_null=True)
    plate_format = serializers.ChoiceField(choices=PlateLayout.Format.choices, default=96)
    fit = serializers.ChoiceField(choices=FIT_CHOICES, default="linear", help_text="Standard-curve model.")
    wells = serializers.JSONField(help_text=WELLS_HELP)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Kept in the audit trail.")


class PlateLayoutUpdateInputSerializer(EditSerializer):
    name = serializers.CharField(max_length=120, required=False)
    instrument = ScopedPrimaryKeyRelatedField(scope=_instruments, model=Instrument, required=False, allow_null=True)
    plate_format = serializers.ChoiceField(choices=PlateLayout.Format.choices, required=False)
    fit = serializers.ChoiceField(choices=FIT_CHOICES, required=False)
    wells = serializers.JSONField(required=False, help_text=WELLS_HELP)


class PlateLayoutRetireInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the layout is no longer offered; kept in the audit trail.")


class PlateLayoutFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")
    instrument = IdFilter(field_name="instrument_id")
    retired = django_filters.BooleanFilter(
        field_name="retired_at", lookup_expr="isnull", exclude=True, help_text="false: the layouts in use only."
    )

    class Meta:
        model = PlateLayout
        fields = ["lab", "instrument", "plate_format", "retired"]


LAYOUT_EXAMPLE = OpenApiExample(
    "Six standards in duplicate, blanks, two samples",
    value={
        "lab": 1,
        "name": "BCA duplicates",
        "plate_format": 96,
        "fit": "linear",
        "wells": {
            "A1": {"role": "standard", "ug_per_ml": 2000},
            "A2": {"role": "standard", "ug_per_ml": 2000},
            "B1": {"role": "standard", "ug_per_ml": 1000},
            "B2": {"role": "standard", "ug_per_ml": 1000},
            "C1": {"role": "standard", "ug_per_ml": 500},
            "C2": {"role": "standard", "ug_per_ml": 500},
            "G1": {"role": "blank"},
            "G2": {"role": "blank"},
            "A3": {"role": "sample", "name": "EVP-0000123"},
            "A4": {"role": "sample", "name": "EVP-0000123"},
            "B3": {"role": "sample", "name": "EVP-0000124", "dilution_factor": 2},
            "B4": {"role": "sample", "name": "EVP-0000124", "dilution_factor": 2},
        },
    },
    request_only=True,
)


@extend_schema(tags=["plate layouts"])
class PlateLayoutListCreateApi(ScopedListApi):
    """Plate layouts of your labs, retired ones included (``?retired=false``: those in use only); lab staff save
    new ones."""

    serializer_class = PlateLayoutOutputSerializer
    filterset_class = PlateLayoutFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "id"]
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return plate_layouts_for(self.request.user, include_retired=True)

    @extend_schema(summary="List plate layouts")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Save a plate layout",
        request=PlateLayoutCreateInputSerializer,
        responses={201: PlateLayoutOutputSerializer},
        examples=[LAYOUT_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(PlateLayoutCreateInputSerializer)
        layout = services.plate_layout_create(actor=request.user, **data)
        return self.respond(layout, status=status.HTTP_201_CREATED)


@extend_schema(tags=["plate layouts"])
class PlateLayoutDetailApi(ScopedDetailApi):
    """One plate layout. Changes need a reason and the version you read; a stale version answers 409."""

    serializer_class = PlateLayoutOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return plate_layouts_for(self.request.user, include_retired=True)

    @extend_schema(summary="Read a plate layout")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Change a plate layout",
        request=PlateLayoutUpdateInputSerializer,
        responses={200: PlateLayoutOutputSerializer},
        examples=[
            OpenApiExample(
                "Quadratic curve",
                value={"fit": "quadratic", "reason": "Curvature above 1000 µg/mL", "version": 1},
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        layout = self.get_object()
        reason, version, changes = split_edit(self.validated_input(PlateLayoutUpdateInputSerializer))
        layout = services.plate_layout_update(
            actor=request.user, layout=layout, expected_version=version, changes=changes, reason=reason
        )
        return self.respond(layout)


@extend_schema(tags=["plate layouts"])
class PlateLayoutRetireApi(ScopedObjectApi):
    """Retire a plate layout: it is kept, and no longer offered or accepted at upload."""

    serializer_class = PlateLayoutOutputSerializer

    def get_queryset(self):
        return plate_layouts_for(self.request.user, include_retired=True)

    @extend_schema(
        summary="Retire a plate layout",
        request=PlateLayoutRetireInputSerializer,
        responses={200: PlateLayoutOutputSerializer},
    )
    def post(self, request, *args, **kwargs):
        layout = self.get_object()
        reason = self.validated_input(PlateLayoutRetireInputSerializer)["reason"]
        return self.respond(services.plate_layout_retire(actor=request.user, layout=layout, reason=reason))
