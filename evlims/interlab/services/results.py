"""A participant reports its result on an item it received: a number with its standard uncertainty, or a result
it recorded the normal way (a measurement of its own preparation), whose headline figure is read."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ...characterization.models import Measurement
from ...core.audit import record_event, snapshot
from ...core.tenancy import WRITER_ROLES, ensure_role
from ..models import ComparisonRound, RoundResult
from ._common import ensure_status, finite_number

RESULT_FIELDS = ("value", "standard_uncertainty", "coverage_factor", "method", "measurement")


def _measured_value(measurement, item) -> float:
    if measurement.lab_id != item.participant.lab_id:
        raise ValidationError({"measurement": "Choose a result of your own lab."})
    if not Measurement.objects.filter(pk=measurement.pk).exists():
        raise ValidationError({"measurement": "This result was corrected or voided; choose its current version."})
    quantity = item.round.scheme.quantity
    value = (measurement.values or {}).get(quantity)
    if not isinstance(value, int | float) or isinstance(value, bool):
        label = item.round.scheme.get_quantity_display()
        raise ValidationError({"measurement": f"This result has no {label.lower()}."})
    return float(value)


@transaction.atomic
def result_report(
    *,
    actor,
    item,
    value=None,
    standard_uncertainty=None,
    coverage_factor=2.0,
    method: str = "",
    measurement=None,
    reason: str = "",
) -> RoundResult:
    participant_lab_id = item.participant.lab_id
    ensure_role(actor, participant_lab_id, WRITER_ROLES, "report results for this participant")
    round_ = ComparisonRound.objects.select_for_update().get(pk=item.round_id)
    ensure_status(round_, ComparisonRound.Status.SHIPPED, doing="take results")
    if measurement is not None:
        measured = _measured_value(measurement, item)
        if value is not None and value != "" and finite_number(value, "value") != measured:
            raise ValidationError({"value": "Give a value or a recorded result, not both."})
        value = measured
    values = {
        "value": finite_number(value, "value"),
        "standard_uncertainty": finite_number(
            standard_uncertainty, "standard_uncertainty", positive=True, required=False
        ),
        "coverage_factor": finite_number(coverage_factor, "coverage_factor", positive=True, allow_zero=False),
    }
    existing = RoundResult.objects.select_for_update().filter(item=item).first()
    before = snapshot(existing, RESULT_FIELDS) if existing else {}
    result = existing or RoundResult(lab_id=participant_lab_id, item=item)
    for name, number in values.items():
        setattr(result, name, number)
    result.method, result.measurement, result.reported_by = method.strip()[:200], measurement, actor
    result.save()
    after = snapshot(result, RESULT_FIELDS)
    record_event(
        actor=actor,
        action="comparison_result.report" if existing is None else "comparison_result.replace",
        obj=result,
        lab=item.participant.lab,
        changes={name: [before.get(name), after[name]] for name in after if before.get(name) != after[name]},
        reason=reason,
    )
    return result
