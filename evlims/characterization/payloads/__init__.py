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

The package: ``fields`` (the field declarations and their messages), ``documents`` (the validation engine:
documents, nesting, refused input and error shapes) and ``results`` (the per-kind payloads and the result
document). The names below are its public ones.
"""

from .documents import Document, Nested, flatten_errors, merge_errors, refused_input
from .fields import (
    DATETIME_FORMAT_WORDS,
    EMPTY,
    MARKER_METHODS,
    MAX_BINS,
    MAX_CAPTURES,
    NON_FIELD_ERRORS,
    UNKNOWN_CHOICE,
    UNKNOWN_FIELD,
    Choice,
    DateTime,
    Field,
    Flag,
    FreeMapping,
    Invalid,
    Items,
    Number,
    Text,
)
from .results import (
    DETAIL_PAYLOADS,
    RESULTS,
    AnalytePayload,
    AntibodyPayload,
    CapturePayload,
    HistogramPayload,
    ImagingPayload,
    LysatePayload,
    MarkerPayload,
    ParticlePayload,
    ProteinPayload,
    ResultPayload,
    TopologyPayload,
    validate_result_documents,
)

__all__ = [
    "DATETIME_FORMAT_WORDS",
    "DETAIL_PAYLOADS",
    "EMPTY",
    "MARKER_METHODS",
    "MAX_BINS",
    "MAX_CAPTURES",
    "NON_FIELD_ERRORS",
    "RESULTS",
    "UNKNOWN_CHOICE",
    "UNKNOWN_FIELD",
    "AnalytePayload",
    "AntibodyPayload",
    "CapturePayload",
    "Choice",
    "DateTime",
    "Document",
    "Field",
    "Flag",
    "FreeMapping",
    "HistogramPayload",
    "ImagingPayload",
    "Invalid",
    "Items",
    "LysatePayload",
    "MarkerPayload",
    "Nested",
    "Number",
    "ParticlePayload",
    "ProteinPayload",
    "ResultPayload",
    "Text",
    "TopologyPayload",
    "flatten_errors",
    "merge_errors",
    "refused_input",
    "validate_result_documents",
]
