"""What every post of results shares: the idempotency key, the lab posted to, who posts (a person or an
instrument key), and the JSON-object form fields of multipart uploads."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers, status

from ...core.models import Lab
from ...core.tenancy import INGEST_ROLES, labs_where
from ...instruments.services import UNDILUTED
from ..authentication import is_instrument
from ..base import labs_for
from ..exceptions import validation_detail

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY = 120
MAX_MAPPED_SAMPLES = 384

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


def reraise_key_reuse(error: DjangoValidationError):
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
    """{sample name: barcode} and {sample name: dilution ≥ 1} ("undiluted" is 1); errors keyed by sample name."""
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
        elif isinstance(factor, str) and factor.strip().lower() == UNDILUTED:
            clean_dilutions[name] = 1.0
        elif isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 <= factor < float("inf"):
            errors[name] = [f'Give the dilution factor as a number of at least 1, or "{UNDILUTED}".']
        else:
            clean_dilutions[name] = float(factor)
    if errors:
        raise serializers.ValidationError({"dilutions": errors})
    return clean_mapping, clean_dilutions
