"""Aliquots: list and read, and the physical actions on a tube (split, move, thaw, consume, ship, dispose).

Each action is a POST sub-route calling one service; the service writes the custody event and the
audit event in the same transaction.
"""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status

from ..samples import services
from ..samples.models import Aliquot, CustodyEvent, StorageUnit
from ..samples.quality import aliquot_flags
from ..samples.selectors import aliquot_get, aliquots_for, storage_units_for
from .base import (
    IdFilter,
    QualityFlagSerializer,
    ScopedDetailApi,
    ScopedListApi,
    ScopedObjectApi,
    ScopedPrimaryKeyRelatedField,
    volume_ul_field,
)


class AliquotOutputSerializer(serializers.ModelSerializer):
    sample_barcode = serializers.CharField(source="sample.barcode", read_only=True)
    parent_barcode = serializers.CharField(source="parent.barcode", read_only=True, allow_null=True, default=None)
    box_path = serializers.CharField(source="box.path", read_only=True, allow_null=True, default=None)
    position_label = serializers.CharField(read_only=True)
    flags = serializers.SerializerMethodField()

    class Meta:
        model = Aliquot
        fields = [
            "id",
            "barcode",
            "lab",
            "sample",
            "sample_barcode",
            "parent",
            "parent_barcode",
            "initial_volume_ul",
            "volume_ul",
            "status",
            "box",
            "box_path",
            "position_row",
            "position_column",
            "position_label",
            "freeze_thaw_count",
            "flags",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(QualityFlagSerializer(many=True))
    def get_flags(self, aliquot):
        return QualityFlagSerializer(aliquot_flags(aliquot), many=True).data


def _box_field(**kwargs):
    return ScopedPrimaryKeyRelatedField(scope=storage_units_for, model=StorageUnit, **kwargs)


class AliquotSplitInputSerializer(serializers.Serializer):
    volumes_ul = serializers.ListField(child=volume_ul_field(), min_length=1, max_length=384)
    box = _box_field(required=False, allow_null=True, help_text="Box for the children (first free positions).")
    reason = serializers.CharField(required=False, allow_blank=True)


class AliquotMoveInputSerializer(serializers.Serializer):
    box = _box_field()
    row = serializers.IntegerField(min_value=1, help_text="1 = row A.")
    column = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True)


class AliquotThawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Why the tube is thawed: required when an approved preparation was made from it (the approval "
        "is voided).",
    )
    note = serializers.CharField(required=False, allow_blank=True, help_text="Older name of reason.")


class AliquotConsumeInputSerializer(serializers.Serializer):
    volume_ul = volume_ul_field()
    note = serializers.CharField(required=False, allow_blank=True, help_text="What the volume was used for.")


class AliquotShipInputSerializer(serializers.Serializer):
    destination = serializers.CharField(max_length=400, help_text="Recipient and address.")
    reason = serializers.CharField(help_text="Why it is shipped (agreement, study).")


class AliquotDisposeInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class AliquotFilter(django_filters.FilterSet):
    sample = IdFilter(field_name="sample_id")
    box = IdFilter(field_name="box_id")
    parent = IdFilter(field_name="parent_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Aliquot
        fields = ["lab", "sample", "parent", "box", "status"]


@extend_schema(tags=["aliquots"], summary="List aliquots")
class AliquotListApi(ScopedListApi):
    """Aliquots of your labs."""

    serializer_class = AliquotOutputSerializer
    filterset_class = AliquotFilter
    search_fields = ["barcode", "sample__barcode"]
    ordering_fields = ["barcode", "created_at", "volume_ul", "freeze_thaw_count"]
    ordering = ["barcode"]

    def get_queryset(self):
        return aliquots_for(self.request.user)


@extend_schema(tags=["aliquots"], summary="Read an aliquot")
class AliquotDetailApi(ScopedDetailApi):
    """One aliquot with its location, volume and freeze-thaw count."""

    serializer_class = AliquotOutputSerializer

    def get_queryset(self):
        return aliquots_for(self.request.user)


class AliquotActionApi(ScopedObjectApi):
    """POST one action on an aliquot the user may write; answers with the aliquot as it is now."""

    serializer_class = AliquotOutputSerializer
    input_serializer_class: type[serializers.Serializer]

    def get_queryset(self):
        return aliquots_for(self.request.user)

    def post(self, request, *args, **kwargs):
        aliquot = self.get_object()
        return self.perform(aliquot, self.validated_input(self.input_serializer_class))

    def perform(self, aliquot, data):
        raise NotImplementedError("Each action calls its service.")

    def respond_current(self, aliquot):
        return self.respond(aliquot_get(self.request.user, aliquot.pk))


def _action_schema(summary, input_serializer, example, responses=None):
    return extend_schema(
        tags=["aliquots"],
        summary=summary,
        request=input_serializer,
        responses=responses or {200: AliquotOutputSerializer},
        examples=[OpenApiExample(summary, value=example, request_only=True)],
    )


@_action_schema(
    "Split an aliquot into children",
    AliquotSplitInputSerializer,
    {"volumes_ul": ["100.0", "100.0"], "box": 7, "reason": "Working aliquots for NTA"},
    responses={201: AliquotOutputSerializer(many=True)},
)
class AliquotSplitApi(AliquotActionApi):
    """Split into children (the parent keeps the rest and is consumed at zero). Answers with the children."""

    input_serializer_class = AliquotSplitInputSerializer

    def perform(self, aliquot, data):
        children = services.aliquot_split(actor=self.request.user, aliquot=aliquot, **data)
        return self.respond_many(children, status=status.HTTP_201_CREATED)


@_action_schema(
    "Move an aliquot to a box position",
    AliquotMoveInputSerializer,
    {"box": 7, "row": 2, "column": 5, "reason": "Freezer F1 defrost"},
)
class AliquotMoveApi(AliquotActionApi):
    """Move to a box position; an occupied position answers 400."""

    input_serializer_class = AliquotMoveInputSerializer

    def perform(self, aliquot, data):
        return self.respond_current(services.aliquot_move(actor=self.request.user, aliquot=aliquot, **data))


@_action_schema("Record a thaw", AliquotThawInputSerializer, {"note": "Thawed on ice for NTA"})
class AliquotThawApi(AliquotActionApi):
    """Record a thaw: the freeze-thaw count goes up by one."""

    input_serializer_class = AliquotThawInputSerializer

    def perform(self, aliquot, data):
        return self.respond_current(
            services.aliquot_thaw(
                actor=self.request.user, aliquot=aliquot, reason=data.get("reason") or data.get("note", "")
            )
        )


@_action_schema(
    "Take volume out of an aliquot", AliquotConsumeInputSerializer, {"volume_ul": "250.0", "note": "SEC input"}
)
class AliquotConsumeApi(AliquotActionApi):
    """Take volume out; the aliquot is consumed when it reaches zero."""

    input_serializer_class = AliquotConsumeInputSerializer

    def perform(self, aliquot, data):
        return self.respond_current(
            services.aliquot_consume(
                actor=self.request.user, aliquot=aliquot, volume_ul=data["volume_ul"], reason=data.get("note", "")
            )
        )


@_action_schema(
    "Ship an aliquot",
    AliquotShipInputSerializer,
    {"destination": "Proteomics core, Building 4", "reason": "MTA 2025-017"},
)
class AliquotShipApi(AliquotActionApi):
    """Ship the aliquot out: it leaves its box and can no longer be used here."""

    input_serializer_class = AliquotShipInputSerializer

    def perform(self, aliquot, data):
        shipped = services.aliquot_release(
            actor=self.request.user, aliquot=aliquot, kind=CustodyEvent.Kind.SHIPPED, **data
        )
        return self.respond_current(shipped)


@_action_schema("Dispose of an aliquot", AliquotDisposeInputSerializer, {"reason": "Tube cracked in transport"})
class AliquotDisposeApi(AliquotActionApi):
    """Dispose of the aliquot: it leaves its box and can no longer be used."""

    input_serializer_class = AliquotDisposeInputSerializer

    def perform(self, aliquot, data):
        disposed = services.aliquot_release(
            actor=self.request.user, aliquot=aliquot, kind=CustodyEvent.Kind.DISPOSED, **data
        )
        return self.respond_current(disposed)
