"""Isolation runs: the list, the run page, and the wizard (plan → start → record steps → complete, or abort)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...core.ids import parse_id
from ...core.tenancy import WRITER_ROLES, labs_where
from ...isolation import selectors, services
from ...isolation.models import IsolationRun
from ..forms.protocols import STEP_FIELD_KEY
from ..forms.run_steps import StepRecordForm
from ..forms.runs import (
    PICKER_LIMIT,
    AliquotFilterForm,
    PreparationOutputForm,
    ReasonForm,
    RunEditForm,
    RunFilterForm,
    RunPlanForm,
    suggested_output,
)
from . import list_specs
from .approvals import affected_approvals, reason_required_when_locked
from .common import ensure_writer, member_view, run_service, save_versioned_edit, scoped
from .lists import list_response
from .protocols import step_views

STATUS_BADGES = {
    "planned": "text-bg-info",
    "in_progress": "text-bg-primary",
    "completed": "text-bg-success",
    "aborted": "text-bg-secondary",
}
WIZARD_STAGES = (("planned", "Plan"), ("in_progress", "Record steps"), ("completed", "Complete"))


@member_view
def run_list(request):
    form = RunFilterForm(request.GET or None, user=request.user)
    runs = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        runs = selectors.run_list(
            request.user,
            status=data.get("status", ""),
            protocol=data.get("protocol"),
            operator=data.get("operator"),
            search=data.get("q", "").strip(),
        )
    context = {"form": form, "badges": STATUS_BADGES, "can_write": bool(labs_where(request.user, WRITER_ROLES))}
    return list_response(request, list_specs.RUNS, runs, "evlims/runs/list.html", context)


def _parameter_rows(definition_view: dict, record) -> list[dict]:
    """Protocol value next to the recorded value of every parameter, with the deviation found for it."""
    deviations = {d["field"]: d for d in (record.deviations if record else [])}
    rows = []
    for param in definition_view["params"]:
        name = param["name"]
        rows.append(
            {
                "name": name,
                "protocol": param["written"] or param["canonical"],
                "recorded": _recorded_text(record, name),
                "deviation": deviations.pop(name, None),
            }
        )
    if record:
        listed = {row["name"] for row in rows}
        for name in list(record.observed_original) + list(record.observed):
            if name not in listed:
                listed.add(name)
                rows.append(
                    {
                        "name": name,
                        "protocol": "",
                        "recorded": _recorded_text(record, name),
                        "deviation": deviations.pop(name, None),
                        "extra": True,
                    }
                )
    return rows + [{"name": d["field"], "protocol": "", "recorded": "", "deviation": d} for d in deviations.values()]


def _recorded_text(record, name) -> str:
    if record is None:
        return ""
    if name in record.observed_original:
        value = record.observed_original[name]
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if name not in record.observed:
        return ""
    value = record.observed[name]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _run_context(request, run) -> dict:
    definitions = step_views(run.protocol_version.definition) if run.protocol_version else []
    rows = []
    for row, shown in zip(selectors.step_rows(run), definitions, strict=True):
        record = row["record"]
        rows.append(
            {
                "number": row["number"],
                "definition": row["definition"],
                "record": record,
                "params": _parameter_rows(shown, record),
                "deviation_count": len(record.deviations) if record else 0,
            }
        )
    recorded = sum(1 for row in rows if row["record"])
    return {
        "run": run,
        "badge": STATUS_BADGES.get(run.status, "text-bg-light"),
        "steps": rows,
        "recorded": recorded,
        "all_recorded": recorded == len(rows),
        "next_step": next((row["number"] for row in rows if row["record"] is None), None),
        "deviation_total": sum(row["deviation_count"] for row in rows),
        "preparations": list(run.preparations.all()),
        "can_write": run.lab_id in labs_where(request.user, WRITER_ROLES),
        "stages": WIZARD_STAGES,
    }


@member_view
def run_detail(request, pk):
    run = scoped(selectors.run_get, request.user, pk)
    return render(request, "evlims/runs/detail.html", _run_context(request, run))


@member_view
def run_new(request):
    ensure_writer(request.user)
    initial = {}
    if request.method == "GET" and parse_id(request.GET.get("version", "")) is not None:
        initial["protocol_version"] = request.GET["version"]
    form = RunPlanForm(request.POST or None, initial=initial, user=request.user)
    picker = AliquotFilterForm(request.GET or None, prefix="find", user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        run = run_service(
            form,
            lambda: services.run_plan(
                actor=request.user,
                project=data["project"],
                protocol_version=data["protocol_version"],
                inputs=data["inputs"],
                equipment=data["equipment"],
                reason=data["reason"],
            ),
        )
        if run is not None:
            messages.success(
                request, f"Run {run.code} planned with {len(data['inputs'])} aliquot(s). Start it when ready."
            )
            return redirect("evlims:run-detail", pk=run.pk)
    return render(
        request,
        "evlims/runs/new.html",
        {
            "form": form,
            "picker": picker,
            "aliquots": _with_ticks(picker.aliquots(request.user), form.ticked()),
            "picker_limit": PICKER_LIMIT,
        },
    )


def _with_ticks(aliquots, ticked) -> list:
    """Aliquots of the picker, each marked with the volume it was ticked with when the form comes back."""
    volumes = dict(ticked)
    aliquots = list(aliquots)
    for aliquot in aliquots:
        aliquot.ticked = str(aliquot.pk) in volumes
        aliquot.ticked_volume = volumes.get(str(aliquot.pk), "")
    return aliquots


@member_view
def aliquot_picker(request):
    """The list of available aliquots for the plan page, narrowed by the filter (htmx swaps it in)."""
    picker = AliquotFilterForm(request.GET or None, prefix="find", user=request.user)
    return render(
        request,
        "evlims/runs/_aliquot_picker.html",
        {"aliquots": _with_ticks(picker.aliquots(request.user), []), "picker_limit": PICKER_LIMIT},
    )


def _refuse(request, run, error: ValidationError, what: str):
    for message in error.messages:
        messages.error(request, f"Run {run.code} was not {what}: {message}")
    return redirect("evlims:run-detail", pk=run.pk)


@require_POST
@member_view
def run_start(request, pk):
    run = scoped(selectors.run_get, request.user, pk)
    try:
        services.run_start(actor=request.user, run=run)
    except ValidationError as error:
        return _refuse(request, run, error, "started")
    messages.success(request, f"Run {run.code} started; the input volumes were taken from the aliquots.")
    if run.protocol_version and run.protocol_version.steps:
        return redirect("evlims:run-step", pk=run.pk, number=1)
    return redirect("evlims:run-detail", pk=run.pk)


def _deviation_note(record) -> str:
    if not record.deviations:
        return "no deviation from the protocol"
    listed = "; ".join(d["message"] for d in record.deviations)
    return f"{len(record.deviations)} deviation(s): {listed}"


@member_view
def run_step(request, pk, number):
    run = scoped(selectors.run_get, request.user, pk)
    steps = run.protocol_version.steps if run.protocol_version else []
    if not 1 <= number <= len(steps):
        return redirect("evlims:run-detail", pk=run.pk)
    ensure_writer(request.user)
    record = next((step for step in run.steps.all() if step.number == number), None)
    definition = steps[number - 1]
    form = StepRecordForm(request.POST or None, definition=definition, record=record)
    approvals = affected_approvals(run=run)
    reason_required_when_locked(form, approvals)
    if run.status == IsolationRun.Status.COMPLETED and "reason" in form.fields:
        form.fields["reason"].required = True
        form.fields["reason"].error_messages["required"] = (
            f"Run {run.code} is completed: say why this step is corrected."
        )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.run_record_step(
                actor=request.user,
                run=run,
                number=number,
                observed=form.cleaned_data["observed"],
                notes=form.cleaned_data["notes"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _add_step_errors(form, error)
        else:
            messages.info(request, f"Step {number} recorded: {_deviation_note(saved)}.")
            if run.status == IsolationRun.Status.COMPLETED:
                return redirect("evlims:run-detail", pk=run.pk)
            recorded = {step.number for step in run.steps.all()} | {number}
            pending = [n for n in range(1, len(steps) + 1) if n not in recorded]
            if pending:
                return redirect("evlims:run-step", pk=run.pk, number=pending[0])
            return redirect("evlims:run-complete", pk=run.pk)
    shown = step_views({"steps": steps})[number - 1]
    return render(
        request,
        "evlims/runs/step.html",
        {
            "run": run,
            "form": form,
            "number": number,
            "definition": definition,
            "shown": shown,
            "step_count": len(steps),
            "record": record,
            "stages": WIZARD_STAGES,
            "affected_approvals": approvals,
        },
    )


def _add_step_errors(form, error: ValidationError) -> None:
    """The service names a parameter as 'steps[N].field'; its message goes on that field of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages_ in error.message_dict.items():
        match = STEP_FIELD_KEY.match(key)
        field = match["field"] if match else key
        form.add_error(field if field in form.fields else None, messages_)


