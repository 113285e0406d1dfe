"""Who sees which comparison records. A round is visible to the members of its coordinating lab and of every
participant lab; what a participant sees of it is narrower (its own items and results, codes for the others),
and is decided by ``is_coordinator``."""

from django.db.models import Q
from django.http import Http404

from ..core.tenancy import WRITER_ROLES, labs_where, visible_lab_ids
from .models import ComparisonRound, ComparisonScheme, RoundItem, RoundParticipant, RoundResult


def schemes_for(user):
    """Schemes the user's labs coordinate."""
    return ComparisonScheme.objects.filter(lab_id__in=visible_lab_ids(user))


def rounds_for(user):
    labs = visible_lab_ids(user)
    return (
        ComparisonRound.objects.filter(Q(lab_id__in=labs) | Q(participants__lab_id__in=labs))
        .distinct()
        .select_related("scheme", "lab")
        .prefetch_related("participants")
    )


def coordinated_rounds(user):
    return ComparisonRound.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("scheme", "lab")


def round_get(user, pk) -> ComparisonRound:
    round_ = rounds_for(user).filter(pk=pk).first()
    if round_ is None:
        raise Http404("No such round.")
    return round_


def is_coordinator(user, round_) -> bool:
    return round_.lab_id in visible_lab_ids(user)


def may_coordinate(user, round_) -> bool:
    return round_.lab_id in labs_where(user, WRITER_ROLES)


def own_participations(user, round_):
    return RoundParticipant.objects.filter(round=round_, lab_id__in=visible_lab_ids(user)).select_related("lab")


def items_for(user):
    """Items the user may see: all items of rounds their labs coordinate, and the items sent to their labs."""
    labs = visible_lab_ids(user)
    return (
        RoundItem.objects.filter(Q(lab_id__in=labs) | Q(participant__lab_id__in=labs))
        .select_related("round__scheme", "participant__lab", "aliquot", "result")
        .distinct()
    )


def received_items(user, round_=None):
    """Items sent to the user's labs (what a participant works on)."""
    items = RoundItem.objects.filter(participant__lab_id__in=visible_lab_ids(user)).select_related(
        "round__scheme", "participant", "result"
    )
    return items.filter(round=round_) if round_ is not None else items


def reportable_items(user):
    """Items the user may report a result on: sent to a lab where they write, in a round awaiting results."""
    return RoundItem.objects.filter(
        participant__lab_id__in=labs_where(user, WRITER_ROLES), round__status=ComparisonRound.Status.SHIPPED
    ).select_related("round__scheme", "participant")


def results_for(user):
    labs = visible_lab_ids(user)
    return RoundResult.objects.filter(Q(lab_id__in=labs) | Q(item__lab_id__in=labs)).select_related(
        "item__round", "item__participant"
    )
