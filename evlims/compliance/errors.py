"""Errors raised by the compliance engine. Each one names the field or file at fault."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentIssue:
    """One problem in an experiment document: a JSON path such as ``$.separation[1].params`` and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ExperimentDocumentError(ValueError):
    """The experiment document is not valid JSON or does not follow experiment.schema.json."""

    def __init__(self, issues: list[DocumentIssue], *, document_index: int | None = None):
        self.issues = tuple(issues)
        # Set by evaluate_many: which document of the batch is at fault.
        self.document_index = document_index
        prefix = "" if document_index is None else f"document {document_index}: "
        super().__init__(prefix + "; ".join(str(issue) for issue in self.issues))


class RulesetError(ValueError):
    """A rule-set file is malformed: the message names the file, the rule id and the offending key."""


class VocabularyError(ValueError):
    """The marker vocabulary file is malformed."""
