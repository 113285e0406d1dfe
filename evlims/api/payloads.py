"""Result documents as the OpenAPI schema shows them, and unknown input refused in the API's own request bodies.

The characterization domain declares and checks result documents in plain Python
(evlims/characterization/payloads/). The serializers here are built from those declarations, so the schema
(``ResultPayloadRequest``, ``MarkerPayloadRequest``, ...) shows exactly the fields, limits and help the service
applies; they document, the service validates.
"""

from collections.abc import Mapping

from rest_framework import serializers

from ..characterization import payloads as documents
from ..characterization.payloads import UNKNOWN_FIELD, merge_errors

__all__ = ["ResultPayload", "merge_errors", "refused_input", "serializer_for"]

_SERIALIZERS: dict[type, type[serializers.Serializer]] = {}


def _options(field: documents.Field) -> dict:
    options = {}
    if field.default is not documents.EMPTY:
        options["default"] = field.default
    elif not field.required:
        options["required"] = False
    if field.allow_null:
        options["allow_null"] = True
    if field.help_text:
        options["help_text"] = field.help_text
    return options


def serializer_field(field: documents.Field) -> serializers.Field:
    """The DRF field that documents a field of a result document."""
    options = _options(field)
    if isinstance(field, documents.Text):
        if field.max_length is not None:
            options["max_length"] = field.max_length
        if field.allow_blank:
            options["allow_blank"] = True
        if field.pattern is not None:
            return serializers.RegexField(field.pattern, **options)
        return serializers.CharField(**options)
    if isinstance(field, documents.Number):
        if field.min_value is not None:
            options["min_value"] = field.min_value
        return serializers.FloatField(**options)
    if isinstance(field, documents.Flag):
        return serializers.BooleanField(**options)
    if isinstance(field, documents.Choice):
        return serializers.ChoiceField(choices=field.choices, **options)
    if isinstance(field, documents.DateTime):
        return serializers.DateTimeField(**options)
    if isinstance(field, documents.Items):
        if field.max_length is not None:
            options["max_length"] = field.max_length
        return serializers.ListField(child=serializer_field(field.child), **options)
    if isinstance(field, documents.FreeMapping):
        return serializers.DictField(**options)
    if isinstance(field, documents.Nested):
        if field.many:
            options["many"] = True
            if field.max_length is not None:
                options["max_length"] = field.max_length
        return serializer_for(field.document)(**options)
    raise TypeError(f"No serializer field documents {type(field).__name__}")


def serializer_for(document: type[documents.Document]) -> type[serializers.Serializer]:
    """A serializer class named as the document, with its fields (and its docstring, the schema's description)."""
    if document not in _SERIALIZERS:
        attrs = {name: serializer_field(field) for name, field in document.fields.items()}
        attrs["__doc__"] = document.__dict__.get("__doc__")
        attrs["__module__"] = __name__
        _SERIALIZERS[document] = type(document.__name__, (serializers.Serializer,), attrs)
    return _SERIALIZERS[document]


ResultPayload = serializer_for(documents.ResultPayload)


def _unknown_choice(value, accepted) -> list[str]:
    return [documents.UNKNOWN_CHOICE.format(value=value, accepted=", ".join(accepted))]


def refused_input(field, data):
    """What ``field`` (a serializer or one of its fields) would drop or refuse vaguely in ``data``: keys no
    serializer declares, at every nested level, and values outside a choice field's choices, each with what
    is accepted. Shaped like DRF's own errors; None when there is nothing.

    Fields a serializer declares read-only are ignored, as DRF does; free-form objects (DictField, JSONField)
    are not looked into. (Result documents are checked the same way by the characterization domain.)
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
