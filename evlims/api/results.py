"""Characterization results: instrument posts (JSON documents and raw files), ingestions, measurements and
raw file downloads.

Posts are idempotent: with an ``Idempotency-Key`` header, a retry gets the first answer (same status and
body, header ``Idempotent-Replayed: true``) and writes nothing; the same key with another body is a 422.
An instrument's ``external_run_id`` is stored once: posting it again answers like a retry.
Everything is all or nothing: one bad result refuses the whole post, naming it (``results[3].particle…``).
"""

import json

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ..characterization import selectors
from ..characterization.models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ParticleCapture,
    ProteinQuantification,
)
from ..conf import evlims_settings
from ..core.models import Lab
from ..core.tenancy import INGEST_ROLES, labs_where, visible_lab_ids
from ..instruments import file_ingestion, services, uploads
from ..instruments.models import Ingestion
from ..instruments.parsers import FORMATS
from ..instruments.particles import SIZE_FIELDS
from .authentication import READ, RESULTS_WRITE, is_instrument
from .base import IdFilter, ScopedApi, ScopedDetailApi, ScopedListApi, ScopedObjectApi, labs_for
from .exceptions import validation_detail
from .payloads import ResultPayload

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY = 120
MAX_MAPPED_SAMPLES = 384
# Raw files are always sent as attachments; only these types keep their own content type. Anything
# else goes out as opaque bytes that no browser renders.
DISPLAYABLE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (≤120 characters, e.g. a UUID) per logical post. A retry with the same key "
    "gets the first answer and writes nothing; the same key with another body answers 422.",
)


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This key was already used for a different request."
    default_code = "idempotency_key_reused"


def idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [f"At most {MAX_IDEMPOTENCY_KEY} characters."]})
    return key


def _reraise_key_reuse(error: DjangoValidationError):
    """The service refuses a reused key with another body as a field error; the API answers 422."""
    detail = validation_detail(error)
    if IDEMPOTENCY_HEADER in detail:
        raise IdempotencyKeyReused({IDEMPOTENCY_HEADER: detail[IDEMPOTENCY_HEADER]})
    raise error


def posting_lab(request, lab: Lab | None) -> Lab:
    """The lab results go to: the key's lab, the one named, or the user's only lab where they may write."""
    if is_instrument(request.user):
        return request.user.instrument.lab
    if lab is not None:
        return lab
    writable = labs_where(request.user, INGEST_ROLES)
    if len(writable) == 1:
        return Lab.objects.get(pk=writable[0])
    raise exceptions.ValidationError({"lab": ["Name the lab the results belong to."]})


def actor_and_instrument(request):
    """Services take a person as actor, or (for a key) no person and the instrument."""
    if is_instrument(request.user):
        return None, request.user.instrument
    return request.user, None


def replay_headers(replayed: bool) -> dict:
    return {REPLAYED_HEADER: "true"} if replayed else {}


class LabField(serializers.PrimaryKeyRelatedField):
    """A lab among the requester's (a key's is its instrument's); another lab's id is an unknown id."""

    def __init__(self, **kwargs):
        kwargs["queryset"] = Lab.objects.none()
        super().__init__(**kwargs)

    def get_queryset(self):
        return labs_for(self.context["request"].user)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.Field):
    """A JSON object, given as an object (JSON body) or as JSON text (a multipart form field)."""

    default_error_messages = {
        "invalid_json": "Not valid JSON: {error}.",
        "not_object": "Give a JSON object ({{…}}).",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not data.strip():
                return None
            try:
                data = json.loads(data)
            except json.JSONDecodeError as error:
                self.fail("invalid_json", error=f"{error.msg} at line {error.lineno}, column {error.colno}")
        if not isinstance(data, dict):
            self.fail("not_object")
        return data

    def to_representation(self, value):
        return value


def check_mapping(mapping, dilutions) -> tuple[dict, dict]:
    """{sample name: barcode} and {sample name: dilution ≥ 1}; errors keyed by sample name."""
    errors: dict[str, list[str]] = {}
    clean_mapping = {}
    if len(mapping) > MAX_MAPPED_SAMPLES:
        raise serializers.ValidationError({"mapping": [f"Map at most {MAX_MAPPED_SAMPLES} samples."]})
    for name, barcode in mapping.items():
        if not isinstance(barcode, str) or not barcode.strip() or len(barcode.strip()) > 40:
            errors[name] = ["Give the preparation barcode as text (at most 40 characters)."]
        else:
            clean_mapping[name] = barcode.strip()
    if errors:
        raise serializers.ValidationError({"mapping": errors})
    clean_dilutions = {}
    for name, factor in (dilutions or {}).items():
        if name not in clean_mapping:
            errors[name] = ["A dilution applies to a sample that is mapped to a preparation."]
        elif isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 <= factor < float("inf"):
            errors[name] = ["Give the dilution factor as a number of at least 1."]
        else:
            clean_dilutions[name] = float(factor)
    if errors:
        raise serializers.ValidationError({"dilutions": errors})
    return clean_mapping, clean_dilutions


# ---------------------------------------------------------------- inputs


class ResultsPostInputSerializer(serializers.Serializer):
    """Checked here: the envelope. Each result is validated by the characterization service, which names it
    by position (``results[3].particle.histogram``)."""

    results = serializers.JSONField(help_text="The result documents (see ResultDocument).")
    external_run_id = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="The instrument's own id for this run; an instrument posting it again gets the first answer.",
    )
    lab = LabField(
        required=False,
        allow_null=True,
        help_text="The lab the results belong to. Keys post to their instrument's lab; people in one lab may omit it.",
    )

    def validate_results(self, value):
        limit = services.MAX_RESULTS_PER_POST
        if not isinstance(value, list) or not 1 <= len(value) <= limit:
            raise serializers.ValidationError(f"Send a list of 1–{limit} results.")
        return value


