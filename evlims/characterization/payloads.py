"""The shape of a characterization result as instruments post it and forms submit it, checked in plain Python.

The API, the upload preview and the forms accept exactly the same documents and report errors with the same
field paths (``results[2].marker.protein``) and words. The rules and the words are those of Django REST
framework's fields, which the API used to check these documents with; the API now documents the shapes with
serializers built from the declarations here (evlims/api/payloads.py), and this package does not import DRF.

Nothing sent is silently dropped: a key a document does not declare, at any level, and a value outside an
enumeration are field errors (``refused_input``). The API checks its own request bodies the same way.

A field turns what was sent into the value stored, or raises ``Invalid`` with the error as DRF shapes it: a
list of messages for a field, ``{field: errors}`` for a document, ``{index: errors}`` for the items of a list.
``validate_results`` flattens them to ``{"results[2].marker.protein": [messages]}``.
"""

import datetime
import math
import re
from collections.abc import Mapping
from enum import Enum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from .models import Measurement

MAX_BINS = 5000
MAX_CAPTURES = 200
# The values web forms offer (evlims.web.forms.results.MARKER_METHODS); a client that means "other" says so.
MARKER_METHODS = ("western_blot", "elisa", "flow_cytometry", "immunogold_em", "mass_spectrometry", "other")
UNKNOWN_FIELD = "Unknown field. Accepted here: {accepted}."
UNKNOWN_CHOICE = '"{value}" is not one of the accepted values: {accepted}.'
NON_FIELD_ERRORS = "non_field_errors"
# The one date-time format accepted (DRF's default): ISO 8601.
DATETIME_FORMAT_WORDS = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"


class _Empty:
    """Nothing was sent for a field (distinct from null)."""

    def __repr__(self):
        return "<nothing sent>"


EMPTY = _Empty()


