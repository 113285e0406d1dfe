"""The result document itself: one payload per kind of measurement, and the check of a list of them."""

from django.core.exceptions import ValidationError

from ..models import Measurement
from ..references import marker_vocabulary
from .documents import Document, Nested, flatten_errors
from .fields import (
    MARKER_METHODS,
    MAX_BINS,
    MAX_CAPTURES,
    Choice,
    DateTime,
    Flag,
    FreeMapping,
    Invalid,
    Items,
    Number,
    Text,
    _unknown_choice,
)


def _non_negative(**kwargs) -> Number:
    return Number(min_value=0, required=False, allow_null=True, **kwargs)


class CapturePayload(Document):
    name = Text(max_length=200)
    concentration_per_ml = _non_negative()
    valid = Flag(default=True, help_text="The instrument's verdict: false for a capture it marked invalid.")
    invalid_reason = Text(
        max_length=200, required=False, allow_blank=True, help_text="Why it is invalid, as the file says."
    )
    included_in_mean = Flag(
        required=False, allow_null=True, help_text="Counted in the result's mean; by default the valid captures."
    )
    size_mean_nm = _non_negative()
    size_mode_nm = _non_negative()
    size_sd_nm = _non_negative()
    d10_nm = _non_negative()
    d50_nm = _non_negative()
    d90_nm = _non_negative()


class HistogramPayload(Document):
    bin_center_nm = Items(child=Number(min_value=0), max_length=MAX_BINS)
    concentration_per_ml = Items(child=Number(min_value=0), max_length=MAX_BINS)

    @classmethod
    def validate(cls, attrs):
        if len(attrs["bin_center_nm"]) != len(attrs["concentration_per_ml"]):
            raise Invalid("bin_center_nm and concentration_per_ml must have the same length.")
        return attrs


class ParticlePayload(Document):
    technique = Choice(["nta", "zetaview", "trps", "nanoflow", "dls", "other"])
    name = Text(max_length=200, required=False, allow_blank=True)
    settings = FreeMapping(
        required=False,
        help_text="Acquisition settings: camera_level, detection_threshold, shutter, frames, videos, temperature_c "
        "(°C); other instrument keys are kept.",
    )
    calibration = Text(
        max_length=200, required=False, allow_blank=True, help_text="e.g. 100 nm polystyrene beads, 2026-01-05"
    )
    dilution_factor = Number(min_value=1, required=False, allow_null=True)
    dilution_applied_in_file = Flag(required=False, allow_null=True)
    concentration_per_ml = _non_negative()
    instrument_average_concentration_per_ml = _non_negative()
    size_mean_nm = _non_negative()
    size_mode_nm = _non_negative()
    size_sd_nm = _non_negative()
    d10_nm = _non_negative()
    d50_nm = _non_negative()
    d90_nm = _non_negative()
    computed = Items(child=Text(), required=False)
    captures = Nested(CapturePayload, many=True, required=False, max_length=MAX_CAPTURES)
    histogram = Nested(HistogramPayload, required=False, allow_null=True)


class ProteinPayload(Document):
    assay = Choice(["bca", "micro_bca", "bradford", "qubit", "other"])
    concentration_ug_per_ml = _non_negative()
    volume_assayed_ul = _non_negative()
    out_of_range = Flag(default=False)
    standard_curve = FreeMapping(required=False)

    @classmethod
    def validate(cls, attrs):
        if attrs.get("concentration_ug_per_ml") is None and not attrs.get("out_of_range"):
            raise Invalid({"concentration_ug_per_ml": "Give the concentration, or mark the sample out_of_range."})
        return attrs


class AntibodyPayload(Document):
    clone = Text(max_length=80, required=False, allow_blank=True)
    catalogue = Text(max_length=80, required=False, allow_blank=True)
    dilution = Text(max_length=40, required=False, allow_blank=True)
    supplier = Text(max_length=80, required=False, allow_blank=True)


class LysatePayload(Document):
    buffer = Text(max_length=80, required=False, allow_blank=True)
    protocol = Text(
        max_length=200, required=False, allow_blank=True, help_text="How the EVs were lysed (time, temperature, aids)."
    )
    reducing = Flag(required=False, allow_null=True, help_text="Reducing sample buffer or not.")
    protein_loaded_ug = _non_negative()
    compared_with_source = Flag(required=False, allow_null=True)


class TopologyPayload(Document):
    assay = Text(max_length=120, help_text="e.g. proteinase K protection, antibody accessibility")
    component = Text(
        max_length=120, required=False, allow_blank=True, help_text="What it showed, e.g. luminal, surface-exposed"
    )


