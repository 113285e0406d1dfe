"""How the OpenAPI schema describes the API: every answer an operation can give, with its body.

drf-spectacular documents the success answer of each operation; ``ApiSchema`` adds the error answers the
server gives (``exceptions.py`` shapes them), so clients and fuzzers can rely on the status codes listed:

- ``400`` on every write, and on lists (a bad filter value or cursor): ``{"field": ["message"], …}``;
- ``401`` / ``403`` everywhere (not signed in, a role or a key scope that does not allow it): ``{"detail"}``;
- ``404`` where the path names a record, and on lists (a page past the end): ``{"detail"}``;
- ``409`` on edits (a request body with ``reason`` + ``version``) based on a stale version;
- ``429`` (with ``Retry-After``) where instrument keys are accepted, which are throttled;
- ``503`` (with ``Retry-After``) everywhere: the database went away, nothing was written.

It also says what the server enforces and drf-spectacular would leave out: request bodies are closed
objects, lists of nested objects carry their bounds (``minItems``/``maxItems``), and a choice read from a
model field that may be blank lists ``""`` among its values in answers too.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, is_list_serializer
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from ..core.ids import MAX_ID
from .edits import EditSerializer
from .scopes import key_scope_needed

JSON = "application/json"
ID_BOUNDS = {"format": "int64", "minimum": 1, "maximum": MAX_ID}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}

# Bodies of the error answers (evlims/api/exceptions.py and DRF's own exceptions).
ERROR = {
    "type": "object",
    "description": "An error that concerns the whole request.",
    "properties": {"detail": {"type": "string", "description": "What went wrong, for people."}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "description": "The errors of one field: its messages, or (a nested object or a list of them) the errors of "
    "its own fields by name or position.",
    "anyOf": [
        {"type": "array", "items": {"type": "string"}},
        {"type": "array", "items": {"$ref": "#/components/schemas/FieldErrorTree"}},
        {"$ref": "#/components/schemas/FieldErrorTree"},
    ],
}
FIELD_ERROR_TREE = {
    "type": "object",
    "description": "Field errors by field name (or by position in a list).",
    "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "The request was refused and nothing was written. Each key names a field of the request "
    "(nested fields by path, e.g. `results[3].particle.histogram`) with its messages; errors not tied to one "
    'field are under `non_field_errors`; a body that could not be read at all is `{"detail": …}`.',
    "properties": {
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
        "detail": {"type": "string", "description": "The body could not be parsed (malformed JSON or form)."},
    },
    "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
}
STALE_VERSION = {
    "type": "object",
    "description": "The record was saved by someone else since the version sent; nothing was written.",
    "properties": {
        "detail": {"type": "string"},
        "current_version": {
            "type": "integer",
            "nullable": True,
            "description": "The record's version now: read it again, then send the edit with this version.",
        },
    },
    "required": ["detail", "current_version"],
}
COMPONENTS = {
    "Error": ERROR,
    "FieldErrors": FIELD_ERRORS,
    "FieldErrorTree": FIELD_ERROR_TREE,
    "ValidationError": VALIDATION_ERROR,
    "StaleVersion": STALE_VERSION,
}

# status: (description, component, headers)
ANSWERS = {
    "400": ("Invalid input, or a rule of the service refused it; nothing was written.", "ValidationError", {}),
    "401": ("Not signed in, or an invalid instrument key (hosts whose first scheme is HTTP Basic).", "Error", {}),
    "403": (
        "Not signed in (hosts whose first scheme is the session), or the role or key scope does not allow this.",
        "Error",
        {},
    ),
    "404": ("No such record in your labs (another lab's record answers alike), or no such page.", "Error", {}),
    "409": ("The record changed since the version sent; nothing was written.", "StaleVersion", {}),
    "415": ("The body's media type is not one this operation reads (see its request body).", "Error", {}),
    "422": ("The Idempotency-Key was used before for another request.", "ValidationError", {}),
    "429": ("This instrument key sent more requests than its rate allows.", "Error", RETRY_AFTER),
    "502": ("The label printer did not take the labels (unreachable or silent); the attempt is audited.", "Error", {}),
    "503": (
        "The database is unavailable; nothing was written. Retry later, with the same Idempotency-Key.",
        "Error",
        RETRY_AFTER,
    ),
}


def model_field_of(field):
    """The model field a serializer field reads, following relations in its source; None when not found."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if model is None or field.source == "*":
        return None
    model_field = None
    for attr in field.source_attrs:
        if model is None:
            return None
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return None
        model = model_field.related_model
    return model_field


class ApiSchema(AutoSchema):
    """The schema of every evlims API view (``ScopedApi.schema``)."""

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # Request bodies are closed objects: what a serializer does not declare is refused (checked_input).
        if direction == "request" and schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        return schema

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                # ``<int:pk>`` matches digits only (anything else is not an API URL) and ids are 64-bit.
                parameter["schema"].update(ID_BOUNDS)
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if direction == "response" and self._answers_blank(field):
            # An output field declared read-only loses ``allow_blank``, yet the API returns the stored "".
            field = _with_blank(field)
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is not None and is_list_serializer(field) and schema.get("type") == "array":
            # drf-spectacular maps a ListField's bounds but not those of a nested serializer's list.
            if field.min_length is not None:
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
            elif not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        elif schema is not None and isinstance(field, serializers.ListField) and not field.allow_empty:
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        return schema

    @staticmethod
    def _answers_blank(field) -> bool:
        if not isinstance(field, serializers.ChoiceField) or field.allow_blank:
            return False
        model_field = model_field_of(field)
        return bool(model_field is not None and getattr(model_field, "blank", False) and model_field.choices)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # The standard errors, and the bodies of errors a view lists with a description only.
        for code in sorted(set(self.error_statuses()) | (set(responses) & set(ANSWERS))):
            description, component, headers = ANSWERS[code]
            given = responses.get(code) or {}
            if given.get("content"):
                continue  # the view documents this answer's body itself
            responses[code] = {
                "description": given.get("description") or description,
                **({"headers": headers} if headers else {}),
                "content": {JSON: self._error_media(component, code)},
            }
        return dict(sorted(responses.items()))

    def _error_media(self, component, code):
        self._register_error_components()
        media = {"schema": {"$ref": f"#/components/schemas/{component}"}}
        examples = self._get_examples(None, "response", JSON, code)
        if examples:
            media["examples"] = examples
        return media

    def _register_error_components(self):
        for name, schema in COMPONENTS.items():
            self.registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )

    def error_statuses(self) -> list[str]:
        """The error answers this operation gives (see the module docstring)."""
        codes = ["401", "403", "503"]
        write = self.method not in SAFE_METHODS
        listing = not write and self._is_list_view()
        if write or listing:
            codes.append("400")
        if "{" in self.path or listing:
            codes.append("404")
        if write and self._is_edit():
            codes.append("409")
        if key_scope_needed(self.view, self.method) and getattr(self.view, "throttle_classes", None):
            codes.append("429")
        return codes

    def _is_edit(self) -> bool:
        serializer = self.get_request_serializer()
        return isinstance(serializer, EditSerializer) or (
            isinstance(serializer, type) and issubclass(serializer, EditSerializer)
        )


def _with_blank(field):
    """A copy of the choice field ``field`` that accepts the blank choice."""
    copied = field.__class__.__new__(field.__class__)
    copied.__dict__.update(field.__dict__)
    copied.allow_blank = True
    return copied
