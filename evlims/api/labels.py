"""Cryo labels for thermal printers: a lab's label template (members read it, its admins change it), the ZPL of
chosen aliquots as a download, and the same labels sent to the lab's printer (502 when the printer does not take
them; the attempt is audited either way)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from ..core.ids import MAX_ID
from ..core.selectors import lab_of_member
from ..labels import services, zpl
from ..labels.models import LabelTemplate
from ..labels.selectors import chosen_aliquots
from .base import ScopedObjectApi
from .permissions import LabAdminPermission, LabRolePermission

FIELD_CHOICES = list(LabelTemplate.FIELDS)


class LabelTemplateSerializer(serializers.ModelSerializer):
    lab_name = serializers.CharField(source="lab.name", read_only=True)
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=FIELD_CHOICES),
        help_text="The human-readable lines, in order: "
        + ", ".join(f"{k} ({v})" for k, v in LabelTemplate.FIELDS.items()),
    )
    saved = serializers.SerializerMethodField(help_text="false: the defaults, until an admin saves the template.")

    class Meta:
        model = LabelTemplate
        fields = [
            "lab",
            "lab_name",
            "size",
            "dpi",
            "symbology",
            "fields",
            "printer_host",
            "printer_port",
            "version",
            "saved",
        ]
        read_only_fields = fields

    def get_saved(self, template) -> bool:
        return template.pk is not None


class LabelTemplateUpdateSerializer(serializers.Serializer):
    size = serializers.ChoiceField(choices=list(zpl.SIZES), required=False)
    dpi = serializers.ChoiceField(choices=list(zpl.DPIS), required=False)
    symbology = serializers.ChoiceField(choices=list(zpl.SYMBOLOGIES), required=False)
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=FIELD_CHOICES), required=False, max_length=zpl.MAX_LINES
    )
    printer_host = serializers.CharField(required=False, allow_blank=True, max_length=253)
    printer_port = serializers.IntegerField(required=False, min_value=9100, max_value=9109)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Kept in the audit trail.")


class AliquotChoiceSerializer(serializers.Serializer):
    aliquots = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=960
    )


class LabelPrintSerializer(AliquotChoiceSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Kept in the audit trail.")


class LabelPrintAnswerSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Labels the printer took.")
    printer = serializers.CharField()


class LabelReadPermission(LabRolePermission):
    """Writing a download is a read: any member of the aliquots' lab."""

    write_roles = LabRolePermission.read_roles


@extend_schema(tags=["labels"])
class LabelTemplateApi(ScopedObjectApi):
    """The lab's label template for thermal printers (the defaults until an admin saves one)."""

    serializer_class = LabelTemplateSerializer
    permission_classes = [LabAdminPermission]  # members read; its admins change it

    def get_object(self):
        lab = lab_of_member(self.request.user, self.kwargs["pk"])
        template = services.template_for(lab)
        self.check_object_permissions(self.request, template)
        return template

    def lab_id_of(self, template):
        return template.lab_id

    @extend_schema(summary="Read the lab's label template")
    def get(self, request, *args, **kwargs):
        return self.respond(self.get_object())

    @extend_schema(
        summary="Change the lab's label template",
        request=LabelTemplateUpdateSerializer,
        responses={200: LabelTemplateSerializer},
        examples=[
            OpenApiExample(
                "Cap labels on a 300 dpi printer",
                value={
                    "size": "cap-1x1",
                    "dpi": 300,
                    "symbology": "qr",
                    "printer_host": "10.0.4.21",
                    "reason": "New printer",
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        template = self.get_object()
        data = self.validated_input(LabelTemplateUpdateSerializer)
        reason = data.pop("reason")
        saved = services.label_template_save(actor=request.user, lab=template.lab, changes=data, reason=reason)
        return self.respond(saved)


@extend_schema(tags=["labels"])
class LabelZplApi(ScopedObjectApi):
    """The chosen aliquots' labels as ZPL (one ^XA…^XZ format per label) for the lab's template, as a download."""

    permission_classes = [LabelReadPermission]
    serializer_class = AliquotChoiceSerializer
    parser_classes = [JSONParser]  # a list of up to 960 ids: a form would run into Django's field limit

    @extend_schema(
        summary="Download the ZPL of aliquot labels",
        request=AliquotChoiceSerializer,
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="ZPL II, UTF-8 (^CI28)."),
            404: OpenApiResponse(description="An aliquot named is not in your labs."),
            415: OpenApiResponse(description="The body is not JSON."),
        },
    )
    def post(self, request, *args, **kwargs):
        aliquots = chosen_aliquots(request.user, self.validated_input(AliquotChoiceSerializer)["aliquots"])
        template = services.template_for(aliquots[0].lab)
        response = HttpResponse(
            services.labels_zpl(template=template, aliquots=aliquots), content_type="text/plain; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="aliquot-labels.zpl"'
        return response


@extend_schema(tags=["labels"])
class LabelPrintApi(ScopedObjectApi):
    """Send the chosen aliquots' labels to their lab's printer (raw TCP, port 9100–9109, bounded in time)."""

    serializer_class = LabelPrintAnswerSerializer
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Print aliquot labels on the lab's printer",
        request=LabelPrintSerializer,
        responses={
            200: LabelPrintAnswerSerializer,
            404: OpenApiResponse(description="An aliquot named is not in your labs."),
            415: OpenApiResponse(description="The body is not JSON."),
            502: OpenApiResponse(description="The printer did not take the labels."),
        },
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(LabelPrintSerializer)
        aliquots = chosen_aliquots(request.user, data["aliquots"])
        lab = aliquots[0].lab
        try:
            sent = services.labels_print(actor=request.user, lab=lab, aliquots=aliquots, reason=data["reason"])
        except services.PrinterUnreachable as error:
            return Response({"detail": str(error)}, status=502)
        template = services.template_for(lab)
        return Response({"sent": sent, "printer": f"{template.printer_host}:{template.printer_port}"})
