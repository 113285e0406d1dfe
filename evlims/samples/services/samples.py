"""Writes to samples: registration (with its first aliquots) and edits."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ...conf import evlims_settings
from ...core.audit import record_event, snapshot
from ...core.barcodes import issue_barcode
from ...core.editing import apply_edit
from ...core.tenancy import ensure_can_write
from .. import selectors
from ..models import Sample
from ._common import check_same_lab, evidence_changed, validated, with_reason
from .aliquots import aliquots_create

SAMPLE_EDITABLE = {
    f.name
    for f in Sample._meta.get_fields()
    if getattr(f, "editable", False)
    and f.concrete
    and f.name not in {"id", "lab", "barcode", "version", "created_at", "updated_at"}
}


def _refuse_taken_barcode(lab_id, barcode: str) -> None:
    holder = selectors.barcode_holders(lab_id, [barcode]).get(barcode)
    if holder:
        raise ValidationError({"barcode": selectors.taken_barcode_message(barcode, holder)})


@contextmanager
def _barcode_kept_unique(lab_id, barcode: str):
    """The insert inside. The barcode is checked before it; a record of the lab given the same barcode in
    between (another user, the same moment) fails on the per-lab unique constraint and is reported on the
    barcode like the check's own refusal. Any other integrity error is not hidden."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        _refuse_taken_barcode(lab_id, barcode)
        raise


@transaction.atomic
def sample_register(
    *,
    actor,
    project,
    biofluid: str,
    volume_ml,
    donor=None,
    barcode: str = "",
    aliquot_volumes_ul=(),
    box=None,
    reason: str = "",
    **fields,
) -> Sample:
    """Register a received sample and, optionally, its first aliquots (placed in free positions of ``box``)."""
    ensure_can_write(actor, project.lab_id)
    check_same_lab(project.lab_id, donor=donor, box=box)
    barcode = barcode.strip() or issue_barcode(evlims_settings.SAMPLE_BARCODE_PREFIX)
    _refuse_taken_barcode(project.lab_id, barcode)
    try:
        sample = sample_build(
            project=project,
            donor=donor,
            barcode=barcode,
            biofluid=biofluid,
            volume_ml=volume_ml,
            reason=reason,
            **fields,
        )
    except ValidationError:
        # The model's own check of the per-lab constraint: a record of the lab took the barcode since.
        _refuse_taken_barcode(project.lab_id, barcode)
        raise
    with _barcode_kept_unique(project.lab_id, barcode):
        sample.save()
    record_event(
        actor=actor,
        action="sample.register",
        obj=sample,
        changes=snapshot(sample, ["barcode", "biofluid", "volume_ml", "project", "donor"]),
        reason=reason,
    )
    if aliquot_volumes_ul:
        aliquots_create(actor=actor, sample=sample, volumes_ul=aliquot_volumes_ul, box=box, reason=reason)
    return sample


def sample_build(
    *, project, donor, barcode: str, biofluid: str, volume_ml, reason: str = "", now=None, lookups=True, **fields
) -> Sample:
    """An unsaved, validated sample as sample_register stores it; not received_at means received ``now``."""
    sample = validated(
        Sample(
            lab_id=project.lab_id,
            project=project,
            donor=donor,
            barcode=barcode,
            biofluid=biofluid,
            volume_ml=volume_ml,
            **fields,
        ),
        lookups=lookups,
    )
    if sample.received_at is None:
        sample.received_at = now or timezone.now()
    return with_reason(sample, reason)


@transaction.atomic
def sample_update(*, sample, actor, reason: str, expected_version: int, changes: dict) -> Sample:
    ensure_can_write(actor, sample.lab_id)
    check_same_lab(sample.lab_id, donor=changes.get("donor"), project=changes.get("project"))
    sample = apply_edit(
        sample,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        editable=SAMPLE_EDITABLE,
    )
    evidence_changed(actor=actor, reason=reason, input_aliquot__sample=sample)
    return sample
