"""The coordinating lab defines a scheme, its rounds, the labs taking part, the items each receives, and the
homogeneity and stability results of the material (ISO 13528 Annex B)."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.audit import record_event, snapshot
from ...core.tenancy import WRITER_ROLES, ensure_role
from ...samples.models import Aliquot
from .. import statistics as iso
from ..models import ComparisonRound, ComparisonScheme, Quantity, RoundItem, RoundParticipant
from ._common import ensure_coordinator, ensure_status, finite_number, number_list

ROUND_FIELDS = (
    "code",
    "material",
    "assigned_from",
    "reference_lot",
    "reference_value",
    "reference_uncertainty",
    "sigma_pt",
    "sigma_pt_basis",
    "coverage_factor",
    "results_due",
)
MAX_PARTICIPANT_NUMBER = 99
MAX_CHECK_ITEMS = 500


@transaction.atomic
def scheme_create(
    *, actor, lab, code: str, name: str, quantity: str, description: str = "", reason: str = ""
) -> ComparisonScheme:
    ensure_role(actor, lab.pk, WRITER_ROLES, "run comparison schemes for this lab")
    code, name = code.strip(), name.strip()
    errors = {}
    if not code:
        errors["code"] = "Give the scheme a code."
    if not name:
        errors["name"] = "Give the scheme a name."
    if quantity not in Quantity.values:
        errors["quantity"] = f"Choose one of: {', '.join(Quantity.labels)}."
    if errors:
        raise ValidationError(errors)
    if ComparisonScheme.objects.filter(lab=lab, code=code).exists():
        raise ValidationError({"code": f"This lab already runs a scheme with the code {code}."})
    scheme = ComparisonScheme.objects.create(lab=lab, code=code, name=name, quantity=quantity, description=description)
    changes = snapshot(scheme, ("code", "name", "quantity", "description"))
    record_event(actor=actor, action="comparison_scheme.create", obj=scheme, lab=lab, changes=changes, reason=reason)
    return scheme


def _round_values(assigned_from, reference_value, reference_uncertainty, sigma_pt, coverage_factor) -> dict:
    errors, values = {}, {}
    for field, value, positive, required in (
        ("sigma_pt", sigma_pt, True, True),
        ("coverage_factor", coverage_factor, True, True),
        ("reference_value", reference_value, False, assigned_from == ComparisonRound.AssignedFrom.REFERENCE),
        (
            "reference_uncertainty",
            reference_uncertainty,
            True,
            assigned_from == ComparisonRound.AssignedFrom.REFERENCE,
        ),
    ):
        try:
            values[field] = finite_number(
                value, field, positive=positive, allow_zero=field == "reference_uncertainty", required=required
            )
        except ValidationError as error:
            errors.update(error.message_dict)
    if assigned_from not in ComparisonRound.AssignedFrom.values:
        errors["assigned_from"] = "Choose a reference value or the robust consensus."
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def round_create(
    *,
    actor,
    scheme,
    code: str,
    material: str,
    sigma_pt,
    assigned_from: str = ComparisonRound.AssignedFrom.CONSENSUS,
    reference_value=None,
    reference_uncertainty=None,
    sigma_pt_basis: str = "",
    coverage_factor=2.0,
    results_due=None,
    reference_lot=None,
    reason: str = "",
) -> ComparisonRound:
    """``reference_lot``: a reference-material lot of the coordinating lab; its assigned value and standard
    uncertainty become the round's reference value (unless given), and its name the material (unless given)."""
    ensure_coordinator(actor, scheme)
    if reference_lot is not None:
        if reference_lot.lab_id != scheme.lab_id:
            raise ValidationError({"reference_lot": "Choose a reference-material lot of the coordinating lab."})
        assigned_from = ComparisonRound.AssignedFrom.REFERENCE
        reference_value = reference_value if reference_value not in (None, "") else reference_lot.assigned_value
        if reference_uncertainty in (None, ""):
            reference_uncertainty = reference_lot.assigned_uncertainty
        material = material or str(reference_lot)
    code, material = code.strip(), material.strip()
    values = _round_values(assigned_from, reference_value, reference_uncertainty, sigma_pt, coverage_factor)
    if not code:
        raise ValidationError({"code": "Give the round a code."})
    if not material:
        raise ValidationError({"material": "Name the material the items were drawn from."})
    if ComparisonRound.objects.filter(scheme=scheme, code=code).exists():
        raise ValidationError({"code": f"Scheme {scheme.code} already has a round {code}."})
    round_ = ComparisonRound.objects.create(
        lab_id=scheme.lab_id,
        scheme=scheme,
        code=code,
        material=material,
        assigned_from=assigned_from,
        sigma_pt_basis=sigma_pt_basis,
        results_due=results_due,
        reference_lot=reference_lot,
        **values,
    )
    record_event(
        actor=actor,
        action="comparison_round.create",
        obj=round_,
        lab=scheme.lab,
        changes=snapshot(round_, ROUND_FIELDS),
        reason=reason,
    )
    return round_


