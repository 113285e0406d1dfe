"""An instrument file uploaded and, given a mapping of its samples to preparations, committed at once: the two
steps of ``file_ingestion`` (``file_upload``, ``file_commit``) with every refusal put on what it concerns.

The upload is kept whatever happens next: a file the parser refuses stays stored with its failed ingestion
(``FileRejected``), and a refused mapping leaves the file stored and previewed (``CommitRefused``), to be
committed once corrected.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from ..models import Ingestion
from .file_ingestion import commit_errors, file_commit, file_upload


class CommitRefused(ValidationError):
    """A mapping was refused and nothing was stored; the file stays kept and previewed. ``errors`` is
    {key: [messages]}, the samples' refusals under ``mapping`` as {sample name: [messages]}; ``replayed`` says
    the upload was an answer given before."""

    def __init__(self, errors: dict, *, ingestion, replayed: bool = False):
        super().__init__("The mapping was refused.")
        self.errors = errors
        self.ingestion = ingestion
        self.replayed = replayed


def file_commit_by_sample(
    *,
    actor,
    ingestion: Ingestion,
    mapping: dict,
    dilutions: dict | None = None,
    calibration: str = "",
    keep_invalid_captures: bool = False,
    measured_at=None,
    reason: str = "",
) -> Ingestion:
    """``file_commit`` with every refusal put on the sample it concerns: raises CommitRefused. A committed
    ingestion is returned as it is."""
    if ingestion.status == Ingestion.Status.COMMITTED:
        return ingestion
    if ingestion.status != Ingestion.Status.PREVIEW:
        status = ingestion.get_status_display().lower()
        raise CommitRefused({"ingestion": [f"This ingestion is {status}; nothing to commit."]}, ingestion=ingestion)
    names = [sample.get("name") for sample in ingestion.parsed.get("samples") or []]
    unknown = {name: ["Not a sample of this file."] for name in mapping if name not in names}
    if unknown:
        raise CommitRefused({"mapping": unknown}, ingestion=ingestion)
    try:
        return file_commit(
            actor=actor,
            ingestion=ingestion,
            mapping=mapping,
            dilutions=dilutions,
            calibration=calibration,
            keep_invalid_captures=keep_invalid_captures,
            measured_at=measured_at,
            reason=reason,
        )
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
        by_sample, other = commit_errors(errors, ingestion.parsed, mapping)
        raise CommitRefused(other | ({"mapping": by_sample} if by_sample else {}), ingestion=ingestion) from error


def file_upload_and_commit(
    *,
    actor,
    lab,
    data: bytes,
    name: str,
    file_format: str = "auto",
    instrument=None,
    idempotency_key: str = "",
    content_type: str = "",
    parse_options=None,
    mapping: dict | None = None,
    dilutions: dict | None = None,
    calibration: str = "",
    keep_invalid_captures: bool = False,
    measured_at=None,
    reason: str = "",
) -> tuple[Ingestion, bool]:
    """Store and parse a file (``file_upload``) and, given a mapping, commit its results at once
    (``file_commit_by_sample``). Returns (ingestion, replayed): a failed ingestion when a retry repeats a
    refused file, otherwise a previewed one (no mapping) or a committed one.

    Raises FileRejected (the file is kept, with its failed ingestion) when the parser refuses it, and
    CommitRefused (the file is kept and previewed) when the mapping is refused. A generic table sent without a
    column mapping is read with the instrument's own.
    """
    options = dict(parse_options or {})
    if file_format == "generic" and "mapping" not in options and instrument is not None and instrument.column_mapping:
        options["mapping"] = instrument.column_mapping
    ingestion, replayed = file_upload(
        actor=actor,
        lab=lab,
        data=data,
        name=name,
        file_format=file_format,
        instrument=instrument,
        idempotency_key=idempotency_key,
        content_type=content_type,
        parse_options=options,
        reason=reason,
    )
    if mapping and ingestion.status == Ingestion.Status.PREVIEW:
        try:
            ingestion = file_commit_by_sample(
                actor=actor or instrument,
                ingestion=ingestion,
                mapping=mapping,
                dilutions=dilutions,
                calibration=calibration,
                keep_invalid_captures=keep_invalid_captures,
                measured_at=measured_at,
                reason=reason,
            )
        except CommitRefused as refused:
            refused.replayed = replayed
            raise
    return ingestion, replayed
