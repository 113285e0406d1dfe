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


def evidence_changed(**lookup) -> None:
    """The preparations made from these records have a changed experiment document: refresh them on commit."""
    from ...core.hooks import preparations_changed
    from ...isolation.models import EVPreparation

    preparations_changed(EVPreparation.objects.filter(**lookup).values_list("pk", flat=True))