class Invalid(Exception):
    """A field, document or list refused what was sent; ``detail`` is the error shaped as DRF shapes it."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class _Skip(Exception):
    """Nothing sent and no default: the field is left out of the document."""


def _unknown_choice(value, accepted) -> list[str]:
    return [UNKNOWN_CHOICE.format(value=value, accepted=", ".join(accepted))]


# ---------------------------------------------------------------- fields


class Field:
    """A value of a document. Not sent: refused when ``required``, else its ``default`` or left out. Null:
    refused unless ``allow_null``."""

    messages = {"required": "This field is required.", "null": "This field may not be null."}

    def __init__(self, *, required: bool | None = None, default=EMPTY, allow_null: bool = False, help_text: str = ""):
        self.required = default is EMPTY if required is None else required
        self.default = default
        self.allow_null = allow_null
        self.help_text = help_text

    def message(self, key: str, **values) -> str:
        # The same words as DRF's, so a translation of them applies here too.
        return gettext(self.messages[key]).format(**values)

    def fail(self, key: str, **values):
        raise Invalid([self.message(key, **values)])

    def run(self, data):
        """The value to store for ``data``; raises Invalid, or _Skip when nothing is to be stored."""
        is_empty, data = self.empty_value(data)
        if is_empty:
            return data
        value = self.to_value(data)
        errors = self.check(value)
        if errors:
            raise Invalid(errors)
        return value

    def empty_value(self, data):
        if data is EMPTY:
            if self.required:
                self.fail("required")
            if self.default is EMPTY:
                raise _Skip
            return True, self.default
        if data is None:
            if not self.allow_null:
                self.fail("null")
            return True, None
        return False, data

    def to_value(self, data):
        return data

    def check(self, value) -> list[str]:
        return []


class Text(Field):
    """A string, trimmed; numbers are accepted as their text. ``pattern`` (a regular expression) it must match."""

    messages = {
        **Field.messages,
        "invalid": "Not a valid string.",
        "blank": "This field may not be blank.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
        "pattern": "This value does not match the required pattern.",
    }

    def __init__(self, *, max_length: int | None = None, allow_blank: bool = False, pattern: str | None = None, **kw):
        super().__init__(**kw)
        self.max_length = max_length
        self.allow_blank = allow_blank
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern is not None else None

    def run(self, data):
        if data is not EMPTY and (data == "" or str(data).strip() == ""):
            if not self.allow_blank:
                self.fail("blank")
            return ""
        return super().run(data)

    def to_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("pattern" if self._regex is not None else "invalid")
        return str(data).strip()

    def check(self, value) -> list[str]:
        errors = []
        if self.max_length is not None and len(value) > self.max_length:
            errors.append(self.message("max_length", max_length=self.max_length))
        if "\x00" in value:
            errors.append(gettext("Null characters are not allowed."))
        surrogate = next((ord(ch) for ch in value if 0xD800 <= ord(ch) <= 0xDFFF), None)
        if surrogate is not None:
            message = gettext("Surrogate characters are not allowed: U+{code_point:X}.")
            errors.append(message.format(code_point=surrogate))
        if self._regex is not None and not self._regex.search(value):
            errors.append(self.message("pattern"))
        return errors


class Number(Field):
    """A finite number (numbers in strings are read); ``min_value`` the least accepted."""

    messages = {
        **Field.messages,
        "invalid": "A valid number is required.",
        "min_value": "Ensure this value is greater than or equal to {min_value}.",
        "max_string_length": "String value too large.",
        "overflow": "Integer value too large to convert to float",
    }
    MAX_STRING_LENGTH = 1000

    def __init__(self, *, min_value: float | None = None, **kw):
        super().__init__(**kw)
        self.min_value = min_value

    def to_value(self, data):
        if isinstance(data, str) and len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        try:
            value = float(data)
        except (TypeError, ValueError):
            self.fail("invalid")
        except OverflowError:
            self.fail("overflow")
        if not math.isfinite(value):
            self.fail("invalid")
        return value

    def check(self, value) -> list[str]:
        if self.min_value is not None and value < self.min_value:
            return [self.message("min_value", min_value=self.min_value)]
        return []


class Flag(Field):
    """True or false, also as the usual words ("yes", "off", "1"); with ``allow_null``, "null" and "" are null."""

    messages = {**Field.messages, "invalid": "Must be a valid boolean."}
    # 1 also matches True and 1.0; 0 matches False and 0.0.
    TRUE_VALUES = {"t", "y", "yes", "true", "on", "1", 1}
    FALSE_VALUES = {"f", "n", "no", "false", "off", "0", 0}
    NULL_VALUES = {"null", "", None}

    def to_value(self, data):
        word = data.lower() if isinstance(data, str) else data
        try:
            if word in self.TRUE_VALUES:
                return True
            if word in self.FALSE_VALUES:
                return False
            if word in self.NULL_VALUES and self.allow_null:
                return None
        except TypeError:  # an unhashable value (a list, an object) is no boolean
            pass
        self.fail("invalid")


class Choice(Field):
    """One of ``choices`` (values, or (value, label) pairs), compared as text."""

    messages = {**Field.messages, "invalid_choice": '"{input}" is not a valid choice.'}

    def __init__(self, choices, **kw):
        super().__init__(**kw)
        self.choices = list(choices)
        values = [choice[0] if isinstance(choice, list | tuple) else choice for choice in self.choices]
        self.accepted = {str(value): value for value in values}

    def to_value(self, data):
        if isinstance(data, Enum) and str(data) != str(data.value):
            data = data.value
        try:
            return self.accepted[str(data)]
        except KeyError:
            self.fail("invalid_choice", input=data)


class DateTime(Field):
    """An ISO 8601 date and time; without an offset it is read in the current time zone."""

    messages = {
        **Field.messages,
        "invalid": "Datetime has wrong format. Use one of these formats instead: {format}.",
        "date": "Expected a datetime but got a date.",
        "make_aware": 'Invalid datetime for the timezone "{timezone}".',
        "overflow": "Datetime value out of range.",
    }

    def to_value(self, data):
        if isinstance(data, datetime.date) and not isinstance(data, datetime.datetime):
            self.fail("date")
        if isinstance(data, datetime.datetime):
            return self._in_time_zone(data)
        try:
            parsed = parse_datetime(data)
            if parsed is None:
                # As DRF does, the format's name is then tried as a strptime pattern: only the text "iso-8601"
                # itself matches it (read as 1900-01-01).
                parsed = datetime.datetime.strptime(data, "iso-8601")
        except (ValueError, TypeError):
            self.fail("invalid", format=DATETIME_FORMAT_WORDS)
        return self._in_time_zone(parsed)

    def _in_time_zone(self, value: datetime.datetime) -> datetime.datetime:
        zone = timezone.get_current_timezone() if settings.USE_TZ else None
        if zone is None:
            return timezone.make_naive(value, datetime.UTC) if timezone.is_aware(value) else value
        if timezone.is_aware(value):
            try:
                return value.astimezone(zone)
            except OverflowError:
                self.fail("overflow")
        aware = timezone.make_aware(value, zone)
        if not _unambiguous(aware):
            self.fail("make_aware", timezone=zone)
        return aware


def _unambiguous(moment: datetime.datetime) -> bool:
    """Not ambiguous: a local time a clock change makes happen twice is refused (one it skips is not)."""
    if not isinstance(moment.tzinfo, datetime.tzinfo):
        return False
    exists = moment.astimezone(datetime.UTC) == moment
    return not (exists and moment.replace(fold=not moment.fold).utcoffset() != moment.utcoffset())


class Items(Field):
    """A list of ``child`` values, at most ``max_length`` of them; errors are keyed by position."""

    messages = {
        **Field.messages,
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "max_length": "Ensure this field has no more than {max_length} elements.",
    }

    def __init__(self, *, child: Field, max_length: int | None = None, **kw):
        super().__init__(**kw)
        self.child = child
        self.max_length = max_length

    def to_value(self, data):
        if isinstance(data, str | Mapping) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        values, errors = [], {}
        for index, item in enumerate(data):
            try:
                values.append(self.child.run(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:
            raise Invalid(errors)
        return values

    def check(self, value) -> list[str]:
        if self.max_length is not None and len(value) > self.max_length:
            return [self.message("max_length", max_length=self.max_length)]
        return []


class FreeMapping(Field):
    """An object whose keys and values are kept as sent (keys as text); not looked into."""

    messages = {**Field.messages, "not_a_dict": 'Expected a dictionary of items but got type "{input_type}".'}

    def to_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return {str(key): value for key, value in data.items()}


# ---------------------------------------------------------------- documents


class Document:
    """Declared fields (class attributes, in declaration order); ``validate`` checks them together once each is
    valid, raising Invalid with ``{field: message}`` or a message about the whole document."""

    fields: dict[str, Field] = {}
    refuses_unknown = False  # keys and choice values it does not declare, at any level, are errors

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        inherited = {name: field for base in reversed(cls.__mro__[1:]) for name, field in vars(base).items()}
        own = {name: value for name, value in vars(cls).items() if isinstance(value, Field)}
        cls.fields = {
            **{name: field for name, field in inherited.items() if isinstance(field, Field)},
            **own,
        }

    @classmethod
    def validate(cls, attrs: dict) -> dict:
        return attrs


class Nested(Field):
    """A document (or, with ``many``, a list of at most ``max_length`` of them) inside a document."""

    messages = {
        **Field.messages,
        "invalid": "Invalid data. Expected a dictionary, but got {datatype}.",
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "max_length": "Ensure this field has no more than {max_length} elements.",
    }

    def __init__(self, document: type[Document], *, many: bool = False, max_length: int | None = None, **kw):
        super().__init__(**kw)
        self.document = document
        self.many = many
        self.max_length = max_length
        self.child = Nested(document) if many else None

    def run(self, data):
        is_empty, data = self.empty_value(data)
        if is_empty:
            return data
        return self._many(data) if self.many else self._one(data)

    def _many(self, data):
        if not isinstance(data, list):
            raise Invalid({NON_FIELD_ERRORS: [self.message("not_a_list", input_type=type(data).__name__)]})
        if self.max_length is not None and len(data) > self.max_length:
            raise Invalid({NON_FIELD_ERRORS: [self.message("max_length", max_length=self.max_length)]})
        values, errors = [], {}
        for index, item in enumerate(data):
            try:
                values.append(self.child.run(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:  # keyed by position, as DRF 3.18 keys them (LIST_SERIALIZER_ERRORS_AS_DICT)
            raise Invalid(errors)
        return values

    def _one(self, data):
        value = self._fields(data)
        try:
            return self.document.validate(value)
        except Invalid as error:
            raise Invalid(_document_error(error.detail)) from error

    def _fields(self, data) -> dict:
        refused = refused_input(self, data) if self.document.refuses_unknown else None
        try:
            value = self._declared(data)
        except Invalid as error:
            if refused:
                raise Invalid(merge_errors(error.detail, refused)) from error
            raise
        if refused:
            raise Invalid(refused)
        return value

    def _declared(self, data) -> dict:
        if not isinstance(data, Mapping):
            raise Invalid({NON_FIELD_ERRORS: [self.message("invalid", datatype=type(data).__name__)]})
        value, errors = {}, {}
        for name, field in self.document.fields.items():
            try:
                value[name] = field.run(data.get(name, EMPTY))
            except Invalid as error:
                errors[name] = error.detail
            except _Skip:
                pass
        if errors:
            raise Invalid(errors)
        return value


def _document_error(detail):
    """An error a document's ``validate`` raised, as field errors: {field: [messages]} or the whole document's."""
    if isinstance(detail, Mapping):
        return {key: value if isinstance(value, list | Mapping) else [value] for key, value in detail.items()}
    if isinstance(detail, list):
        return {NON_FIELD_ERRORS: detail}
    return {NON_FIELD_ERRORS: [detail]}


def refused_input(field, data):
    """What ``field`` (a nested document or one of its fields) would drop or refuse vaguely in ``data``: keys no
    document declares, at every nested level, and values outside a choice's choices, each with what is
    accepted. Shaped like the other errors; None when there is nothing. Free-form objects are not looked into.
    """
    if isinstance(field, Nested) and field.many:
        if not isinstance(data, list):
            return None
        errors = [refused_input(field.child, item) or {} for item in data]
        return errors if any(errors) else None
    if isinstance(field, Nested):
        if not isinstance(data, Mapping):
            return None
        fields = field.document.fields
        accepted = ", ".join(fields)
        errors = {key: [UNKNOWN_FIELD.format(accepted=accepted)] for key in data if key not in fields}
        for name, child in fields.items():
            if name in data and (refused := refused_input(child, data[name])):
                errors[name] = refused
        return errors or None
    if isinstance(field, Items):
        if not isinstance(data, list):
            return None
        errors = {index: refused for index, item in enumerate(data) if (refused := refused_input(field.child, item))}
        return errors or None
    if isinstance(field, Choice):
        if data is None or data == "" or str(data) in field.accepted:
            return None
        return _unknown_choice(data, field.accepted)
    return None


def merge_errors(errors, refused):
    """``errors`` with ``refused`` laid over them; a refused value's message replaces the field's own."""
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


def flatten_errors(errors, prefix: str) -> dict[str, list[str]]:
    """Nested errors as {"results[2].marker.protein": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, item in enumerate(errors):
            if item:
                flat |= flatten_errors(item, f"{prefix}[{index}]")
    elif isinstance(errors, dict):
        for key, item in errors.items():
            if key == NON_FIELD_ERRORS:
                path = prefix
            elif isinstance(key, int) or str(key).isdigit():  # list errors may come keyed by index
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}"
            flat |= flatten_errors(item, path)
    else:
        flat[prefix] = [str(errors)]
    return flat


# ---------------------------------------------------------------- the result document


def _non_negative(**kwargs) -> Number:
    return Number(min_value=0, required=False, allow_null=True, **kwargs)


class CapturePayload(Document):
    name = Text(max_length=200)
    concentration_per_ml = _non_negative()
    valid = Flag(default=True)
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


class MarkerPayload(Document):
    protein = Text(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,29}$", help_text="HGNC symbol")
    detected = Flag(required=False, allow_null=True)
    semi_quantitative_value = _non_negative()
    antibody = Nested(AntibodyPayload, required=False)
    lysate = Nested(LysatePayload, required=False, allow_null=True)
    topology = Nested(TopologyPayload, required=False, allow_null=True)

    @classmethod
    def validate(cls, attrs):
        if attrs.get("detected") is None and attrs.get("semi_quantitative_value") is None:
            raise Invalid({"detected": "Say whether the marker was detected."})
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
