"""The shape of a characterization result as instruments post it and forms submit it.

DRF serializers are used as plain validators here so the API, the upload preview and the forms
accept exactly the same documents and report errors with the same field paths.
"""

import math

from rest_framework import serializers

from .models import Measurement

MAX_BINS = 5000
MAX_CAPTURES = 200


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
    settings = serializers.DictField(required=False)
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


class LysatePayload(serializers.Serializer):
    buffer = serializers.CharField(max_length=80, required=False, allow_blank=True)
    protein_loaded_ug = _non_negative()
    compared_with_source = serializers.BooleanField(required=False, allow_null=True)


class MarkerPayload(serializers.Serializer):
    protein = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,29}$", help_text="HGNC symbol")
    detected = serializers.BooleanField(required=False, allow_null=True)
    semi_quantitative_value = _non_negative()
    antibody = AntibodyPayload(required=False)
    lysate = LysatePayload(required=False, allow_null=True)

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


class ResultPayload(serializers.Serializer):
    """One result: what was measured (a preparation or the input sample, by barcode) and its figures."""

    kind = serializers.ChoiceField(choices=Measurement.Kind.choices)
    preparation = serializers.CharField(max_length=40, required=False, help_text="EV preparation barcode")
    input_sample = serializers.CharField(max_length=40, required=False, help_text="Sample barcode (for recovery)")
    method = serializers.CharField(max_length=40)
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
        if not attrs.get(detail_key):
            raise serializers.ValidationError({detail_key: f"A {attrs['kind']} result needs its '{detail_key}' part."})
        extra = {key for key, _ in DETAIL_PAYLOADS.values()} - {detail_key}
        stray = sorted(key for key in extra if attrs.get(key))
        if stray:
            raise serializers.ValidationError({stray[0]: f"Not part of a {attrs['kind']} result."})
        return attrs
