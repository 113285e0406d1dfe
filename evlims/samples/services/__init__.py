"""Every write to donors, samples, aliquots, storage and manifest imports. Keyword-only; one transaction; one
audit event (a bulk registration's one event is its manifest commit's).

One module per record kind: ``donors``, ``samples``, ``aliquots`` (custody included), ``storage``,
``manifests`` (manifest imports) and ``bulk`` (many samples registered at once, for ``manifests``). Every
public function is also importable from here: ``from evlims.samples.services import sample_register``.
"""

from .aliquots import (
    aliquot_build,
    aliquot_consume,
    aliquot_move,
    aliquot_release,
    aliquot_split,
    aliquot_thaw,
    aliquots_create,
    first_aliquot_volumes,
    first_custody_event,
    received_note,
)
from .bulk import samples_register_bulk
from .donors import DONOR_FIELDS, donor_build, donor_create, donor_update
from .manifests import (
    manifest_commit,
    manifest_mark_failed,
    manifest_queue_commit,
    manifest_upload,
    manifest_validate,
)
from .samples import SAMPLE_EDITABLE, sample_build, sample_register, sample_update
from .storage import storage_unit_create

__all__ = [
    "DONOR_FIELDS",
    "SAMPLE_EDITABLE",
    "aliquot_build",
    "aliquot_consume",
    "aliquot_move",
    "aliquot_release",
    "aliquot_split",
    "aliquot_thaw",
    "aliquots_create",
    "donor_build",
    "donor_create",
    "donor_update",
    "first_aliquot_volumes",
    "first_custody_event",
    "manifest_commit",
    "manifest_mark_failed",
    "manifest_queue_commit",
    "manifest_upload",
    "manifest_validate",
    "received_note",
    "sample_build",
    "sample_register",
    "sample_update",
    "samples_register_bulk",
    "storage_unit_create",
]
