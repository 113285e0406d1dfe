"""The answers of the results endpoints: posts, ingestions, measurements with their typed detail."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...characterization.models import (
    AnalyteQuantification,
    ImagingResult,
    MarkerResult,
    Measurement,
    ParticleAnalysis,
    ParticleCapture,
    ProteinQuantification,
)
from ...instruments.models import Ingestion
from ...instruments.particles import SIZE_FIELDS
from ...instruments.services import dilution_suggestions


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
    dilution_suggestions = serializers.SerializerMethodField(
        help_text="{sample name: {factor, from}} for every particle sample whose file records no dilution: the "
        "commit needs its factor (or \"undiluted\") in `dilutions`. `factor` is what the sample's or the file's "
        "name suggests (`from`: the words it was read from), null when nothing does; it is never applied unasked."
    )

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
            "dilution_suggestions",
            "parsed",
            "measurements",
            "created_at",
        ]
        read_only_fields = fields

    def get_format(self, ingestion) -> str | None:
        return (ingestion.parsed or {}).get("format")

    def get_samples(self, ingestion) -> list[str]:
        return [sample.get("name") for sample in (ingestion.parsed or {}).get("samples") or []]

    @extend_schema_field(serializers.DictField(child=serializers.DictField()))
    def get_dilution_suggestions(self, ingestion) -> dict:
        return dilution_suggestions(ingestion.parsed or {}, ingestion.uploaded_name)

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
        fields = ["name", "concentration_per_ml", "valid", "invalid_reason", "included_in_mean", *SIZE_FIELDS]
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
    status = serializers.ChoiceField(
        choices=Measurement.Status.choices,
        read_only=True,
        help_text="current (counts), superseded (replaced by a correction) or voided; the list shows current ones "
        "unless asked with ?status=.",
    )

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
            "status",
            "supersedes",
            "created_at",
        ]
        read_only_fields = fields


def _detail(measurement, name):
    try:
        return getattr(measurement, name)
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist of the one-to-one: no detail of that kind
        return None


class MeasurementDetailOutputSerializer(MeasurementListOutputSerializer):
    """The typed detail of the measurement's kind (the others are null); particles with captures and bins. Its
    status: current, superseded (by the correction ``superseded_by``) or voided, with the reason, when and who;
    ``supersedes`` is the result this one corrects."""

    superseded_by = serializers.SerializerMethodField(help_text="The correction that replaced this result.")
    status_reason = serializers.CharField(read_only=True, help_text="Why it was corrected or voided.")
    status_changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    particle = serializers.SerializerMethodField()
    protein = serializers.SerializerMethodField()
    marker = serializers.SerializerMethodField()
    imaging = serializers.SerializerMethodField()
    analyte = serializers.SerializerMethodField()

    class Meta(MeasurementListOutputSerializer.Meta):
        fields = [
            *MeasurementListOutputSerializer.Meta.fields,
            "superseded_by",
            "status_reason",
            "status_changed_at",
            "status_changed_by",
            "particle",
            "protein",
            "marker",
            "imaging",
            "analyte",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_superseded_by(self, measurement):
        correction = _detail(measurement, "superseded_by")
        return correction.pk if correction is not None else None

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
