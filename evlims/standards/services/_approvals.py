"""Approvals follow their evidence (docs/qa-review.md): a readout recorded, corrected or voided, or a spike
corrected, changes the recovery shown for preparations that may be approved; their approvals are voided with the
change's reason, in the change's transaction, and a change without a reason to a locked preparation is refused."""

from django.core.exceptions import ValidationError

from ...core.hooks import preparations_changed
from ...core.locks import preparations_locked, void_approvals
from ...isolation.models import EVPreparation


def approvals_follow(*, actor, preparation_ids, reason: str) -> None:
    ids = sorted({int(pk) for pk in preparation_ids})
    locked = preparations_locked(ids) if ids else set()
    if locked:
        if not (reason or "").strip():
            codes = sorted(EVPreparation.objects.filter(pk__in=locked).values_list("barcode", flat=True))
            why = "say why its recovery changes (the approval will be voided)."
            raise ValidationError({"reason": f"{', '.join(codes)} is approved: {why}"})
        void_approvals(actor=actor, preparation_ids=locked, reason=reason)
    preparations_changed(ids)