class ResultsPostSchemaSerializer(serializers.Serializer):
    """The documented shape of a post (validation is ResultsPostInputSerializer + the service)."""

    results = ResultPayload(
        many=True,
        allow_empty=False,
        max_length=services.MAX_RESULTS_PER_POST,
        help_text=f"1–{services.MAX_RESULTS_PER_POST} result documents, stored all or nothing.",
    )
    external_run_id = serializers.CharField(max_length=120, required=False, allow_blank=True)
    lab = serializers.IntegerField(required=False, allow_null=True)


class MappingInputSerializer(serializers.Serializer):
    mapping = JSONObjectField(help_text="{sample name in the file: preparation barcode}; unmapped samples are skipped.")
    dilutions = JSONObjectField(
        required=False,
        allow_null=True,
        help_text="{sample name: dilution factor}, for particle samples whose file records none.",
    )
    calibration = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Particle files: how the analyser was calibrated (e.g. 100 nm polystyrene beads, 2026-01-05); "
        "no export records it.",
    )

    def validate(self, attrs):
        if not attrs.get("mapping"):
            raise serializers.ValidationError({"mapping": ["Map at least one sample of the file to a preparation."]})
        attrs["mapping"], attrs["dilutions"] = check_mapping(attrs["mapping"], attrs.get("dilutions"))
        return attrs


class FileUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The export exactly as the instrument wrote it.")
    format = serializers.ChoiceField(
        choices=["auto", *FORMATS], default="auto", help_text="auto: detected from the content."
    )
    mapping = JSONObjectField(
        required=False,
        allow_null=True,
        help_text="{sample name: preparation barcode}. Given: the results are committed at once. Absent: the "
        "answer is the preview; commit it later at /ingestions/{id}/commit/.",
    )
    dilutions = JSONObjectField(required=False, allow_null=True, help_text="{sample name: dilution factor}.")
    calibration = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Particle files: how the analyser was calibrated (e.g. 100 nm polystyrene beads, 2026-01-05); "
        "no export records it.",
    )
    plate_map = JSONObjectField(
        required=False, allow_null=True, help_text="Plate readers: which wells hold standards, blanks and samples."
    )
    fit = serializers.ChoiceField(choices=["linear", "quadratic"], required=False, help_text="Standard-curve model.")
    column_mapping = JSONObjectField(
        required=False, allow_null=True, help_text="Generic tables: which column holds what."
    )
    lab = LabField(required=False, allow_null=True, help_text="As for results; keys use their instrument's lab.")

    def validate_file(self, upload):
        limit = evlims_settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise serializers.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        return upload

    def validate(self, attrs):
        if attrs.get("mapping"):
            attrs["mapping"], attrs["dilutions"] = check_mapping(attrs["mapping"], attrs.get("dilutions"))
        elif attrs.get("dilutions"):
            raise serializers.ValidationError({"dilutions": ["Dilutions go with a mapping."]})
        if attrs.get("fit") and not attrs.get("plate_map"):
            raise serializers.ValidationError({"fit": ["A standard-curve fit needs a plate map."]})
        return attrs

    def parse_options(self) -> dict:
        data = self.validated_data
        options = {}
        if data.get("plate_map"):
            options["plate_map"] = data["plate_map"]
        if data.get("fit"):
            options["fit"] = data["fit"]
        if data.get("column_mapping"):
            options["mapping"] = data["column_mapping"]
        return options


