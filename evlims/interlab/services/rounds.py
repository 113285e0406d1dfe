"""Shipping a round's items and closing it. Items that are aliquots of the coordinating lab leave with a custody
event (the aliquot is released as shipped, audited by the aliquot writer); the others go as a kit whose manifest
is the round's CSV (``interlab.reports.manifest_csv``). Closing fixes the assigned value and the robust SD the
scores are read against."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ...core.audit import record_event
from ...samples.services.aliquots import aliquot_release
from .. import statistics as iso
from ..models import ComparisonRound, RoundItem
from ..scoring import assigned_value
from ._common import ensure_coordinator, ensure_status


@transaction.atomic
def round_ship(*, actor, round, reason: str = "") -> ComparisonRound:
    round_ = ComparisonRound.objects.select_for_update().get(pk=round.pk)
    ensure_coordinator(actor, round_)
    ensure_status(round_, ComparisonRound.Status.OPEN, doing="be shipped again")
    items = list(round_.items.select_related("participant__lab", "aliquot").order_by("code"))
    if not items:
        raise ValidationError({"items": f"Round {round_.code} has no items to ship."})
    now = timezone.now()
    shipped = {}
    for item in items:
        if item.aliquot is not None:
            aliquot_release(
                actor=actor,
                aliquot=item.aliquot,
                kind="shipped",
                destination=f"{item.participant.lab} ({round_.scheme.code} {round_.code}, {item.code})",
                reason=reason or f"Item {item.code} of comparison round {round_.code}",
            )
            item.shipping = RoundItem.Shipping.CUSTODY
        else:
            item.shipping = RoundItem.Shipping.KIT
        item.shipped_at = now
        item.save(update_fields=["shipping", "shipped_at", "updated_at"])
        shipped[item.code] = item.shipping
    round_.status, round_.shipped_at = ComparisonRound.Status.SHIPPED, now
    round_.save(update_fields=["status", "shipped_at", "updated_at"])
    record_event(
        actor=actor,
        action="comparison_round.ship",
        obj=round_,
        lab=round_.lab,
        changes={"status": [ComparisonRound.Status.OPEN, round_.status], "items": shipped},
        reason=reason,
    )
    return round_


@transaction.atomic
def round_close(*, actor, round, reason: str = "") -> ComparisonRound:
    """Closes the round: the assigned value (reference or Algorithm A consensus) and the robust SD are fixed."""
    round_ = ComparisonRound.objects.select_for_update().get(pk=round.pk)
    ensure_coordinator(actor, round_)
    ensure_status(round_, ComparisonRound.Status.SHIPPED, doing="be closed")
    try:
        assigned = assigned_value(round_)
    except iso.StatisticsError as error:
        raise ValidationError({"results": str(error)}) from None
    round_.assigned_value, round_.assigned_uncertainty = assigned.value, assigned.standard_uncertainty
    round_.robust_mean = assigned.robust.mean if assigned.robust else None
    round_.robust_sd = assigned.robust.sd if assigned.robust else None
    round_.status, round_.closed_at = ComparisonRound.Status.CLOSED, timezone.now()
    round_.save()
    record_event(
        actor=actor,
        action="comparison_round.close",
        obj=round_,
        lab=round_.lab,
        changes={
            "status": [ComparisonRound.Status.SHIPPED, round_.status],
            "assigned_value": round_.assigned_value,
            "assigned_uncertainty": round_.assigned_uncertainty,
            "robust_sd": round_.robust_sd,
        },
        reason=reason,
    )
    return round_
