"""Every write of the instruments domain, one module per kind of record: instruments and their API keys
(``instruments``), raw files and posted results (``results``), instrument files parsed, previewed and committed
(``file_ingestion``), and a file uploaded and committed in one step (``uploads``). Every public writer is
exported here, so ``from evlims.instruments.services import file_upload`` works wherever it lives."""

from .file_ingestion import (
    PARTICLE_FORMATS,
    FileRejected,
    commit_errors,
    documents_from_parsed,
    file_commit,
    file_upload,
    particle_document,
    protein_document,
)
from .instruments import (
    KEY_PREFIX,
    LAST_USED_RESOLUTION,
    api_key_authenticate,
    api_key_issue,
    api_key_revoke,
    instrument_register,
)
from .results import MAX_RESULTS_PER_POST, previous_answer, raw_file_store, request_hash, results_ingest
from .uploads import CommitRefused, file_commit_by_sample, file_upload_and_commit

__all__ = [
    "KEY_PREFIX",
    "LAST_USED_RESOLUTION",
    "MAX_RESULTS_PER_POST",
    "PARTICLE_FORMATS",
    "CommitRefused",
    "FileRejected",
    "api_key_authenticate",
    "api_key_issue",
    "api_key_revoke",
    "commit_errors",
    "documents_from_parsed",
    "file_commit",
    "file_commit_by_sample",
    "file_upload",
    "file_upload_and_commit",
    "instrument_register",
    "particle_document",
    "previous_answer",
    "protein_document",
    "raw_file_store",
    "request_hash",
    "results_ingest",
]
