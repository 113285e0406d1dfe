"""The portable experiment document: schema validation and the indexed ``Experiment`` view of it.

A characterisation list that is absent from the document means "not described" (rules reading it can
only say insufficient_data); an empty list means "described as none done" (rules reading it fail).
Sample fields are reporting items: an absent field is simply "not reported".
"""

import json
import marshal
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from .errors import DocumentIssue, ExperimentDocumentError
from .markers import marker_vocabulary

SCHEMA_PATH = Path(__file__).parent / "schema" / "experiment.schema.json"
# An Experiment's markers before they are made.
_UNMADE = object()


@cache
def experiment_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _fast_validator():
    # The Rust validator accepts a valid document in tens of microseconds, which batch re-evaluation
    # of thousands of preparations needs; the reference validator then explains any rejection.
    return jsonschema_rs.validator_for(experiment_schema())


@cache
def _explaining_validator() -> Draft202012Validator:
    return Draft202012Validator(experiment_schema())


def json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_document(document: Any) -> None:
    """Raise ExperimentDocumentError listing every schema violation, each with its JSON path."""
    if _fast_validator().is_valid(document):
        return
    errors = _explaining_validator().iter_errors(document)
    issues = {DocumentIssue(json_path(error.absolute_path), error.message) for error in errors}
    if not issues:
        # The two validators disagree only on schema corner cases; never let a rejection pass silently.
        issues = {DocumentIssue("$", "the document does not follow experiment.schema.json")}
    raise ExperimentDocumentError(sorted(issues, key=lambda issue: (issue.path, issue.message)))


# The top-level keywords under which a document's parts are independent: each part is checked by its own property
# schema alone (no keyword at the top ties one part to another), so a part can be validated apart.
_PART_WISE_KEYWORDS = frozenset(
    {"$schema", "$id", "title", "description", "type", "required", "additionalProperties", "properties", "$defs"}
)


@cache
def _part_validators():
    """(a validator of the document with any separation chain, one of a separation chain alone), or None when the
    schema does not keep the chain apart from the other parts."""
    schema = experiment_schema()
    chain = schema.get("properties", {}).get("separation")
    if set(schema) - _PART_WISE_KEYWORDS or not isinstance(chain, dict) or {"$defs", "$schema", "$id"} & set(chain):
        return None
    rest = {**schema, "properties": {**schema["properties"], "separation": True}}
    alone = {key: schema[key] for key in ("$schema", "$id", "$defs") if key in schema} | chain
    return jsonschema_rs.validator_for(rest), jsonschema_rs.validator_for(alone)


def validate_in_parts(document: Any, chains: set[bytes]) -> bytes | None:
    """Validate a document as ``validate_document`` does, its separation chain only when ``chains`` (the chains found
    valid so far, as ``marshal`` bytes) does not hold it: a lab's thousands of preparations share a few chains. Gives
    the chain's bytes when the document was validated so (None when it was validated whole)."""
    validators = _part_validators()
    chain = document.get("separation") if document.__class__ is dict else None
    if validators is None or chain.__class__ is not list:
        validate_document(document)
        return None
    try:
        key = marshal.dumps(chain)
    except ValueError:
        validate_document(document)
        return None
    rest, alone = validators
    if rest.is_valid(document) and (key in chains or alone.is_valid(chain)):
        chains.add(key)
        return key
    # Some part is invalid: the whole document is validated again, so the error lists every issue as always.
    validate_document(document)
    return None


