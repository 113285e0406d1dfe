"""Instruments and their API keys.

Every lab member reads the lab's instruments (with their keys' public prefixes, never the keys). Lab
admins register instruments and issue or revoke keys; a new key's plaintext is in the answer that
creates it and nowhere else (only its SHA-256 is stored).
"""

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ..characterization.selectors import instruments_for
from ..core.errors import NotFound
from ..core.models import Lab
from ..instruments import services
from ..instruments.models import Instrument, InstrumentApiKey, PlateLayout, WatchedFile
from ..instruments.parsers import FORMATS
from ..instruments.selectors import plate_layouts_for
from .authentication import READ
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi, ScopedPrimaryKeyRelatedField, labs_for
from .permissions import LabAdminPermission


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = InstrumentApiKey
        fields = ["id", "prefix", "label", "scopes", "active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class IssuedApiKeySerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself. Shown in this answer only: store it now.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class InstrumentOutputSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "lab",
            "lab_name",
            "name",
            "kind",
            "model_name",
            "serial_number",
            "software_version",
            "column_mapping",
            "watch_folder",
            "watch_format",
            "watch_read",
            "watch_plate_layout",
            "created_at",
        ]
        read_only_fields = fields


class InstrumentDetailOutputSerializer(InstrumentOutputSerializer):
    keys = ApiKeyOutputSerializer(source="api_keys", many=True, read_only=True)

    class Meta(InstrumentOutputSerializer.Meta):
        fields = [*InstrumentOutputSerializer.Meta.fields, "keys"]
        read_only_fields = fields


class CreatedInstrumentSerializer(InstrumentDetailOutputSerializer):
    issued_key = IssuedApiKeySerializer(
        read_only=True, allow_null=True, help_text="The key issued with the instrument, if asked for (shown once)."
    )

    class Meta(InstrumentDetailOutputSerializer.Meta):
        fields = [*InstrumentDetailOutputSerializer.Meta.fields, "issued_key"]
        read_only_fields = fields


def scopes_field(**kwargs):
    kwargs.setdefault(
        "help_text", "What the key may do: 'results:write' (post results and files), 'read' (read results)."
    )
    return serializers.ListField(
        child=serializers.ChoiceField(choices=InstrumentApiKey.Scope.choices), min_length=1, **kwargs
    )


class ApiKeyIssueInputSerializer(serializers.Serializer):
    scopes = scopes_field()
    label = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ApiKeyRevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the key is revoked; kept in the audit trail.")


