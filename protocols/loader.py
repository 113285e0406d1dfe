"""Loading and validation of protocol versions (YAML documents) into ProtocolDefinition."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from protocols.errors import ProtocolValidationError, issue, shorten
from protocols.hashing import content_hash
from protocols.misev import MisevClass, classed_step_method, misev_class
from protocols.schemas import document_schema
from protocols.steps import ProtocolStep, validate_step

LIBRARY_ROOT = Path(__file__).parent / "library"
SUPPORTED_SCHEMA_VERSIONS = (1,)
_DOCUMENT_VALIDATOR = Draft202012Validator(document_schema())


@dataclass(frozen=True)
class ProtocolDefinition:
    schema_version: int
    slug: str
    version: str
    title: str
    status: str
    citations: tuple[dict, ...]
    description: str
    steps: tuple[ProtocolStep, ...]
    methods: tuple[str, ...]
    misev_class: MisevClass
    content_hash: str

    @property
    def key(self) -> str:
        """'slug@version', the key used in released.lock.json."""
        return f"{self.slug}@{self.version}"

    def hashed_content(self) -> dict:
        return hashed_content(self)

    def to_dict(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "slug": self.slug,
            "version": self.version,
            "title": self.title,
            "status": self.status,
            "citations": [dict(citation) for citation in self.citations],
            "description": self.description,
            "steps": [step.to_dict() for step in self.steps],
            "methods": list(self.methods),
            "misev_class": self.misev_class.to_dict(),
            "content_hash": self.content_hash,
        }


def hashed_content(definition: ProtocolDefinition) -> dict:
    """The part of a definition its content hash covers (see protocols.hashing)."""
    return {
        "schema_version": definition.schema_version,
        "slug": definition.slug,
        "version": definition.version,
        "title": definition.title,
        "status": definition.status,
        "citations": [dict(citation) for citation in definition.citations],
        "description": definition.description,
        "steps": [
            {
                "method": step.method,
                "label": step.label,
                "notes": step.notes,
                "params": step.params,
                "tolerances": step.tolerances,
            }
            for step in definition.steps
        ],
    }


def classification_methods(steps: tuple[ProtocolStep, ...]) -> list[str]:
    """Method codes for the MISEV class; a kit step counts as its stated principle."""
    return [classed_step_method(step.method, step.params) for step in steps]


def _document_errors(data: dict) -> list:
    errors = []
    for error in sorted(_DOCUMENT_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = list(error.path)
        if path[:1] == ["steps"] and len(path) >= 2:
            # Step contents are reported by validate_step with method-aware messages.
            continue
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance:
                    errors.append(issue(None, None, name, "required field is missing"))
            continue
        field = ".".join(str(part + 1) if isinstance(part, int) else part for part in path) or None
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for name in extra:
                errors.append(issue(None, None, f"{field}.{name}" if field else name, "unknown field"))
            continue
        errors.append(issue(None, None, field, error.message))
    return errors


def validate_protocol(data: object, source: str | None = None) -> ProtocolDefinition:
    """Validate a protocol document (the parsed YAML) and return its canonical definition.

    Raises ProtocolValidationError listing every problem found, each naming its step, method
    and field.
    """
    if not isinstance(data, dict):
        raise ProtocolValidationError([issue(None, None, None, "a protocol document must be a mapping")], source)
    if data.get("schema_version") not in SUPPORTED_SCHEMA_VERSIONS:
        raise ProtocolValidationError(
            [
                issue(
                    None,
                    None,
                    "schema_version",
                    f"unsupported schema_version {data.get('schema_version')!r} "
                    f"(supported: {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})",
                )
            ],
            source,
        )
    errors = _document_errors(data)
    steps: list[ProtocolStep] = []
    raw_steps = data.get("steps")
    if isinstance(raw_steps, list):
        for number, raw_step in enumerate(raw_steps, start=1):
            step, step_errors = validate_step(raw_step, number)
            errors += step_errors
            if step is not None:
                steps.append(step)
    if errors:
        raise ProtocolValidationError(errors, source)
    step_tuple = tuple(steps)
    partial = ProtocolDefinition(
        schema_version=data["schema_version"],
        slug=data["slug"],
        version=data["version"],
        title=data["title"],
        status=data["status"],
        citations=tuple(dict(citation) for citation in data["citations"]),
        description=data["description"],
        steps=step_tuple,
        methods=tuple(step.method for step in step_tuple),
        misev_class=misev_class(classification_methods(step_tuple)),
        content_hash="",
    )
    return _with_hash(partial)


def _with_hash(definition: ProtocolDefinition) -> ProtocolDefinition:
    return replace(definition, content_hash=content_hash(hashed_content(definition)))


class ProtocolYAMLLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (``&name`` / ``*name``).

    A protocol never needs them, and a few hundred bytes of nested aliases expand to gigabytes once composed
    (the "billion laughs"): the document is refused at the first anchor or alias, before anything is expanded.
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in a protocol; write each value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong with the YAML and where (line and column), in a message of bounded length."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "an unknown line"
    return shorten(f"invalid YAML at {where}: {getattr(error, 'problem', None) or error}")


def load_protocol_yaml(text):
    """Parse protocol YAML (text or an open file) into plain data; raises yaml.YAMLError, anchors included."""
    return yaml.load(text, Loader=ProtocolYAMLLoader)  # noqa: S506 - a SafeLoader subclass


def load_protocol_file(path: str | Path) -> ProtocolDefinition:
    """Read and validate one protocol YAML file."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data = load_protocol_yaml(handle)
    except yaml.YAMLError as error:
        raise ProtocolValidationError([issue(None, None, None, yaml_problem(error))], str(path))
    return validate_protocol(data, source=str(path))


def load_library(root: str | Path | None = None) -> list[ProtocolDefinition]:
    """Load every ``<slug>/<version>.yaml`` under ``root`` (default: the shipped library).

    The directory name must equal the slug and the file name the version, so a file cannot
    silently shadow another version. Results are sorted by slug, then version.
    """
    root = Path(root) if root is not None else LIBRARY_ROOT
    definitions = []
    problems = []
    for path in sorted(root.glob("*/*.yaml")):
        definition = load_protocol_file(path)
        if definition.slug != path.parent.name or definition.version != path.stem:
            problems.append(
                issue(
                    None,
                    None,
                    "slug/version",
                    f"{path.relative_to(root)} declares {definition.key}; expected {path.parent.name}@{path.stem}",
                )
            )
        definitions.append(definition)
    if problems:
        raise ProtocolValidationError(problems, str(root))
    return sorted(definitions, key=lambda d: (d.slug, _version_key(d.version)))


def _version_key(version: str) -> tuple:
    core, _, pre = version.partition("-")
    return (*(int(part) for part in core.split(".")), pre == "", pre)
