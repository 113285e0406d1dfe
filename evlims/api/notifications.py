"""A person's notifications: the in-app list (their own only; ``?unread=true`` for the unread), marking them read,
and what they receive for each kind of notification (in the app, by e-mail)."""

import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from ..core.ids import MAX_ID
from ..core.tenancy import READER_ROLES
from ..notifications import services
from ..notifications.kinds import KINDS
from ..notifications.models import Notification
from ..notifications.selectors import notifications_for
from .base import ScopedApi, ScopedListApi
from .permissions import LabRolePermission


class OwnNotificationsPermission(LabRolePermission):
    """Any member of a lab manages their own notifications (marking read and choosing what they receive)."""

    write_roles = READER_ROLES


class NotificationSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "lab",
            "lab_name",
            "kind",
            "kind_label",
            "title",
            "body",
            "link",
            "created_at",
            "read",
            "read_at",
        ]
        read_only_fields = fields

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: the unread only."
    )

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=services.MAX_MARKED
    )
    all = serializers.BooleanField(required=False, default=False, help_text="true: every unread notification.")

    def validate(self, data):
        if "ids" not in data and not data["all"]:
            raise serializers.ValidationError({"ids": ["Name the notifications to mark read, or send all: true."]})
        return data


class MarkReadAnswerSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="Notifications that were unread and now are read.")


class ChoiceSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS))
    label = serializers.CharField()
    description = serializers.CharField()
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


PreferencesUpdateSerializer = type(
    "PreferencesUpdateSerializer",
    (serializers.Serializer,),
    {kind: ChoiceSerializer(required=False, help_text=words[1]) for kind, words in KINDS.items()},
)


def _preferences(user) -> list[dict]:
    chosen = services.preferences_of(user)
    return [{"kind": kind, "label": words[0], "description": words[1], **chosen[kind]} for kind, words in KINDS.items()]


@extend_schema(tags=["notifications"])
class NotificationListApi(ScopedListApi):
    """Your notifications, newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [OwnNotificationsPermission]
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return notifications_for(self.request.user)

    @extend_schema(summary="List your notifications")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["notifications"])
class NotificationMarkReadApi(ScopedApi):
    """Mark some of your notifications read (``ids``), or all of them (``all: true``); others' are never touched."""

    serializer_class = MarkReadAnswerSerializer
    parser_classes = [JSONParser]
    permission_classes = [OwnNotificationsPermission]
    filter_backends = []
    pagination_class = None

    @extend_schema(
        summary="Mark notifications read",
        request=MarkReadSerializer,
        responses={200: MarkReadAnswerSerializer, 415: OpenApiResponse(description="The body is not JSON.")},
        examples=[OpenApiExample("Two of them", value={"ids": [12, 15]}, request_only=True)],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(MarkReadSerializer)
        marked = services.notifications_mark_read(actor=request.user, ids=data.get("ids"), everything=data["all"])
        return Response({"marked": marked})


@extend_schema(tags=["notifications"])
class NotificationPreferencesApi(ScopedApi):
    """What you receive for each kind of notification: in the app, by e-mail, both or neither (both until you
    choose)."""

    serializer_class = PreferenceSerializer
    parser_classes = [JSONParser]
    permission_classes = [OwnNotificationsPermission]
    filter_backends = []
    pagination_class = None

    @extend_schema(summary="Read your notification preferences", responses={200: PreferenceSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return Response(_preferences(request.user))

    @extend_schema(
        summary="Change your notification preferences",
        request=PreferencesUpdateSerializer,
        responses={200: PreferenceSerializer(many=True), 415: OpenApiResponse(description="The body is not JSON.")},
        examples=[
            OpenApiExample(
                "No e-mail for submitted reviews", value={"review_submitted": {"email": False}}, request_only=True
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        data = self.validated_input(PreferencesUpdateSerializer)
        services.notification_preferences_update(actor=request.user, changes=data)
        return Response(_preferences(request.user))