# ---------------------------------------------------------------- outputs


class ResultsPostedSerializer(serializers.Serializer):
    ingestion = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Ingestion.Status.choices)
    external_run_id = serializers.CharField()
    measurements = serializers.ListField(child=serializers.IntegerField(), help_text="Ids, in the order posted.")


class RawFileBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    content_type = serializers.CharField()


class IngestionMeasurementSerializer(serializers.ModelSerializer):
    preparation_barcode = serializers.CharField(source="preparation.barcode", allow_null=True, default=None)
    input_sample_barcode = serializers.CharField(source="input_sample.barcode", allow_null=True, default=None)

    class Meta:
        model = Measurement
        fields = ["id", "kind", "method", "preparation", "preparation_barcode", "input_sample", "input_sample_barcode"]
        read_only_fields = fields


class IngestionListOutputSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="file_format", allow_null=True, read_only=True)
    measurement_count = serializers.IntegerField(read_only=True)
    raw_file = RawFileBriefSerializer(allow_null=True, read_only=True)
    uploaded_name = serializers.CharField(
        read_only=True,
        help_text="The name this upload came with. Identical bytes are stored once (raw_file, under the name they "
        "were first uploaded with); each upload keeps its own name.",
    )
    instrument_name = serializers.CharField(source="instrument.name", allow_null=True, default=None, read_only=True)

    class Meta:
        model = Ingestion
        fields = [
            "id",
            "lab",
            "instrument",
            "instrument_name",
            "status",
            "format",
            "external_run_id",
            "uploaded_name",
            "raw_file",
            "error",
            "measurement_count",
            "created_at",
        ]
        read_only_fields = fields


class IngestionDetailOutputSerializer(serializers.ModelSerializer):
    """Pass ``measurements`` (the ingestion's, read through a selector) in the context."""

    format = serializers.SerializerMethodField()
    samples = serializers.SerializerMethodField()
    raw_file = RawFileBriefSerializer(allow_null=True, read_only=True)
    uploaded_name = serializers.CharField(
        read_only=True,
        help_text="The name this upload came with. Identical bytes are stored once (raw_file, under the name they "
        "were first uploaded with); each upload keeps its own name.",
    )
    instrument_name = serializers.CharField(source="instrument.name", allow_null=True, default=None, read_only=True)
    parsed = serializers.JSONField(read_only=True, help_text="The parser's output, as `evlims_parse FILE --json`.")
    measurements = serializers.SerializerMethodField()

    class Meta:
        model = Ingestion
        fields = [
            "id",
            "lab",
            "instrument",
            "instrument_name",
            "status",
            "format",
            "external_run_id",
            "uploaded_name",
            "raw_file",
            "error",
            "samples",
            "parsed",
            "measurements",
            "created_at",
        ]
        read_only_fields = fields

    def get_format(self, ingestion) -> str | None:
        return (ingestion.parsed or {}).get("format")

    def get_samples(self, ingestion) -> list[str]:
        return [sample.get("name") for sample in (ingestion.parsed or {}).get("samples") or []]

    @extend_schema_field(IngestionMeasurementSerializer(many=True))
    def get_measurements(self, ingestion):
        return IngestionMeasurementSerializer(self.context["measurements"], many=True).data


class FailedUploadSerializer(serializers.Serializer):
    """A refused upload: either the parser refused the file (file, ingestion and raw_file are set), or the
    metadata was bad (then the body names those fields instead, as every 400 does)."""

    file = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="What the parser refused: line and field."
    )
    ingestion = serializers.IntegerField(required=False, help_text="The failed ingestion that records the refusal.")
    raw_file = serializers.IntegerField(required=False, help_text="The file, kept as received.")


class CaptureOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ParticleCapture
        fields = ["name", "concentration_per_ml", "valid", *SIZE_FIELDS]
        read_only_fields = fields


