"""``POST /blots/``: a western blot as one entry, its image with it (characterization.blots.blot_record). Every band
becomes a marker result of its preparation, all of them or none; the image is kept even when the blot is refused.
JSON (``{"blot": {…}, "reason": …}``) or multipart (``blot`` as JSON text, ``image`` the file). People only:
instrument keys post results through ``POST /results/``."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from ...characterization.blots import MAX_LANES, MAX_MARKERS, BlotRefused, blot_record
from ..base import ScopedApi
from ..exceptions import validation_detail
from .posting import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_PARAMETER,
    IdempotencyKeyReused,
    JSONObjectField,
    LabField,
    idempotency_key,
    posting_lab,
    replay_headers,
)

OUTSIDE_BLOT = ("blot", "image", "reason", IDEMPOTENCY_HEADER)


class BlotAntibodySerializer(serializers.Serializer):
    clone = serializers.CharField(required=False, max_length=80)
    catalogue = serializers.CharField(required=False, max_length=80)
    dilution = serializers.CharField(required=False, max_length=40, help_text="e.g. 1:1000")
    supplier = serializers.CharField(required=False, max_length=80)


class BlotMarkerSerializer(serializers.Serializer):
    protein = serializers.CharField(help_text="HGNC symbol or an alias the marker vocabulary knows (CD63, ALIX).")
    protein_confirmed = serializers.BooleanField(
        required=False, help_text="True to record a protein the marker vocabulary does not know, as typed."
    )
    antibody = BlotAntibodySerializer(
        required=False, help_text="Clone or catalogue number required for antibody-based methods."
    )


class BlotBandSerializer(serializers.Serializer):
    detected = serializers.BooleanField(required=False, allow_null=True)
    semi_quantitative_value = serializers.FloatField(required=False, min_value=0)


class BlotLaneSerializer(serializers.Serializer):
    preparation = serializers.CharField(help_text="Barcode of a preparation of the lab.")
    bands = BlotBandSerializer(many=True, help_text="One band per marker, in the markers' order.")


class BlotLysateSerializer(serializers.Serializer):
    buffer = serializers.CharField(required=False, max_length=80)
    protocol = serializers.CharField(required=False, max_length=200)
    reducing = serializers.BooleanField(required=False, allow_null=True)
    protein_loaded_ug = serializers.FloatField(required=False, min_value=0, help_text="Per lane, the same in each.")
    compared_with_source = serializers.BooleanField(required=False, allow_null=True)


class BlotSerializer(serializers.Serializer):
    method = serializers.CharField(help_text="western_blot, or another marker method (elisa, …).")
    measured_at = serializers.DateTimeField(required=False)
    lysate = BlotLysateSerializer(required=False, help_text="What every lane shares.")
    markers = BlotMarkerSerializer(many=True, help_text=f"1 to {MAX_MARKERS} markers probed.")
    lanes = BlotLaneSerializer(many=True, help_text=f"1 to {MAX_LANES} lanes, one preparation each.")


class BlotPostSchemaSerializer(serializers.Serializer):
    blot = BlotSerializer()
    reason = serializers.CharField(required=False, help_text="Needed when a preparation is approved (voids it).")
    lab = serializers.IntegerField(required=False, help_text="The lab; people in one lab may omit it.")


class BlotMultipartSchemaSerializer(BlotPostSchemaSerializer):
    blot = serializers.CharField(help_text="The blot as JSON text (see the JSON request).")
    image = serializers.FileField(required=False, help_text="The blot image: PNG, JPEG or TIFF.")


class BlotPostInputSerializer(serializers.Serializer):
    blot = JSONObjectField()
    image = serializers.FileField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    lab = LabField(required=False, allow_null=True)

    def validate_blot(self, value):
        if value is None:
            raise serializers.ValidationError("Give the blot: its markers and lanes.")
        return value


class BlotRecordedSerializer(serializers.Serializer):
    ingestion = serializers.IntegerField(help_text="The blot's record; its results list under the ingestion.")
    measurements = serializers.ListField(child=serializers.IntegerField(), help_text="One per band, lane by lane.")
    image = serializers.IntegerField(allow_null=True, help_text="The image's raw file.")


BLOT_EXAMPLE = OpenApiExample(
    "Two lanes probed for CD63 and TSG101",
    value={
        "blot": {
            "method": "western_blot",
            "measured_at": "2025-03-03T14:00:00+01:00",
            "lysate": {"buffer": "RIPA", "reducing": False, "protein_loaded_ug": 10, "compared_with_source": True},
            "markers": [
                {"protein": "CD63", "antibody": {"clone": "H5C6", "dilution": "1:1000", "supplier": "BD Biosciences"}},
                {"protein": "TSG101", "antibody": {"catalogue": "ab125011", "dilution": "1:500", "supplier": "Abcam"}},
            ],
            "lanes": [
                {"preparation": "EVP-0000042", "bands": [{"detected": True}, {"detected": True}]},
                {"preparation": "EVP-0000043", "bands": [{"semi_quantitative_value": 0.4}, {"detected": False}]},
            ],
        }
    },
    request_only=True,
)
RECORDED_EXAMPLE = OpenApiExample(
    "Recorded", value={"ingestion": 311, "measurements": [901, 902, 903, 904], "image": 77}, response_only=True
)
REFUSED_EXAMPLE = OpenApiExample(
    "A lane refused: nothing recorded, the image kept",
    value={
        "blot.lanes[1].preparation": ["No preparation EVP-0000099 in this lab."],
        "blot.lanes[1].bands[0].detected": ["Say whether the marker was detected."],
        "image_kept": 77,
    },
    response_only=True,
    status_codes=["400"],
)


@extend_schema(tags=["results"])
class BlotPostApi(ScopedApi):
    """Record a western blot: one marker result per lane and marker, all or none, with the blot image."""

    serializer_class = BlotRecordedSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Record a western blot (lanes × markers) with its image",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"application/json": BlotPostSchemaSerializer, "multipart/form-data": BlotMultipartSchemaSerializer},
        responses={
            201: BlotRecordedSerializer,
            400: OpenApiResponse(
                description="The blot was refused; each problem is named by its place (blot.lanes[1].preparation, "
                "blot.markers[0].protein, image, reason). Nothing was recorded; an image sent is kept (image_kept)."
            ),
            415: OpenApiResponse(description="The body is neither JSON nor a multipart form."),
            422: OpenApiResponse(description="The Idempotency-Key was used before for another blot."),
        },
        examples=[BLOT_EXAMPLE, RECORDED_EXAMPLE, REFUSED_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        data = self.validated_input(BlotPostInputSerializer)
        lab = posting_lab(request, data.get("lab"))
        try:
            ingestion, measurements, replayed = blot_record(
                actor=request.user,
                lab=lab,
                blot=data["blot"],
                image=data.get("image"),
                reason=data["reason"],
                idempotency_key=f"blot:{key}" if key else "",
            )
        except BlotRefused as refused:
            detail = {
                name if name in OUTSIDE_BLOT else f"blot.{name}": messages
                for name, messages in validation_detail(refused).items()
            }
            if IDEMPOTENCY_HEADER in detail:
                raise IdempotencyKeyReused({IDEMPOTENCY_HEADER: detail[IDEMPOTENCY_HEADER]}) from None
            if refused.raw_file is not None:
                detail["image_kept"] = refused.raw_file.pk
            return Response(detail, status=status.HTTP_400_BAD_REQUEST)
        body = {
            "ingestion": ingestion.pk,
            "measurements": [m.pk for m in measurements],
            "image": ingestion.raw_file_id,
        }
        return Response(body, status=status.HTTP_201_CREATED, headers=replay_headers(replayed))