def _free_code(round_) -> str:
    taken = set(round_.participants.values_list("code", flat=True))
    free = [f"Lab {n:02d}" for n in range(1, MAX_PARTICIPANT_NUMBER + 1) if f"Lab {n:02d}" not in taken]
    if not free:
        raise ValidationError({"lab": f"A round takes at most {MAX_PARTICIPANT_NUMBER} participants."})
    # Drawn at random, so that a code tells nothing about when or in what order a lab joined.
    return secrets.choice(free)


@transaction.atomic
def participant_enrol(*, actor, round, lab, reason: str = "") -> RoundParticipant:
    round_ = ComparisonRound.objects.select_for_update().get(pk=round.pk)
    ensure_coordinator(actor, round_)
    ensure_status(round_, ComparisonRound.Status.OPEN, doing="take new participants")
    if round_.participants.filter(lab=lab).exists():
        raise ValidationError({"lab": f"{lab} already takes part in round {round_.code}."})
    participant = RoundParticipant.objects.create(round=round_, lab=lab, code=_free_code(round_))
    record_event(
        actor=actor,
        action="comparison_round.enrol",
        obj=round_,
        lab=round_.lab,
        changes={"participant": participant.code, "participant_lab": lab.pk},
        reason=reason,
    )
    return participant


@transaction.atomic
def item_add(*, actor, participant, code: str = "", aliquot=None, reason: str = "") -> RoundItem:
    round_ = ComparisonRound.objects.select_for_update().get(pk=participant.round_id)
    ensure_coordinator(actor, round_)
    ensure_status(round_, ComparisonRound.Status.OPEN, doing="take new items")
    if aliquot is not None:
        if aliquot.lab_id != round_.lab_id:
            raise ValidationError({"aliquot": "The aliquot must belong to the coordinating lab."})
        if aliquot.status != Aliquot.Status.AVAILABLE:
            raise ValidationError({"aliquot": f"Aliquot {aliquot.barcode} is {aliquot.get_status_display().lower()}."})
        if RoundItem.objects.filter(aliquot=aliquot).exists():
            raise ValidationError({"aliquot": f"Aliquot {aliquot.barcode} is already an item of a round."})
    code = code.strip() or f"{round_.code}-{round_.items.count() + 1:03d}"
    if round_.items.filter(code=code).exists():
        raise ValidationError({"code": f"Round {round_.code} already has an item {code}."})
    item = RoundItem.objects.create(
        lab_id=round_.lab_id, round=round_, participant=participant, code=code, aliquot=aliquot
    )
    record_event(
        actor=actor,
        action="comparison_item.create",
        obj=item,
        lab=round_.lab,
        changes={"code": code, "participant": participant.code, "aliquot": aliquot.barcode if aliquot else None},
        reason=reason,
    )
    return item


@transaction.atomic
def round_checks_record(
    *, actor, round, homogeneity_pairs=None, stability_before=None, stability_after=None, reason: str = ""
) -> ComparisonRound:
    """The coordinator's homogeneity (items measured in duplicate) and stability (before/after) results."""
    round_ = ComparisonRound.objects.select_for_update().get(pk=round.pk)
    ensure_coordinator(actor, round_)
    ensure_status(round_, ComparisonRound.Status.OPEN, ComparisonRound.Status.SHIPPED, doing="change its checks")
    before = {name: getattr(round_, name) for name in ("homogeneity_pairs", "stability_before", "stability_after")}
    if homogeneity_pairs is not None:
        if not isinstance(homogeneity_pairs, list | tuple):
            raise ValidationError({"homogeneity_pairs": "Give one pair of results per item."})
        if len(homogeneity_pairs) > MAX_CHECK_ITEMS:
            raise ValidationError({"homogeneity_pairs": f"At most {MAX_CHECK_ITEMS} items."})
        pairs = [number_list(pair, "homogeneity_pairs") for pair in homogeneity_pairs]
        if pairs:
            try:
                iso.homogeneity_check(pairs, round_.sigma_pt)
            except iso.StatisticsError as error:
                raise ValidationError({"homogeneity_pairs": str(error)}) from None
        round_.homogeneity_pairs = pairs
    if stability_before is not None:
        round_.stability_before = number_list(stability_before, "stability_before")
    if stability_after is not None:
        round_.stability_after = number_list(stability_after, "stability_after")
    round_.save()
    after = {name: getattr(round_, name) for name in before}
    changes = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    record_event(
        actor=actor, action="comparison_round.record_checks", obj=round_, lab=round_.lab, changes=changes, reason=reason
    )
    return round_