class HistogramOutputSerializer(serializers.Serializer):
    bin_center_nm = serializers.ListField(child=serializers.FloatField())
    concentration_per_ml = serializers.ListField(child=serializers.FloatField())


class ParticleOutputSerializer(serializers.ModelSerializer):
    """Pass ``bins`` ({measurement id: (centres, values)}) in the context to include the histogram."""

    captures = CaptureOutputSerializer(many=True, read_only=True)
    histogram = serializers.SerializerMethodField()

    class Meta:
        model = ParticleAnalysis
        fields = [
            "technique",
            "sample_name",
            "settings",
            "dilution_factor",
            "dilution_applied_in_file",
            "concentration_per_ml",
            "instrument_average_concentration_per_ml",
            *SIZE_FIELDS,
            "computed",
            "calibration",
            "captures",
            "histogram",
        ]
        read_only_fields = fields

    @extend_schema_field(HistogramOutputSerializer)
    def get_histogram(self, analysis):
        centres, values = self.context["bins"].get(analysis.measurement_id, ([], []))
        return {"bin_center_nm": centres, "concentration_per_ml": values}


class ProteinOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProteinQuantification
        fields = ["assay", "concentration_ug_per_ml", "volume_assayed_ul", "out_of_range", "standard_curve"]
        read_only_fields = fields


class MarkerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MarkerResult
        fields = [
            "protein",
            "misev_category",
            "detection",
            "semi_quantitative_value",
            "antibody_clone",
            "antibody_catalogue",
            "antibody_dilution",
            "antibody_supplier",
            "lysate_buffer",
            "lysis_protocol",
            "lysate_reducing",
            "protein_loaded_ug",
            "compared_with_source_lysate",
            "topology_assay",
            "topology_component",
        ]
        read_only_fields = fields


class ImagingOutputSerializer(serializers.ModelSerializer):
    images = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Raw file ids of the images.")

    class Meta:
        model = ImagingResult
        fields = ["technique", "wide_field", "close_up", "magnification", "images"]
        read_only_fields = fields


class AnalyteOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnalyteQuantification
        fields = ["assay", "value", "unit"]
        read_only_fields = fields


class MeasurementListOutputSerializer(serializers.ModelSerializer):
    preparation_barcode = serializers.CharField(source="preparation.barcode", allow_null=True, default=None)
    input_sample_barcode = serializers.CharField(source="input_sample.barcode", allow_null=True, default=None)
    values = serializers.JSONField(read_only=True, help_text="Headline figures, units in the key.")

    class Meta:
        model = Measurement
        fields = [
            "id",
            "lab",
            "kind",
            "method",
            "preparation",
            "preparation_barcode",
            "input_sample",
            "input_sample_barcode",
            "measured_at",
            "instrument",
            "instrument_name",
            "software_version",
            "raw_file",
            "ingestion",
            "values",
            "created_at",
        ]
        read_only_fields = fields


def _detail(measurement, name):
    try:
        return getattr(measurement, name)
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist of the one-to-one: no detail of that kind
        return None


class MeasurementDetailOutputSerializer(MeasurementListOutputSerializer):
    """The typed detail of the measurement's kind (the others are null); particles with captures and bins."""

    particle = serializers.SerializerMethodField()
    protein = serializers.SerializerMethodField()
    marker = serializers.SerializerMethodField()
    imaging = serializers.SerializerMethodField()
    analyte = serializers.SerializerMethodField()

    class Meta(MeasurementListOutputSerializer.Meta):
        fields = [*MeasurementListOutputSerializer.Meta.fields, "particle", "protein", "marker", "imaging", "analyte"]
        read_only_fields = fields

    def _part(self, measurement, name, serializer_class):
        detail = _detail(measurement, name)
        return serializer_class(detail, context=self.context).data if detail is not None else None

    @extend_schema_field(ParticleOutputSerializer(allow_null=True))
    def get_particle(self, measurement):
        return self._part(measurement, "particle", ParticleOutputSerializer)

    @extend_schema_field(ProteinOutputSerializer(allow_null=True))
    def get_protein(self, measurement):
        return self._part(measurement, "protein", ProteinOutputSerializer)

    @extend_schema_field(MarkerOutputSerializer(allow_null=True))
    def get_marker(self, measurement):
        return self._part(measurement, "marker", MarkerOutputSerializer)

    @extend_schema_field(ImagingOutputSerializer(allow_null=True))
    def get_imaging(self, measurement):
        return self._part(measurement, "imaging", ImagingOutputSerializer)

    @extend_schema_field(AnalyteOutputSerializer(allow_null=True))
    def get_analyte(self, measurement):
        return self._part(measurement, "analyte", AnalyteOutputSerializer)


