"""Field declarations of the result documents: each turns what was sent into the value stored, or raises
``Invalid`` with the error shaped as Django REST framework shapes it (see evlims.characterization.payloads)."""

import datetime
import math
import re
from collections.abc import Mapping
from enum import Enum

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

MAX_BINS = 5000
MAX_CAPTURES = 200
# The values web forms offer (evlims.web.forms.results.MARKER_METHODS); a client that means "other" says so.
MARKER_METHODS = ("western_blot", "elisa", "flow_cytometry", "immunogold_em", "mass_spectrometry", "other")
UNKNOWN_FIELD = "Unknown field. Accepted here: {accepted}."
UNKNOWN_CHOICE = '"{value}" is not one of the accepted values: {accepted}.'
NON_FIELD_ERRORS = "non_field_errors"
# The one date-time format accepted (DRF's default): ISO 8601.
DATETIME_FORMAT_WORDS = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"
# The first lone surrogate of a text, found in one pass of the regular-expression engine.
SURROGATE = re.compile("[\ud800-\udfff]")


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


class Field:
    """A value of a document. Not sent: refused when ``required``, else its ``default`` or left out. Null:
    refused unless ``allow_null``."""

    messages = {"required": "This field is required.", "null": "This field may not be null."}

    def __init__(self, *, required: bool | None = None, default=EMPTY, allow_null: bool = False, help_text: str = ""):
        self.required = default is EMPTY if required is None else required
        self.default = default
        # Not sent: left out of the document (what ``run`` would signal with _Skip), known without calling it.
        self.left_out_when_absent = not self.required and default is EMPTY
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
        surrogate = SURROGATE.search(value)
        if surrogate is not None:
            message = gettext("Surrogate characters are not allowed: U+{code_point:X}.")
            errors.append(message.format(code_point=ord(surrogate.group())))
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
