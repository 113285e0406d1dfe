"""Writes to donors: create and edit, a donor code unique within the lab."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ...core.audit import record_event, snapshot
from ...core.editing import apply_edit
from ...core.tenancy import ensure_can_write
from ..models import Donor
from ._common import check_same_lab, evidence_changed, validated, with_reason

DONOR_FIELDS = {"code", "sex", "age_band", "diagnosis", "diagnosis_ontology_id", "consent_status", "project"}
# What the evaluation of a preparation reads of its donor (compliance.evidence.donor_part): a change to one of
# these voids the approvals of the preparations made from the donor's samples; a code, consent or project does not.
DONOR_EVIDENCE_FIELDS = {"sex", "age_band", "diagnosis", "diagnosis_ontology_id"}


def donor_build(*, lab, code: str, project=None, reason: str = "", lookups: bool = True, **fields) -> Donor:
    """An unsaved, validated donor as donor_create stores it (bulk registration saves many at once)."""
    donor = Donor(lab=lab, project=project, code=code, **fields)
    return with_reason(validated(donor, lookups=lookups), reason)


def _refuse_taken_code(lab_id, code: str, *, donor_pk=None) -> None:
    if Donor.objects.filter(lab_id=lab_id, code=code).exclude(pk=donor_pk).exists():
        raise ValidationError({"code": f"Donor code {code!r} is already used in this lab."})


@contextmanager
def _code_kept_unique(lab_id, code: str, *, donor_pk=None):
    """The write inside. The code is checked before it; a donor given the same code in between (another user,
    the same moment) fails on the database's unique constraint, reported on the code like the check's own
    refusal. Any other integrity error is not hidden."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        _refuse_taken_code(lab_id, code, donor_pk=donor_pk)
        raise


@transaction.atomic
def donor_create(*, actor, lab, code: str, project=None, reason: str = "", **fields) -> Donor:
    ensure_can_write(actor, lab.pk)
    check_same_lab(lab.pk, project=project)
    _refuse_taken_code(lab.pk, code)
    donor = donor_build(lab=lab, code=code, project=project, reason=reason, **fields)
    with _code_kept_unique(lab.pk, code):
        donor.save()
    record_event(
        actor=actor,
        action="donor.create",
        obj=donor,
        changes=snapshot(donor, sorted(DONOR_FIELDS)),
        reason=reason,
    )
    return donor


@transaction.atomic
def donor_update(*, donor, actor, reason: str, expected_version: int, changes: dict) -> Donor:
    ensure_can_write(actor, donor.lab_id)
    check_same_lab(donor.lab_id, project=changes.get("project"))
    code = changes.get("code", donor.code)
    if code != donor.code:
        _refuse_taken_code(donor.lab_id, code, donor_pk=donor.pk)
    before = {name: getattr(donor, name) for name in DONOR_EVIDENCE_FIELDS}
    with _code_kept_unique(donor.lab_id, code, donor_pk=donor.pk):
        donor = apply_edit(
            donor,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            changes=changes,
            editable=DONOR_FIELDS,
        )
        read = any(getattr(donor, name) != value for name, value in before.items())
        evidence_changed(actor=actor, reason=reason, voids=read, input_aliquot__sample__donor=donor)
    return donor