# ---------------------------------------------------------------- reads


def measurements_for(user):
    return Measurement.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("preparation", "input_sample")


def measurement_detail_queryset(user):
    return (
        measurements_for(user)
        .select_related("particle", "protein", "marker", "imaging", "analyte")
        .prefetch_related("particle__captures", "imaging__images")
    )


def ingestion_detail_response(view, ingestion, *, status_code=status.HTTP_200_OK, replayed=False):
    context = view.get_serializer_context() | {"measurements": selectors.ingestion_measurements(ingestion)}
    data = IngestionDetailOutputSerializer(ingestion, context=context).data
    return Response(data, status=status_code, headers=replay_headers(replayed))


def failed_upload_response(ingestion, *, replayed=False):
    body = {"file": [ingestion.error], "ingestion": ingestion.pk, "raw_file": ingestion.raw_file_id}
    return Response(body, status=status.HTTP_400_BAD_REQUEST, headers=replay_headers(replayed))


def refused_mapping(refused: uploads.CommitRefused) -> dict:
    """A refused commit's errors as the API words them (Django's ``__all__`` is DRF's non-field key)."""
    rename = {NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY}
    return {rename.get(key, key): messages for key, messages in refused.errors.items()}


def commit_mapping(request, ingestion, mapping: dict, dilutions: dict, calibration: str = ""):
    """Commit a previewed file, with every refusal put on the sample it concerns (``mapping.<name>``)."""
    if is_instrument(request.user) and ingestion.instrument_id != request.user.instrument.pk:
        raise exceptions.PermissionDenied("An instrument key commits only its own instrument's uploads.")
    actor, instrument = actor_and_instrument(request)
    try:
        return uploads.file_commit_by_sample(
            actor=actor or instrument,
            ingestion=ingestion,
            mapping=mapping,
            dilutions=dilutions,
            calibration=calibration,
        )
    except uploads.CommitRefused as refused:
        raise exceptions.ValidationError(refused_mapping(refused))


# ---------------------------------------------------------------- examples

