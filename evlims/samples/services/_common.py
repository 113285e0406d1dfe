"""What the sample-tracking writers share: the same-lab check, validation, the history reason, and the
refresh of the preparations whose experiment document a change touches."""

from django.core.exceptions import ValidationError


def check_same_lab(lab_id, **objects):
    for name, obj in objects.items():
        if obj is not None and obj.lab_id != lab_id:
            raise ValidationError({name: "Belongs to another lab."})


def validated(instance, *, lookups: bool = True):
    """Field validation. ``lookups=False`` skips what Django checks with a query per record (that each foreign
    key exists, the model's constraints): the bulk path leaves those to the database, which enforces them on
    insert, for related records it has just read or written itself."""
    related = [f.name for f in instance._meta.concrete_fields if f.is_relation] if not lookups else None
    instance.full_clean(exclude=related, validate_unique=False, validate_constraints=lookups)
    return instance


def with_reason(instance, reason: str):
    """The reason also goes on the django-simple-history row the save writes, so the record's own history
    says why it was created (for a manifest import: which import and row)."""
    if reason:
        instance._change_reason = reason
    return instance


def evidence_changed(*, actor=None, reason: str = "", voids: bool = True, **lookup) -> None:
    """The preparations made from these records have a changed experiment document: the approvals covering them
    are voided (audited with ``reason``, inside the change's transaction) and they are refreshed on commit.

    ``voids=False`` refreshes only (a change the evaluation does not read)."""
    from ...isolation.models import EVPreparation

    ids = list(EVPreparation.objects.filter(**lookup).values_list("pk", flat=True))
    approvals_follow_change(actor=actor, reason=reason, preparation_ids=ids, voids=voids)


def approvals_follow_change(*, actor, reason: str, preparation_ids, voids: bool = True) -> None:
    """A change to a record these preparations rest on (their sample, donor, input aliquot, run or steps, or the
    preparation itself): an approval covering one of them no longer covers what it signed, so it is voided with
    the change's reason (refused without one, naming the approved preparations), and they are re-evaluated on
    commit. Call it inside the change's transaction, after the change."""
    from ...core.hooks import preparations_changed
    from ...core.locks import preparations_locked, void_approvals
    from ...isolation.models import EVPreparation

    ids = sorted({int(pk) for pk in preparation_ids})
    locked = preparations_locked(ids) if ids and voids else set()
    if locked:
        if not (reason or "").strip():
            codes = sorted(EVPreparation.objects.filter(pk__in=locked).values_list("barcode", flat=True))
            raise ValidationError(
                {
                    "reason": f"This record is part of approved preparation{'s' if len(codes) > 1 else ''} "
                    f"{', '.join(codes)}: say why it is changed (the approval will be voided)."
                }
            )
        void_approvals(actor=actor, preparation_ids=locked, reason=reason)
    preparations_changed(ids)
