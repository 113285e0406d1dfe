"""What result posts, file uploads and ingestion commits accept. Each result document is validated by the
characterization service, which names it by position (``results[3].particle.histogram``)."""

from rest_framework import serializers

from ...conf import evlims_settings
from ...instruments import services
from ...instruments.layouts import plate_map
from ...instruments.models import PlateLayout
from ...instruments.parsers import FORMATS
from ...instruments.selectors import plate_layouts_for
from ..base import ScopedPrimaryKeyRelatedField
from ..payloads import ResultPayload
from .posting import JSONObjectField, LabField, check_mapping


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


class CommitChoicesSerializer(serializers.Serializer):
    """What a commit says besides the mapping, the same for an upload-and-commit and a later commit."""

    keep_invalid_captures = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Particle files: count the captures the instrument marked invalid (NanoSight 'Unreliable') in the "
        "mean. By default they are stored but left out of it.",
    )
    measured_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When it was measured, used only when the file states no acquisition time (else the upload time "
        "is used); the result says which. Without an offset: site time.",
    )
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the results are added; required when a mapped preparation is approved (locked): the "
        "approval is then voided.",
    )


class MappingInputSerializer(CommitChoicesSerializer):
    mapping = JSONObjectField(help_text="{sample name in the file: preparation barcode}; unmapped samples are skipped.")
    dilutions = JSONObjectField(
        required=False,
        allow_null=True,
        help_text='{sample name: dilution factor ≥ 1, or "undiluted"}. Required for every mapped particle sample '
        "whose file records no dilution (see dilution_suggestions in the preview).",
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


class FileUploadInputSerializer(CommitChoicesSerializer):
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
    dilutions = JSONObjectField(
        required=False,
        allow_null=True,
        help_text='{sample name: dilution factor ≥ 1, or "undiluted"}. Required for every mapped particle sample '
        "whose file records no dilution (see dilution_suggestions in the preview).",
    )
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
    plate_layout = ScopedPrimaryKeyRelatedField(
        scope=plate_layouts_for,
        model=PlateLayout,
        required=False,
        allow_null=True,
        help_text="Plate readers: the id of a saved plate layout of the lab (see plate-layouts/), instead of a "
        "plate_map. Its curve model is used unless fit is given.",
    )
    fit = serializers.ChoiceField(choices=["linear", "quadratic"], required=False, help_text="Standard-curve model.")
    read = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text="Gen5 and EnVision files holding several plates: the absorbance plate to read, by its name as the "
        "file prints it ('Read 1:562', 'Absorbance @ 562 (1.0s)') or its wavelength ('562'). Counts and calculated "
        "plates are refused.",
    )
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
        if attrs.get("plate_map") and attrs.get("plate_layout"):
            raise serializers.ValidationError({"plate_layout": ["Send a saved plate layout or a plate map, not both."]})
        if attrs.get("fit") and not attrs.get("plate_map") and not attrs.get("plate_layout"):
            raise serializers.ValidationError({"fit": ["A standard-curve fit needs a plate map or a plate layout."]})
        return attrs

    def parse_options(self) -> dict:
        data = self.validated_data
        options = {}
        if data.get("plate_map"):
            options["plate_map"] = data["plate_map"]
        elif data.get("plate_layout") is not None:
            options["plate_map"] = plate_map(data["plate_layout"].wells, data["plate_layout"].fit)
        if data.get("fit"):
            options["fit"] = data["fit"]
        if data.get("read", "").strip():
            options["read"] = data["read"].strip()
        if data.get("column_mapping"):
            options["mapping"] = data["column_mapping"]
        return options
