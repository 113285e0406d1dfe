"""Custody events: the append-only timeline of each aliquot. Read-only; services write them."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from ..samples.models import CustodyEvent
from ..samples.selectors import custody_for
from .base import IdFilter, ScopedDetailApi, ScopedListApi


class CustodyEventOutputSerializer(serializers.ModelSerializer):
    aliquot_barcode = serializers.CharField(source="aliquot.barcode", read_only=True)
    actor = serializers.CharField(source="actor.get_username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = CustodyEvent
        fields = [
            "id",
            "aliquot",
            "aliquot_barcode",
            "kind",
            "occurred_at",
            "actor",
            "from_location",
            "to_location",
            "volume_change_ul",
            "note",
        ]
        read_only_fields = fields


class CustodyEventFilter(django_filters.FilterSet):
    aliquot = IdFilter(field_name="aliquot_id")
    sample = IdFilter(field_name="aliquot__sample_id")
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        label="Between occurred_at_after and occurred_at_before (ISO 8601, inclusive)."
    )

    class Meta:
        model = CustodyEvent
        fields = ["aliquot", "sample", "kind", "occurred_at"]


@extend_schema(tags=["custody"], summary="List custody events")
class CustodyEventListApi(ScopedListApi):
    """Custody events of your labs' aliquots, oldest first. Written by the aliquot actions, never here."""

    serializer_class = CustodyEventOutputSerializer
    filterset_class = CustodyEventFilter
    ordering_fields = ["occurred_at"]
    ordering = ["occurred_at", "id"]

    def get_queryset(self):
        return custody_for(self.request.user)


@extend_schema(tags=["custody"], summary="Read a custody event")
class CustodyEventDetailApi(ScopedDetailApi):
    """One custody event."""

    serializer_class = CustodyEventOutputSerializer

    def get_queryset(self):
        return custody_for(self.request.user)