NTA_PARTICLE = {
    "technique": "nta",
    "name": "d200",
    "dilution_factor": 200,
    "dilution_applied_in_file": False,
    "concentration_per_ml": 43120000000.0,
    "instrument_average_concentration_per_ml": 216000000.0,
    "size_mean_nm": 87.9,
    "size_mode_nm": 61.7,
    "size_sd_nm": 46.9,
    "d10_nm": 57.7,
    "d50_nm": 72.5,
    "d90_nm": 134.3,
    "computed": ["concentration_per_ml"],
    "settings": {
        "videos": 5,
        "camera_level": 16,
        "detection_threshold": 5,
        "shutter": 1300,
        "frames": 1498,
        "temperature_c": 26.77,
        "viscosity_cp": 0.854,
    },
    "captures": [
        {
            "name": "EMT1 d200 2021-04-01 15-43-10",
            "concentration_per_ml": 208000000.0,
            "valid": True,
            "size_mean_nm": 92.0,
            "size_mode_nm": 61.5,
            "size_sd_nm": 48.9,
            "d10_nm": 59.6,
            "d50_nm": 72.7,
            "d90_nm": 153.7,
            "computed": [],
        },
        {
            "name": "EMT1 d200 2021-04-01 15-44-24",
            "concentration_per_ml": 247000000.0,
            "valid": True,
            "size_mean_nm": 86.0,
            "size_mode_nm": 62.0,
            "size_sd_nm": 51.0,
            "d10_nm": 55.8,
            "d50_nm": 72.5,
            "d90_nm": 120.7,
            "computed": [],
        },
    ],
    "histogram": {
        "bin_center_nm": [58.5, 59.5, 60.5, 61.5, 62.5, 63.5, 64.5, 65.5],
        "concentration_per_ml": [
            7323290.0,
            7501764.0,
            7496195.0,
            7398169.0,
            7217420.0,
            6931205.0,
            6528405.0,
            6027339.0,
        ],
    },
}
NTA_POST_EXAMPLE = OpenApiExample(
    "NTA results from an instrument (particle part as evlims_parse --json)",
    description="The `particle` part is a sample of `python manage.py evlims_parse FILE --json` with "
    "`technique` added (captures and histogram shortened here). Sent with `Authorization: Api-Key evl_…` "
    "and `Idempotency-Key: 7c0e…`.",
    value={
        "external_run_id": "NS300-2021-04-01-15-42-48",
        "results": [
            {
                "kind": "particle",
                "method": "nta",
                "preparation": "EVP-0000012",
                "measured_at": "2021-04-01T15:42:48Z",
                "software_version": "NTA 3.3 - Sample Assistant Dev Build 3.3.203",
                "particle": NTA_PARTICLE,
            }
        ],
    },
    request_only=True,
)
BULK_POST_EXAMPLE = OpenApiExample(
    "Protein, marker and lipid results in one post (a person, naming the lab)",
    value={
        "lab": 1,
        "results": [
            {
                "kind": "protein",
                "method": "bca",
                "preparation": "EVP-0000012",
                "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 41.7, "volume_assayed_ul": 10},
            },
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": "EVP-0000012",
                "marker": {
                    "protein": "CD63",
                    "detected": True,
                    "antibody": {"clone": "H5C6", "dilution": "1:1000", "supplier": "BD Biosciences"},
                    "lysate": {
                        "buffer": "RIPA",
                        "protocol": "10 min on ice, vortexed",
                        "reducing": False,
                        "protein_loaded_ug": 10,
                        "compared_with_source": True,
                    },
                    "topology": {"assay": "antibody accessibility on intact EVs", "component": "surface-exposed"},
                },
            },
            {
                "kind": "lipid",
                "method": "sulfophosphovanillin",
                "preparation": "EVP-0000012",
                "analyte": {"assay": "SPV", "value": 12.5, "unit": "nmol/mL"},
            },
        ],
    },
    request_only=True,
)
POSTED_EXAMPLE = OpenApiExample(
    "Stored",
    value={
        "ingestion": 57,
        "status": "committed",
        "external_run_id": "NS300-2021-04-01-15-42-48",
        "measurements": [311],
    },
    response_only=True,
    status_codes=["201"],
)
REFUSED_EXAMPLE = OpenApiExample(
    "One result refused: nothing stored",
    value={
        "results[3].particle.histogram": ["bin_center_nm and concentration_per_ml must have the same length."],
        "results[5].preparation": ["No preparation EVP-0009999 in this lab."],
    },
    response_only=True,
    status_codes=["400"],
)
KEY_REUSED_EXAMPLE = OpenApiExample(
    "Key reused with another body",
    value={IDEMPOTENCY_HEADER: ["This key was already used for a different request."]},
    response_only=True,
    status_codes=["422"],
)


# ---------------------------------------------------------------- views


