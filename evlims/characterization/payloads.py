"""The shape of a characterization result as instruments post it and forms submit it.

DRF serializers are used as plain validators here so the API, the upload preview and the forms
accept exactly the same documents and report errors with the same field paths.

Nothing sent is silently dropped: a key a document does not declare, at any level, and a value outside an
enumeration are field errors (``refused_input``). The API checks its own request bodies the same way.
"""

import math
from collections.abc import Mapping

from rest_framework import serializers

from .models import Measurement

MAX_BINS = 5000
MAX_CAPTURES = 200
# The values web forms offer (evlims.web.forms.results.MARKER_METHODS); a client that means "other" says so.
MARKER_METHODS = ("western_blot", "elisa", "flow_cytometry", "immunogold_em", "mass_spectrometry", "other")
UNKNOWN_FIELD = "Unknown field. Accepted here: {accepted}."
UNKNOWN_CHOICE = '"{value}" is not one of the accepted values: {accepted}.'


def _unknown_choice(value, accepted) -> list[str]:
    return [UNKNOWN_CHOICE.format(value=value, accepted=", ".join(accepted))]


def refused_input(field, data):
    """What ``field`` (a serializer or one of its fields) would drop or refuse vaguely in ``data``: keys no
    serializer declares, at every nested level, and values outside a choice field's choices, each with what
    is accepted. Shaped like DRF's own errors; None when there is nothing.

    Fields a serializer declares read-only are ignored, as DRF does; free-form objects (DictField, JSONField)
    are not looked into.
    """
    if isinstance(field, serializers.ListSerializer):
        if not isinstance(data, list):
            return None
        errors = [refused_input(field.child, item) or {} for item in data]
        return errors if any(errors) else None
    if isinstance(field, serializers.Serializer):
        if not isinstance(data, Mapping):
            return None
        fields = field.fields
        accepted = ", ".join(name for name, child in fields.items() if not child.read_only)
        errors = {key: [UNKNOWN_FIELD.format(accepted=accepted)] for key in data if key not in fields}
        for name, child in fields.items():
            if name in data and not child.read_only and (refused := refused_input(child, data[name])):
                errors[name] = refused
        return errors or None
    if isinstance(field, serializers.ListField):
        if not isinstance(data, list):
            return None
        errors = {index: refused for index, item in enumerate(data) if (refused := refused_input(field.child, item))}
        return errors or None
    if isinstance(field, serializers.MultipleChoiceField):
        items = data if isinstance(data, list | tuple | set) else ()
        unknown = [item for item in items if str(item) not in field.choice_strings_to_values]
        return _unknown_choice(unknown[0], field.choice_strings_to_values) if unknown else None
    if isinstance(field, serializers.ChoiceField):
        if data is None or data == "" or str(data) in field.choice_strings_to_values:
            return None
        return _unknown_choice(data, field.choice_strings_to_values)
    return None


def merge_errors(errors, refused):
    """DRF's ``errors`` with ``refused`` laid over them; a refused value's message replaces DRF's own."""
    if isinstance(errors, Mapping) and isinstance(refused, Mapping):
        merged = dict(errors)
        for key, value in refused.items():
            merged[key] = merge_errors(errors[key], value) if key in errors else value
        return merged
    if (
        isinstance(errors, list)
        and isinstance(refused, list)
        and len(errors) == len(refused)
        and all(isinstance(item, Mapping) for item in errors + refused)
    ):
        return [merge_errors(error, item) for error, item in zip(errors, refused, strict=True)]
    return refused