def parse_document_text(text: str) -> dict:
    """Parse JSON text into a validated document; a syntax error is reported with its line and column."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExperimentDocumentError(
            [DocumentIssue("$", f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}")]
        )
    validate_document(document)
    return document


class Marker:
    """One marker measurement with its vocabulary labels (e.g. {"1", "1a", "transmembrane_or_gpi"})."""

    __slots__ = ("index", "given_name", "symbol", "labels", "detected", "method", "antibody", "lysate", "path")

    def __init__(self, index: int, entry: Mapping, vocabulary):
        self.index = index
        self.given_name: str = entry["protein"]
        self.symbol: str = vocabulary.resolve(self.given_name)
        self.labels: frozenset[str] = vocabulary.labels(self.given_name)
        self.detected: bool = entry["detected"]
        self.method: str = entry["method"]
        self.antibody: Mapping | None = entry.get("antibody")
        self.lysate: Mapping | None = entry.get("lysate")
        self.path: str = f"characterization.markers[{index}]"

    @property
    def describe_key(self) -> tuple:
        """What its text depends on (the vocabulary is fixed per process): wording caches the text by it."""
        return (Marker, self.given_name, self.detected, self.method)

    @property
    def recognised(self) -> bool:
        return bool(self.labels)

    def __str__(self) -> str:
        outcome = "detected" if self.detected else "not detected"
        categories = ", ".join(sorted(label for label in self.labels if label[0].isdigit() and len(label) > 1))
        return f"{self.symbol} ({categories or 'not in the marker vocabulary'}; {outcome} by {self.method})"


class Experiment:
    """A validated experiment document with the lookups the rule conditions need precomputed.

    Its ``Marker`` objects are made on first use: the batch evaluator decides most rules without them and hands
    over markers it already holds for equal entries (``adopt_markers``)."""

    __slots__ = ("document", "sample", "biofluid", "steps", "characterization", "raw_markers", "_markers")

    def __init__(self, document: Mapping, *, validate: bool = True):
        if validate:
            validate_document(document)
        self.document = document
        self.sample = document["sample"]
        self.biofluid = self.sample["biofluid"]
        self.steps = tuple(document.get("separation", ()))
        self.characterization = document.get("characterization") or {}
        self.raw_markers = self.characterization.get("markers")
        self._markers = _UNMADE

    @property
    def markers(self) -> "tuple[Marker, ...] | None":
        markers = self._markers
        if markers is _UNMADE:
            raw = self.raw_markers
            if raw is None:
                markers = None
            else:
                vocabulary = marker_vocabulary()
                markers = tuple([Marker(index, entry, vocabulary) for index, entry in enumerate(raw)])
            self._markers = markers
        return markers

    def adopt_markers(self, markers: "tuple[Marker, ...] | None") -> None:
        """Use these markers, equal to the ones this document's entries make (place, protein, outcome, method,
        antibody and lysate), unless its own were made already."""
        if self._markers is _UNMADE:
            self._markers = markers

    @classmethod
    def coerce(cls, experiment: "Experiment | Mapping", *, validate: bool = True) -> "Experiment":
        if isinstance(experiment, Experiment):
            return experiment
        if not isinstance(experiment, Mapping):
            raise ExperimentDocumentError(
                [DocumentIssue("$", f"expected a JSON object, got {type(experiment).__name__}")]
            )
        return cls(experiment, validate=validate)

    @property
    def id(self) -> str | None:
        return self.document.get("id")

    def section(self, name: str) -> tuple | None:
        """A characterisation list, or None when the document does not describe it."""
        value = self.characterization.get(name)
        return None if value is None else tuple(value)

    def lookup(self, keys: tuple[str, ...]) -> Any:
        """The value at a dotted path split into keys, or None when any part is absent."""
        return path_getter(keys)(self.document)


def path_getter(keys: tuple[str, ...]) -> Callable[[Mapping], Any]:
    """A function reading one dotted path from a document (None when any part is absent); rules read the
    same few paths for every document, so the walk is specialised once per path."""
    if len(keys) == 1:
        (only,) = keys
        return lambda document: document.get(only)
    if len(keys) == 2:
        first, second = keys

        def get_two(document):
            parent = document.get(first)
            if parent.__class__ is dict or isinstance(parent, Mapping):
                return parent.get(second)
            return None

        return get_two

    def get_any(document):
        value: Any = document
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return get_any


def is_reported(value: Any) -> bool:
    """A reporting item counts as present unless it is missing, null, blank or an empty list/object."""
    kind = value.__class__
    if kind in _SCALARS:
        return True
    if value is None:
        return False
    if kind in _SIZED or isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True


_SIZED = frozenset({str, list, tuple, dict})
_SCALARS = frozenset({int, float, bool})