@extend_schema(tags=["results"])
class ResultsPostApi(ScopedApi):
    """Post one or many result documents (at most MAX_RESULTS_PER_POST), stored all or nothing."""

    serializer_class = ResultsPostedSerializer
    pagination_class = None
    filter_backends = []
    api_key_scopes = {"write": RESULTS_WRITE}

    @extend_schema(
        summary="Post results (instruments and people)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ResultsPostSchemaSerializer,
        responses={
            201: ResultsPostedSerializer,
            400: OpenApiResponse(description="A result was refused; the answer names it. Nothing was stored."),
            422: OpenApiResponse(description="The Idempotency-Key was used before for another body."),
        },
        examples=[NTA_POST_EXAMPLE, BULK_POST_EXAMPLE, POSTED_EXAMPLE, REFUSED_EXAMPLE, KEY_REUSED_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        data = self.validated_input(ResultsPostInputSerializer)
        lab = posting_lab(request, data.get("lab"))
        actor, instrument = actor_and_instrument(request)
        try:
            ingestion, replayed = services.results_ingest(
                actor=actor,
                lab=lab,
                documents=data["results"],
                instrument=instrument,
                idempotency_key=key,
                external_run_id=data["external_run_id"],
            )
        except DjangoValidationError as error:
            _reraise_key_reuse(error)
        body = {
            "ingestion": ingestion.pk,
            "status": ingestion.status,
            "external_run_id": ingestion.external_run_id,
            "measurements": list(ingestion.response.get("measurements", [])),
        }
        return Response(body, status=status.HTTP_201_CREATED, headers=replay_headers(replayed))


@extend_schema(tags=["results"])
class FileUploadApi(ScopedApi):
    """Upload a raw instrument file. It is kept byte for byte before anything reads it, then parsed."""

    serializer_class = IngestionDetailOutputSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = None
    filter_backends = []
    api_key_scopes = {"write": RESULTS_WRITE}

    @extend_schema(
        summary="Upload an instrument file: preview, or commit at once with a mapping",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": FileUploadInputSerializer},
        responses={
            201: IngestionDetailOutputSerializer,
            400: OpenApiResponse(
                FailedUploadSerializer, description="The parser refused the file (it is kept), or bad metadata."
            ),
            422: OpenApiResponse(description="The Idempotency-Key was used before for another file."),
        },
        examples=[
            OpenApiExample(
                "NanoSight summary, committed at once",
                value={
                    "file": "(EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv)",
                    "format": "nanosight",
                    "mapping": '{"d200": "EVP-0000012"}',
                    "dilutions": '{"d200": 200}',
                },
                request_only=True,
                media_type="multipart/form-data",
            ),
            OpenApiExample(
                "BCA plate with its plate map, preview only",
                value={
                    "file": "(testdata_SM.csv)",
                    "plate_map": '{"wells": {"A1:A2": {"role": "standard", "ug_per_ml": 2000}, '
                    '"G1:H2": {"role": "blank"}, "A3:A4": {"role": "sample", "name": "EV 1"}}}',
                },
                request_only=True,
                media_type="multipart/form-data",
            ),
            OpenApiExample(
                "Preview",
                value={
                    "id": 58,
                    "lab": 1,
                    "instrument": 3,
                    "instrument_name": "NS300 room 2.14",
                    "status": "preview",
                    "format": "nanosight",
                    "external_run_id": "",
                    "uploaded_name": "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv",
                    "raw_file": {
                        "id": 40,
                        "original_name": "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv",
                        "sha256": "9b0c…",
                        "size_bytes": 81234,
                        "content_type": "text/csv",
                    },
                    "error": "",
                    "samples": ["d200"],
                    "parsed": {
                        "format": "nanosight",
                        "software_version": "NTA 3.3 - Sample Assistant Dev Build 3.3.203",
                        "samples": [{k: v for k, v in NTA_PARTICLE.items() if k != "technique"}],
                        "warnings": [],
                    },
                    "measurements": [],
                    "created_at": "2025-03-04T09:20:01Z",
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "File refused by the parser (kept)",
                value={
                    "file": ["line 14, field 'Concentration (particles / ml)': not a number: 'n/a'"],
                    "ingestion": 59,
                    "raw_file": 41,
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        serializer = self.checked_input(FileUploadInputSerializer)
        data = serializer.validated_data
        lab = posting_lab(request, data.get("lab"))
        actor, instrument = actor_and_instrument(request)
        upload = data["file"]
        try:
            ingestion, replayed = uploads.file_upload_and_commit(
                actor=actor,
                lab=lab,
                data=upload.read(),
                name=upload.name,
                file_format=data["format"],
                instrument=instrument,
                idempotency_key=key,
                content_type=upload.content_type or "",
                parse_options=serializer.parse_options(),
                mapping=data.get("mapping"),
                dilutions=data.get("dilutions"),
                calibration=data.get("calibration", ""),
            )
        except file_ingestion.FileRejected as rejected:
            return failed_upload_response(rejected.ingestion)
        except uploads.CommitRefused as refused:
            # The file stays stored and previewed: say which ingestion to commit once corrected.
            detail = refused_mapping(refused) | {"ingestion": refused.ingestion.pk}
            return Response(detail, status=status.HTTP_400_BAD_REQUEST, headers=replay_headers(refused.replayed))
        except DjangoValidationError as error:
            _reraise_key_reuse(error)
        if ingestion.status == Ingestion.Status.FAILED:
            return failed_upload_response(ingestion, replayed=replayed)
        ingestion = selectors.ingestion_get(request.user, ingestion.pk)
        return ingestion_detail_response(self, ingestion, status_code=status.HTTP_201_CREATED, replayed=replayed)


class IngestionFilter(django_filters.FilterSet):
    instrument = IdFilter(field_name="instrument_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Ingestion
        fields = ["lab", "instrument", "status"]


@extend_schema(tags=["results"], summary="List ingestions (uploads and instrument posts)")
class IngestionListApi(ScopedListApi):
    """Every upload and instrument post of your labs, newest first, without the parsed documents."""

    serializer_class = IngestionListOutputSerializer
    filterset_class = IngestionFilter
    search_fields = ["external_run_id", "uploaded_name"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    api_key_scopes = {"read": READ}
    decorate_page = staticmethod(selectors.with_measurement_counts)

    def get_queryset(self):
        return selectors.ingestions_for(self.request.user)


@extend_schema(tags=["results"])
class IngestionDetailApi(ScopedDetailApi):
    """One ingestion: its status, the parsed values (preview), the error of a refused file, its results."""

    serializer_class = IngestionDetailOutputSerializer
    api_key_scopes = {"read": READ}

    def get_object(self):
        ingestion = selectors.ingestion_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, ingestion)
        return ingestion

    @extend_schema(summary="Read an ingestion with its parsed values and results")
    def get(self, request, *args, **kwargs):
        return ingestion_detail_response(self, self.get_object())


@extend_schema(tags=["results"])
class IngestionCommitApi(ScopedObjectApi):
    """Map a previewed file's samples to preparations and store the results, all or nothing."""

    serializer_class = IngestionDetailOutputSerializer
    api_key_scopes = {"write": RESULTS_WRITE}

    def get_object(self):
        ingestion = selectors.ingestion_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, ingestion)
        return ingestion

    @extend_schema(
        summary="Commit a previewed file with its mapping",
        request=MappingInputSerializer,
        responses={200: IngestionDetailOutputSerializer},
        examples=[
            OpenApiExample(
                "Two NTA samples",
                value={"mapping": {"d200": "EVP-0000012", "d500": "EVP-0000013"}, "dilutions": {"d200": 200}},
                request_only=True,
            ),
            OpenApiExample(
                "Refused: nothing stored",
                value={"mapping": {"d500": ["No preparation EVP-0000013 in this lab."]}},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        ingestion = self.get_object()
        data = self.validated_input(MappingInputSerializer)
        commit_mapping(request, ingestion, data["mapping"], data["dilutions"], data.get("calibration", ""))
        return ingestion_detail_response(self, selectors.ingestion_get(request.user, ingestion.pk))


class MeasurementFilter(django_filters.FilterSet):
    preparation = IdFilter(field_name="preparation_id")
    input_sample = IdFilter(field_name="input_sample_id")
    ingestion = IdFilter(field_name="ingestion_id")
    instrument = IdFilter(field_name="instrument_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = Measurement
        fields = ["lab", "preparation", "input_sample", "kind", "method", "ingestion", "instrument"]


@extend_schema(tags=["results"], summary="List measurements")
class MeasurementListApi(ScopedListApi):
    """Results of your labs with their headline figures; the typed detail is on each measurement."""

    serializer_class = MeasurementListOutputSerializer
    filterset_class = MeasurementFilter
    search_fields = ["preparation__barcode", "input_sample__barcode", "method"]
    ordering_fields = ["measured_at", "created_at"]
    ordering = ["measured_at", "id"]
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return measurements_for(self.request.user)


@extend_schema(tags=["results"], summary="Read a measurement with its typed detail and histogram")
class MeasurementDetailApi(ScopedDetailApi):
    """One result: the detail of its kind; a particle analysis with captures and size-distribution bins."""

    serializer_class = MeasurementDetailOutputSerializer
    api_key_scopes = {"read": READ}

    def get_queryset(self):
        return measurement_detail_queryset(self.request.user)

    def get(self, request, *args, **kwargs):
        measurement = self.get_object()
        context = self.get_serializer_context() | {"bins": selectors.size_bins([measurement.pk])}
        return Response(MeasurementDetailOutputSerializer(measurement, context=context).data)


@extend_schema(tags=["results"])
class RawFileDownloadApi(ScopedObjectApi):
    """The file exactly as received, as a download. Images keep their type; anything else is sent as
    application/octet-stream with ``X-Content-Type-Options: nosniff``, so a browser never renders it."""

    api_key_scopes = {"read": READ}

    def get_object(self):
        raw = selectors.raw_file_get(self.request.user, self.kwargs["pk"])
        self.check_object_permissions(self.request, raw)
        return raw

    @extend_schema(
        summary="Download a raw instrument file",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        raw = self.get_object()
        content_type = raw.content_type if raw.content_type in DISPLAYABLE_IMAGE_TYPES else "application/octet-stream"
        response = FileResponse(
            raw.file.open("rb"), as_attachment=True, filename=raw.original_name, content_type=content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
