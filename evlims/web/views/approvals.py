"""What an edit page shows before a change voids approvals: the approvals covering the preparations the record is
part of (its sample, donor, input aliquot, run), and a reason field that is then required, saying why."""

from ...core.locks import approvals_affected
from ...isolation.selectors import preparation_ids_resting_on

LOCKED_REASON = (
    "This record is part of an approved preparation: say why it is changed. Saving voids the approval listed above."
)


def affected_approvals(**record) -> list[dict]:
    """The approvals a change to ``sample=``, ``donor=``, ``aliquot=`` or ``run=`` would void."""
    return approvals_affected(preparation_ids_resting_on(**record))


def reason_required_when_locked(form, approvals, field: str = "reason") -> None:
    """A locked record's change needs its reason: the form field becomes required, its error says why."""
    if approvals and field in form.fields:
        form.fields[field].required = True
        form.fields[field].error_messages["required"] = LOCKED_REASON
