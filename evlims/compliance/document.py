"""The portable experiment document: schema validation and the indexed ``Experiment`` view of it.

A characterisation list that is absent from the document means "not described" (rules reading it can
only say insufficient_data); an empty list means "described as none done" (rules reading it fail).
Sample fields are reporting items: an absent field is simply "not reported".
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .errors import DocumentIssue, ExperimentDocumentError
from .markers import marker_vocabulary

SCHEMA_PATH = Path(__file__).parent / "schema" / "experiment.schema.json"

CHARACTERIZATION_SECTIONS = (
    "particle_analysis",
    "protein_quantification",
    "markers",
    "imaging",
    "lipid_quantification",
    "rna_quantification",
    "topology",
)


@cache
def experiment_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(experiment_schema())


def json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_document(document: Any) -> None:
    """Raise ExperimentDocumentError listing every schema violation, each with its JSON path."""
    errors = sorted(_validator().iter_errors(document), key=lambda error: (list(error.absolute_path), error.message))
    if errors:
        raise ExperimentDocumentError([DocumentIssue(json_path(e.absolute_path), e.message) for e in errors])


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


@dataclass(frozen=True, slots=True)
class Marker:
    """One marker measurement with its vocabulary labels (e.g. {"1", "1a", "transmembrane_or_gpi"})."""

    index: int
    given_name: str
    symbol: str
    labels: frozenset[str]
    detected: bool
    method: str
    antibody: Mapping | None
    lysate: Mapping | None

    @property
    def path(self) -> str:
        return f"characterization.markers[{self.index}]"

    @property
    def recognised(self) -> bool:
        return bool(self.labels)

    def describe(self) -> str:
        outcome = "detected" if self.detected else "not detected"
        categories = ", ".join(sorted(label for label in self.labels if label[0].isdigit() and len(label) > 1))
        return f"{self.symbol} ({categories or 'not in the marker vocabulary'}; {outcome} by {self.method})"


class Experiment:
    """A validated experiment document with the lookups the rule conditions need precomputed."""

    __slots__ = ("document", "sample", "biofluid", "steps", "characterization", "markers", "_path_cache")

    def __init__(self, document: Mapping, *, validate: bool = True):
        if validate:
            validate_document(document)
        self.document = document
        self.sample = document["sample"]
        self.biofluid = self.sample["biofluid"]
        self.steps = tuple(document.get("separation", ()))
        self.characterization = document.get("characterization") or {}
        raw_markers = self.characterization.get("markers")
        if raw_markers is None:
            self.markers = None
        else:
            vocabulary = marker_vocabulary()
            self.markers = tuple(
                Marker(
                    index=index,
                    given_name=entry["protein"],
                    symbol=vocabulary.resolve(entry["protein"]),
                    labels=vocabulary.labels(entry["protein"]),
                    detected=entry["detected"],
                    method=entry["method"],
                    antibody=entry.get("antibody"),
                    lysate=entry.get("lysate"),
                )
                for index, entry in enumerate(raw_markers)
            )
        self._path_cache: dict[tuple[str, ...], Any] = {}

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
        try:
            return self._path_cache[keys]
        except KeyError:
            pass
        value: Any = self.document
        for key in keys:
            if not isinstance(value, Mapping):
                value = None
                break
            value = value.get(key)
        self._path_cache[keys] = value
        return value


def is_reported(value: Any) -> bool:
    """A reporting item counts as present unless it is missing, null, blank or an empty list/object."""
    if value is None:
        return False
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True