class InstrumentCreateInputSerializer(serializers.ModelSerializer):
    lab = ScopedPrimaryKeyRelatedField(scope=labs_for, model=Lab)
    key_scopes = scopes_field(
        required=False, help_text="Issue a first key with these scopes (its plaintext is in the answer)."
    )
    key_label = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    class Meta:
        model = Instrument
        fields = [
            "lab",
            "name",
            "kind",
            "model_name",
            "serial_number",
            "software_version",
            "column_mapping",
            "key_scopes",
            "key_label",
        ]
        # Name uniqueness within the lab is the service's rule.
        validators = []

    def validate_column_mapping(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Give the column mapping as a JSON object.")
        return value


class InstrumentFilter(django_filters.FilterSet):
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Instrument
        fields = ["lab", "kind"]


def _with_keys(queryset):
    return queryset.prefetch_related(Prefetch("api_keys", queryset=InstrumentApiKey.objects.order_by("-created_at")))


def issued_key_data(key, raw_key) -> dict:
    return IssuedApiKeySerializer(key).data | {"key": raw_key}


INSTRUMENT_CREATE_EXAMPLE = OpenApiExample(
    "NanoSight with a posting key",
    value={
        "lab": 1,
        "name": "NS300 room 2.14",
        "kind": "nta",
        "model_name": "NanoSight NS300",
        "serial_number": "NS3-1047",
        "software_version": "NTA 3.4 Build 3.4.4",
        "key_scopes": ["results:write", "read"],
        "key_label": "acquisition PC",
    },
    request_only=True,
)
ISSUED_KEY_EXAMPLE = {
    "id": 4,
    "prefix": "5f0c1a9e22b7",
    "label": "acquisition PC",
    "scopes": ["read", "results:write"],
    "active": True,
    "created_at": "2025-03-04T09:12:44Z",
    "last_used_at": None,
    "revoked_at": None,
    "key": "evl_5f0c1a9e22b7_Xq3…(43 characters)",
}


@extend_schema(tags=["instruments"])
class InstrumentListCreateApi(ScopedListApi):
    """Instruments of your labs; lab admins register new ones (optionally with a first key)."""

    serializer_class = InstrumentOutputSerializer
    permission_classes = [LabAdminPermission]
    filterset_class = InstrumentFilter
    search_fields = ["name", "model_name", "serial_number"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return instruments_for(self.request.user)

    @extend_schema(summary="List instruments")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register an instrument (lab admins), optionally issuing its first key",
        request=InstrumentCreateInputSerializer,
        responses={201: CreatedInstrumentSerializer},
        examples=[
            INSTRUMENT_CREATE_EXAMPLE,
            OpenApiExample(
                "Registered, key shown once",
                value={
                    "id": 3,
                    "lab": 1,
                    "lab_name": "Vesicle Lab",
                    "name": "NS300 room 2.14",
                    "kind": "nta",
                    "model_name": "NanoSight NS300",
                    "serial_number": "NS3-1047",
                    "software_version": "NTA 3.4 Build 3.4.4",
                    "column_mapping": {},
                    "created_at": "2025-03-04T09:12:44Z",
                    "keys": [{k: v for k, v in ISSUED_KEY_EXAMPLE.items() if k != "key"}],
                    "issued_key": ISSUED_KEY_EXAMPLE,
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        data = dict(self.validated_input(InstrumentCreateInputSerializer))
        scopes, label = data.pop("key_scopes", None), data.pop("key_label")
        with transaction.atomic():
            instrument = services.instrument_register(actor=request.user, **data)
            issued = (
                services.api_key_issue(actor=request.user, instrument=instrument, scopes=scopes, label=label)
                if scopes
                else None
            )
        instrument = _with_keys(instruments_for(request.user)).get(pk=instrument.pk)
        body = CreatedInstrumentSerializer(instrument).data
        body["issued_key"] = issued_key_data(*issued) if issued else None
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["instruments"], summary="Read an instrument with its keys (prefixes only)")
class InstrumentDetailApi(ScopedDetailApi):
    """One instrument and its keys: prefix, scopes, last use, revocation. Never the keys themselves."""

    serializer_class = InstrumentDetailOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return _with_keys(instruments_for(self.request.user))


@extend_schema(tags=["instruments"])
class InstrumentKeyIssueApi(ScopedObjectApi):
    """Issue a key for an instrument (lab admins). The answer holds the key; it is not shown again."""

    serializer_class = IssuedApiKeySerializer
    permission_classes = [LabAdminPermission]

    def get_queryset(self):
        return instruments_for(self.request.user)

    @extend_schema(
        summary="Issue an instrument key (lab admins)",
        request=ApiKeyIssueInputSerializer,
        responses={201: IssuedApiKeySerializer},
        examples=[
            OpenApiExample(
                "Posting key", value={"scopes": ["results:write"], "label": "acquisition PC"}, request_only=True
            ),
            OpenApiExample("Issued", value=ISSUED_KEY_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request, *args, **kwargs):
        instrument = self.get_object()
        data = self.validated_input(ApiKeyIssueInputSerializer)
        key, raw_key = services.api_key_issue(actor=request.user, instrument=instrument, **data)
        return Response(issued_key_data(key, raw_key), status=status.HTTP_201_CREATED)


@extend_schema(tags=["instruments"])
class InstrumentKeyRevokeApi(ScopedObjectApi):
    """Revoke a key (lab admins): it stops working at once. Revoking a revoked key changes nothing."""

    serializer_class = ApiKeyOutputSerializer
    permission_classes = [LabAdminPermission]

    def get_queryset(self):
        return instruments_for(self.request.user)

    @extend_schema(
        summary="Revoke an instrument key (lab admins)",
        request=ApiKeyRevokeInputSerializer,
        responses={200: ApiKeyOutputSerializer},
        examples=[OpenApiExample("Rotated", value={"reason": "Acquisition PC replaced"}, request_only=True)],
    )
    def post(self, request, *args, **kwargs):
        instrument = self.get_object()
        key = instrument.api_keys.filter(pk=kwargs["key_pk"]).first()
        if key is None:
            raise NotFound
        data = self.validated_input(ApiKeyRevokeInputSerializer)
        key = services.api_key_revoke(actor=request.user, key=key, **data)
        return self.respond(key)


class WatchFolderInputSerializer(serializers.Serializer):
    folder = serializers.CharField(
        max_length=500,
        allow_blank=True,
        help_text="The folder the instrument PC drops its exports in, under the site's EVLIMS_WATCH_ROOT (relative to "
        "it, or absolute); empty: stop watching.",
    )
    format = serializers.ChoiceField(
        choices=["auto", *FORMATS], default="auto", help_text="How its files are read; auto: detected from the content."
    )
    read = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Gen5 and EnVision files holding several plates: the absorbance plate to read ('Read 1:562', '562').",
    )
    plate_layout = ScopedPrimaryKeyRelatedField(
        scope=plate_layouts_for,
        model=PlateLayout,
        required=False,
        allow_null=True,
        help_text="Plate readers: the saved plate layout of the lab its plates are read with (standards, samples).",
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Kept in the audit trail.")


@extend_schema(tags=["instruments"])
class InstrumentWatchFolderApi(ScopedObjectApi):
    """Set the folder evlims watches for this instrument's exports (lab admins). Each new file dropped there is
    ingested as the instrument's upload and shown in the ingestion list, to be mapped and committed."""

    serializer_class = InstrumentDetailOutputSerializer
    permission_classes = [LabAdminPermission]

    def get_queryset(self):
        return instruments_for(self.request.user)

    @extend_schema(
        summary="Watch a folder for the instrument's exports (lab admins)",
        request=WatchFolderInputSerializer,
        responses={200: InstrumentDetailOutputSerializer},
        examples=[
            OpenApiExample(
                "Plate reader",
                value={"folder": "synergy-h1", "format": "gen5", "read": "562", "reason": "Reader installed"},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        instrument = self.get_object()
        data = self.validated_input(WatchFolderInputSerializer)
        services.watch_folder_set(
            actor=request.user,
            instrument=instrument,
            folder=data["folder"],
            file_format=data["format"],
            read=data["read"],
            plate_layout=data.get("plate_layout"),
            reason=data["reason"],
        )
        return self.respond(_with_keys(instruments_for(request.user)).get(pk=instrument.pk))


class WatchedFileOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchedFile
        fields = ["id", "name", "size_bytes", "sha256", "status", "reason", "ingestion", "created_at", "updated_at"]
        read_only_fields = fields


WATCHED_FILES_LISTED = 100


@extend_schema(tags=["instruments"], summary="The files seen in the instrument's watched folder (newest 100)")
class InstrumentWatchedFilesApi(ScopedObjectApi):
    """What became of each file version seen in the instrument's watched folder, newest first: waiting until
    completely written, ingested (with its ingestion), a duplicate (with the ingestion of the same content) or
    failed with its reason."""

    serializer_class = WatchedFileOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return instruments_for(self.request.user)

    @extend_schema(responses={200: WatchedFileOutputSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        instrument = self.get_object()
        return self.respond_many(instrument.watched_files.order_by("-created_at", "-id")[:WATCHED_FILES_LISTED])
