"""A spike's and a tracer readout's page: what it says now, every version before it, the recovery with its
uncertainty budget, and, for those who may (standards.services.changes.may_change: the recorder, or a lab admin),
the forms that correct or void it with a reason. Every write goes through the standards services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...core.locks import approvals_affected
from ...standards import services
from ...standards.models import Status
from ...standards.recovery import recoveries, with_related
from ...standards.selectors import readout_get, readouts_for, spike_get, version_chain
from ...standards.services.changes import may_change, resting_on
from ..forms.standards_changes import ReadoutCorrectionForm, SpikeCorrectionForm, VoidForm
from .common import add_service_errors, member_view, scoped
from .standards_presenters import budget_rows, recovery_rows


def _page(request, record, template: str, correction_form, void_form, **extra):
    changeable = record.status == Status.CURRENT and may_change(request.user, record)
    context = {
        "record": record,
        "versions": version_chain(record),
        "can_change": changeable,
        "correction_form": correction_form
        or (SpikeCorrectionForm if template == "spike" else ReadoutCorrectionForm)(record=record),
        "void_form": void_form or VoidForm(),
        "affected_approvals": approvals_affected(resting_on(record)) if changeable else [],
        **extra,
    }
    return render(request, f"evlims/standards/{template}.html", context)


def _readout_page(request, readout, correction_form=None, void_form=None):
    rows = recoveries(with_related(readouts_for(request.user, versions=True).filter(pk=readout.pk)))
    shown = recovery_rows(rows)
    return _page(
        request,
        readout,
        "readout",
        correction_form,
        void_form,
        recovery=shown[0] if shown else None,
        budget=budget_rows(rows[0].recovery) if rows else [],
    )


def _spike_page(request, spike, correction_form=None, void_form=None):
    readouts = with_related(readouts_for(request.user).filter(spike=spike)).order_by("-measured_at", "-id")
    return _page(request, spike, "spike", correction_form, void_form, recoveries=recovery_rows(recoveries(readouts)))


def _refused(request, record, what: str) -> bool:
    if record.status != Status.CURRENT:
        messages.error(request, f"This {what} is {record.get_status_display().lower()}: it cannot be changed.")
        return True
    if not may_change(request.user, record):
        messages.error(request, f"Only the person who recorded this {what} or a lab admin of its lab may change it.")
        return True
    return False


# What each kind of record needs: its words, selector, page, correction form, services and where to go after.
KINDS = {
    "readout": {
        "what": "tracer readout",
        "get": readout_get,
        "page": _readout_page,
        "form": ReadoutCorrectionForm,
        "correct": services.tracer_readout_correct,
        "void": services.tracer_readout_void,
        "after_void": lambda readout: ("evlims:preparation-detail", readout.preparation_id),
        "corrected": "Tracer readout corrected; the old version is kept, and recovery follows.",
        "voided": "Tracer readout voided: it is kept, marked void, and counts in no recovery.",
    },
    "spike": {
        "what": "spike",
        "get": spike_get,
        "page": _spike_page,
        "form": SpikeCorrectionForm,
        "correct": services.spike_correct,
        "void": services.spike_void,
        "after_void": lambda spike: ("evlims:standards-lot", spike.lot_id),
        "corrected": "Spike corrected; the old version is kept, and its readouts follow the new one.",
        "voided": "Spike voided: it is kept, marked void.",
    },
}


def _change(request, pk, kind: str, action: str):
    """The POST of a correction or a voiding: the service with the reason, or the page again with the refusal
    under the field it names."""
    spec = KINDS[kind]
    record = scoped(spec["get"], request.user, pk)
    if _refused(request, record, spec["what"]):
        return redirect(f"evlims:standards-{kind}", pk=record.pk)
    form = spec["form"](request.POST, record=record) if action == "correct" else VoidForm(request.POST)
    if form.is_valid():
        figures = form.changes() if action == "correct" else {}
        try:
            changed = spec[action](actor=request.user, reason=form.cleaned_data["reason"], **{kind: record}, **figures)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, spec["voided" if action == "void" else "corrected"])
            if action == "void":
                name, target = spec["after_void"](changed)
                return redirect(name, pk=target)
            return redirect(f"evlims:standards-{kind}", pk=changed.pk)
    forms = {"correction_form": form} if action == "correct" else {"void_form": form}
    return spec["page"](request, record, **forms)


@member_view
def readout_detail(request, pk):
    return _readout_page(request, scoped(readout_get, request.user, pk))


@member_view
@require_POST
def readout_correct(request, pk):
    return _change(request, pk, "readout", "correct")


@member_view
@require_POST
def readout_void(request, pk):
    return _change(request, pk, "readout", "void")


@member_view
def spike_detail(request, pk):
    return _spike_page(request, scoped(spike_get, request.user, pk))


@member_view
@require_POST
def spike_correct(request, pk):
    return _change(request, pk, "spike", "correct")


@member_view
@require_POST
def spike_void(request, pk):
    return _change(request, pk, "spike", "void")