# Confirms a protein that is not in the marker vocabulary, to record it as typed.
PROTEIN_CONFIRMED = "protein_confirmed"


class MarkerPayload(Document):
    protein = Text(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_. ]{0,29}$",
        help_text="HGNC symbol, or an alias the marker vocabulary knows (ALIX, CD326). Another name is refused "
        "with the closest symbols, unless protein_confirmed is true.",
    )
    protein_confirmed = Flag(
        default=False,
        help_text="True to record a protein the marker vocabulary does not know, as typed (it then counts in no "
        "MISEV category).",
    )
    detected = Flag(required=False, allow_null=True)
    semi_quantitative_value = _non_negative()
    antibody = Nested(AntibodyPayload, required=False)
    lysate = Nested(LysatePayload, required=False, allow_null=True)
    topology = Nested(TopologyPayload, required=False, allow_null=True)

    @classmethod
    def validate(cls, attrs):
        if attrs.get("detected") is None and attrs.get("semi_quantitative_value") is None:
            raise Invalid({"detected": "Say whether the marker was detected."})
        vocabulary = marker_vocabulary()
        if not attrs.get(PROTEIN_CONFIRMED) and not vocabulary.is_known(attrs["protein"]):
            message = vocabulary.unknown_message(attrs["protein"])
            raise Invalid({"protein": f'{message} To record it as typed, send "{PROTEIN_CONFIRMED}": true.'})
        return attrs


class ImagingPayload(Document):
    technique = Choice(["tem", "cryo_em", "sem", "afm", "super_resolution", "other"])
    wide_field = Flag(default=False)
    close_up = Flag(default=False)
    magnification = Text(max_length=40, required=False, allow_blank=True)


class AnalytePayload(Document):
    assay = Text(max_length=60)
    value = Number(min_value=0)
    unit = Text(max_length=30)


DETAIL_PAYLOADS = {
    Measurement.Kind.PARTICLE: ("particle", ParticlePayload),
    Measurement.Kind.PROTEIN: ("protein", ProteinPayload),
    Measurement.Kind.MARKER: ("marker", MarkerPayload),
    Measurement.Kind.IMAGING: ("imaging", ImagingPayload),
    Measurement.Kind.LIPID: ("analyte", AnalytePayload),
    Measurement.Kind.RNA: ("analyte", AnalytePayload),
}


class ResultPayload(Document):
    """One result: what was measured (a preparation or the input sample, by barcode) and its figures."""

    refuses_unknown = True

    kind = Choice(Measurement.Kind.choices)
    preparation = Text(max_length=40, required=False, help_text="EV preparation barcode")
    input_sample = Text(max_length=40, required=False, help_text="Sample barcode (for recovery)")
    method = Text(
        max_length=40,
        help_text=f"How it was measured (e.g. nta, bca, tem). A marker result: one of {', '.join(MARKER_METHODS)}.",
    )
    measured_at = DateTime(required=False)
    software_version = Text(max_length=80, required=False, allow_blank=True)
    particle = Nested(ParticlePayload, required=False)
    protein = Nested(ProteinPayload, required=False)
    marker = Nested(MarkerPayload, required=False)
    imaging = Nested(ImagingPayload, required=False)
    analyte = Nested(AnalytePayload, required=False)

    @classmethod
    def validate(cls, attrs):
        if not attrs.get("preparation") and not attrs.get("input_sample"):
            raise Invalid({"preparation": "Name the preparation (or input sample) measured."})
        detail_key, _ = DETAIL_PAYLOADS[attrs["kind"]]
        if attrs["kind"] == Measurement.Kind.MARKER and attrs["method"] not in MARKER_METHODS:
            raise Invalid({"method": _unknown_choice(attrs["method"], MARKER_METHODS)})
        if not attrs.get(detail_key):
            raise Invalid({detail_key: f"A {attrs['kind']} result needs its '{detail_key}' part."})
        extra = {key for key, _ in DETAIL_PAYLOADS.values()} - {detail_key}
        stray = sorted(key for key in extra if attrs.get(key))
        if stray:
            raise Invalid({stray[0]: f"Not part of a {attrs['kind']} result."})
        return attrs


RESULTS = Nested(ResultPayload, many=True)


def validate_result_documents(documents) -> list[dict]:
    """The result documents as stored; Django's ValidationError keyed by position otherwise, e.g.
    {"results[2].marker.protein": [...]}."""
    if not isinstance(documents, list):
        raise ValidationError({"results": "Send a list of results."})
    try:
        return RESULTS.run(documents)
    except Invalid as error:
        raise ValidationError(flatten_errors(error.detail, "results")) from error