@member_view
def run_complete(request, pk):
    run = scoped(selectors.run_get, request.user, pk)
    ensure_writer(request.user)
    preparations = list(run.preparations.all())
    suggestion = suggested_output(run.protocol_version.definition) if run.protocol_version else {}
    data = request.POST if request.method == "POST" else None
    forms_by_prep = [
        (prep, PreparationOutputForm(data, prefix=f"prep-{prep.pk}", initial=suggestion)) for prep in preparations
    ]
    errors = []
    if request.method == "POST" and all(form.is_valid() for _, form in forms_by_prep):
        outputs = {prep.pk: form.output() for prep, form in forms_by_prep}
        try:
            services.run_complete(actor=request.user, run=run, outputs=outputs)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Run {run.code} completed: {len(preparations)} EV preparation(s).")
            return redirect("evlims:run-detail", pk=run.pk)
    return render(
        request,
        "evlims/runs/complete.html",
        {"run": run, "forms": forms_by_prep, "errors": errors, "stages": WIZARD_STAGES},
    )


@member_view
def run_abort(request, pk):
    run = scoped(selectors.run_get, request.user, pk)
    ensure_writer(request.user)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.run_abort(actor=request.user, run=run, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            for key, messages_ in error.message_dict.items():
                form.add_error("reason" if key == "abort_reason" else None, messages_)
        else:
            messages.warning(request, f"Run {run.code} aborted.")
            return redirect("evlims:run-detail", pk=run.pk)
    return render(request, "evlims/runs/abort.html", {"run": run, "form": form})


@member_view
def run_edit(request, pk):
    """Correct a run's record (equipment, start and completion times); approvals of its preparations are voided."""
    run = scoped(selectors.run_get, request.user, pk)
    ensure_writer(request.user)
    form = RunEditForm(request.POST or None, instance=run)
    approvals = affected_approvals(run=run)
    reason_required_when_locked(form, approvals)
    saved = save_versioned_edit(
        request,
        form,
        stored=lambda: selectors.run_get(request.user, pk),
        update=lambda record, **edit: services.run_update(run=record, **edit),
    )
    if saved is not None:
        messages.success(request, f"Run {saved.code} saved.")
        return redirect("evlims:run-detail", pk=saved.pk)
    context = {"run": run, "form": form, "affected_approvals": approvals}
    return render(request, "evlims/runs/edit.html", context)