class RefusesUnknownInput:
    """Serializer mixin: unknown keys and choice values anywhere in the data are field errors, reported with
    the other errors of the data."""

    def to_internal_value(self, data):
        refused = refused_input(self, data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if refused:
                raise serializers.ValidationError(merge_errors(error.detail, refused)) from error
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


class FiniteFloat(serializers.FloatField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


def _non_negative(**kwargs):
    return FiniteFloat(min_value=0, required=False, allow_null=True, **kwargs)


class CapturePayload(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    concentration_per_ml = _non_negative()
    valid = serializers.BooleanField(default=True)
    size_mean_nm = _non_negative()
    size_mode_nm = _non_negative()
    size_sd_nm = _non_negative()
    d10_nm = _non_negative()
    d50_nm = _non_negative()
    d90_nm = _non_negative()


class HistogramPayload(serializers.Serializer):
    bin_center_nm = serializers.ListField(child=FiniteFloat(min_value=0), max_length=MAX_BINS)
    concentration_per_ml = serializers.ListField(child=FiniteFloat(min_value=0), max_length=MAX_BINS)

    def validate(self, attrs):
        if len(attrs["bin_center_nm"]) != len(attrs["concentration_per_ml"]):
            raise serializers.ValidationError("bin_center_nm and concentration_per_ml must have the same length.")
        return attrs


class ParticlePayload(serializers.Serializer):
    technique = serializers.ChoiceField(choices=["nta", "zetaview", "trps", "nanoflow", "dls", "other"])
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    settings = serializers.DictField(
        required=False,
        help_text="Acquisition settings: camera_level, detection_threshold, shutter, frames, videos, temperature_c "
        "(°C); other instrument keys are kept.",
    )
    calibration = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="e.g. 100 nm polystyrene beads, 2026-01-05"
    )
    dilution_factor = FiniteFloat(min_value=1, required=False, allow_null=True)
    dilution_applied_in_file = serializers.BooleanField(required=False, allow_null=True)
    concentration_per_ml = _non_negative()
    instrument_average_concentration_per_ml = _non_negative()
    size_mean_nm = _non_negative()
    size_mode_nm = _non_negative()
    size_sd_nm = _non_negative()
    d10_nm = _non_negative()
    d50_nm = _non_negative()
    d90_nm = _non_negative()
    computed = serializers.ListField(child=serializers.CharField(), required=False)
    captures = CapturePayload(many=True, required=False, max_length=MAX_CAPTURES)
    histogram = HistogramPayload(required=False, allow_null=True)


class ProteinPayload(serializers.Serializer):
    assay = serializers.ChoiceField(choices=["bca", "micro_bca", "bradford", "qubit", "other"])
    concentration_ug_per_ml = _non_negative()
    volume_assayed_ul = _non_negative()
    out_of_range = serializers.BooleanField(default=False)
    standard_curve = serializers.DictField(required=False)

    def validate(self, attrs):
        if attrs.get("concentration_ug_per_ml") is None and not attrs.get("out_of_range"):
            raise serializers.ValidationError(
                {"concentration_ug_per_ml": "Give the concentration, or mark the sample out_of_range."}
            )
        return attrs


class AntibodyPayload(serializers.Serializer):
    clone = serializers.CharField(max_length=80, required=False, allow_blank=True)
    catalogue = serializers.CharField(max_length=80, required=False, allow_blank=True)
    dilution = serializers.CharField(max_length=40, required=False, allow_blank=True)
    supplier = serializers.CharField(max_length=80, required=False, allow_blank=True)


class LysatePayload(serializers.Serializer):
    buffer = serializers.CharField(max_length=80, required=False, allow_blank=True)
    protocol = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="How the EVs were lysed (time, temperature, aids)."
    )
    reducing = serializers.BooleanField(required=False, allow_null=True, help_text="Reducing sample buffer or not.")
    protein_loaded_ug = _non_negative()
    compared_with_source = serializers.BooleanField(required=False, allow_null=True)


class TopologyPayload(serializers.Serializer):
    assay = serializers.CharField(max_length=120, help_text="e.g. proteinase K protection, antibody accessibility")
    component = serializers.CharField(
        max_length=120, required=False, allow_blank=True, help_text="What it showed, e.g. luminal, surface-exposed"
    )


class MarkerPayload(serializers.Serializer):
    protein = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,29}$", help_text="HGNC symbol")
    detected = serializers.BooleanField(required=False, allow_null=True)
    semi_quantitative_value = _non_negative()
    antibody = AntibodyPayload(required=False)
    lysate = LysatePayload(required=False, allow_null=True)
    topology = TopologyPayload(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs.get("detected") is None and attrs.get("semi_quantitative_value") is None:
            raise serializers.ValidationError({"detected": "Say whether the marker was detected."})
        return attrs


class ImagingPayload(serializers.Serializer):
    technique = serializers.ChoiceField(choices=["tem", "cryo_em", "sem", "afm", "super_resolution", "other"])
    wide_field = serializers.BooleanField(default=False)
    close_up = serializers.BooleanField(default=False)
    magnification = serializers.CharField(max_length=40, required=False, allow_blank=True)


class AnalytePayload(serializers.Serializer):
    assay = serializers.CharField(max_length=60)
    value = FiniteFloat(min_value=0)
    unit = serializers.CharField(max_length=30)


DETAIL_PAYLOADS = {
    Measurement.Kind.PARTICLE: ("particle", ParticlePayload),
    Measurement.Kind.PROTEIN: ("protein", ProteinPayload),
    Measurement.Kind.MARKER: ("marker", MarkerPayload),
    Measurement.Kind.IMAGING: ("imaging", ImagingPayload),
    Measurement.Kind.LIPID: ("analyte", AnalytePayload),
    Measurement.Kind.RNA: ("analyte", AnalytePayload),
}


class ResultPayload(RefusesUnknownInput, serializers.Serializer):
    """One result: what was measured (a preparation or the input sample, by barcode) and its figures."""

    kind = serializers.ChoiceField(choices=Measurement.Kind.choices)
    preparation = serializers.CharField(max_length=40, required=False, help_text="EV preparation barcode")
    input_sample = serializers.CharField(max_length=40, required=False, help_text="Sample barcode (for recovery)")
    method = serializers.CharField(
        max_length=40,
        help_text=f"How it was measured (e.g. nta, bca, tem). A marker result: one of {', '.join(MARKER_METHODS)}.",
    )
    measured_at = serializers.DateTimeField(required=False)
    software_version = serializers.CharField(max_length=80, required=False, allow_blank=True)
    particle = ParticlePayload(required=False)
    protein = ProteinPayload(required=False)
    marker = MarkerPayload(required=False)
    imaging = ImagingPayload(required=False)
    analyte = AnalytePayload(required=False)

    def validate(self, attrs):
        if not attrs.get("preparation") and not attrs.get("input_sample"):
            raise serializers.ValidationError({"preparation": "Name the preparation (or input sample) measured."})
        detail_key, _ = DETAIL_PAYLOADS[attrs["kind"]]
        if attrs["kind"] == Measurement.Kind.MARKER and attrs["method"] not in MARKER_METHODS:
            raise serializers.ValidationError({"method": _unknown_choice(attrs["method"], MARKER_METHODS)})
        if not attrs.get(detail_key):
            raise serializers.ValidationError({detail_key: f"A {attrs['kind']} result needs its '{detail_key}' part."})
        extra = {key for key, _ in DETAIL_PAYLOADS.values()} - {detail_key}
        stray = sorted(key for key in extra if attrs.get(key))
        if stray:
            raise serializers.ValidationError({stray[0]: f"Not part of a {attrs['kind']} result."})
        return attrs
