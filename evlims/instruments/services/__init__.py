"""Every write of the instruments domain, one module per kind of record: instruments and their API keys
(``instruments``), raw files and posted results (``results``), parsed files as result documents
(``documents``, pure), instrument files parsed, previewed and committed
(``file_ingestion``), a file uploaded and committed in one step (``uploads``), the lab's saved plate layouts
(``plate_layouts``), and the instruments' watched folders (``watch``). Every public writer is
exported here, so ``from evlims.instruments.services import file_upload`` works wherever it lives."""

from .documents import (
    MEASURED_AT_GIVEN,
    MEASURED_AT_UPLOAD,
    PARTICLE_FORMATS,
    UNDILUTED,
    acquisition_time,
    dilution_suggestions,
    documents_from_parsed,
    particle_document,
    protein_document,
)
from .file_ingestion import FileRejected, commit_errors, file_commit, file_upload
from .instruments import (
    KEY_PREFIX,
    LAST_USED_RESOLUTION,
    api_key_authenticate,
    api_key_issue,
    api_key_revoke,
    instrument_register,
)
from .plate_layouts import plate_layout_create, plate_layout_retire, plate_layout_update
from .results import MAX_RESULTS_PER_POST, previous_answer, raw_file_store, request_hash, results_ingest
from .uploads import CommitRefused, file_commit_by_sample, file_upload_and_commit
from .watch import watch_all_folders, watch_folder_scan, watch_folder_set

__all__ = [
    "KEY_PREFIX",
    "LAST_USED_RESOLUTION",
    "MAX_RESULTS_PER_POST",
    "MEASURED_AT_GIVEN",
    "MEASURED_AT_UPLOAD",
    "PARTICLE_FORMATS",
    "UNDILUTED",
    "CommitRefused",
    "FileRejected",
    "api_key_authenticate",
    "api_key_issue",
    "api_key_revoke",
    "acquisition_time",
    "commit_errors",
    "dilution_suggestions",
    "documents_from_parsed",
    "file_commit",
    "file_commit_by_sample",
    "file_upload",
    "file_upload_and_commit",
    "instrument_register",
    "particle_document",
    "plate_layout_create",
    "plate_layout_retire",
    "plate_layout_update",
    "previous_answer",
    "protein_document",
    "raw_file_store",
    "request_hash",
    "results_ingest",
    "watch_all_folders",
    "watch_folder_scan",
    "watch_folder_set",
]
