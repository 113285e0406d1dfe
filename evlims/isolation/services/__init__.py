"""Every write to protocols, isolation runs and EV preparations.

One module per record kind: ``protocols`` (drafts, approval, retirement, the shipped library), ``runs`` (plan,
start, steps, completion, abort, corrections) and ``preparations`` (edits after the run). Every public function is also
importable from here: ``from evlims.isolation.services import run_plan``.
"""

from .preparations import (
    PREPARATION_EDITABLE,
    clean_functional_studies,
    preparation_add_functional_study,
    preparation_update,
)
from .protocols import (
    library_load,
    parse_protocol_text,
    protocol_version_approve,
    protocol_version_retire,
    protocol_version_save_draft,
)
from .runs import (
    RUN_EDITABLE,
    RUN_OUTPUT_FIELDS,
    run_abort,
    run_complete,
    run_plan,
    run_record_step,
    run_start,
    run_update,
)

__all__ = [
    "PREPARATION_EDITABLE",
    "RUN_EDITABLE",
    "RUN_OUTPUT_FIELDS",
    "clean_functional_studies",
    "library_load",
    "parse_protocol_text",
    "preparation_add_functional_study",
    "preparation_update",
    "protocol_version_approve",
    "protocol_version_retire",
    "protocol_version_save_draft",
    "run_abort",
    "run_complete",
    "run_plan",
    "run_record_step",
    "run_start",
    "run_update",
]
