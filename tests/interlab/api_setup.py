"""Rounds in the state each comparison write needs, in the API tests' lab (``users`` and ``world`` of
tests/api/test_unknown_fields.py)."""

from evlims.interlab import services
from evlims.interlab.models import ComparisonRound, ComparisonScheme, RoundItem


def scheme(users, world, ev=None):
    lab = world.project.lab
    return ComparisonScheme.objects.filter(lab=lab, code="API-EQA").first() or services.scheme_create(
        actor=users["staff"], lab=lab, code="API-EQA", name="API scheme", quantity="particles_per_ml"
    )


def open_round(users, world, ev=None, **fields):
    return services.round_create(
        actor=users["staff"],
        scheme=scheme(users, world),
        code=fields.pop("code", "API-R1"),
        material="pool",
        sigma_pt=1.0,
        **fields,
    )


def round_with_item(users, world, ev=None):
    round_ = open_round(users, world)
    participant = services.participant_enrol(actor=users["staff"], round=round_, lab=world.project.lab)
    services.item_add(actor=users["staff"], participant=participant)
    return round_


def shipped_round(users, world, ev=None):
    round_ = open_round(users, world, assigned_from="reference", reference_value=10.0, reference_uncertainty=0.1)
    participant = services.participant_enrol(actor=users["staff"], round=round_, lab=world.project.lab)
    services.item_add(actor=users["staff"], participant=participant)
    return services.round_ship(actor=users["staff"], round=round_)


def reported_round(users, world, ev=None):
    round_ = shipped_round(users, world)
    services.result_report(actor=users["staff"], item=round_.items.get(), value=10.2)
    return round_


def round_id(world, ev=None):
    return {"id": ComparisonRound.objects.get(lab=world.project.lab, code="API-R1").pk}


def item_id(world, ev=None):
    return {"id": RoundItem.objects.get(round__lab=world.project.lab, round__code="API-R1").pk}


def participant_code(world, ev=None):
    return ComparisonRound.objects.get(lab=world.project.lab, code="API-R1").participants.get().code
