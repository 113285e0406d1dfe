"""Aliquot actions: split, move, thaw, ship or dispose. Each lands back on the sample page."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...samples import selectors, services
from ..forms.aliquots import AliquotMoveForm, AliquotReleaseForm, AliquotSplitForm, AliquotThawForm
from .approvals import affected_approvals, reason_required_when_locked
from .common import member_view, run_service, scoped


def _back_to_sample(aliquot):
    return redirect("evlims:sample-detail", pk=aliquot.sample_id)


def _render(request, template, aliquot, form, **extra):
    return render(request, template, {"aliquot": aliquot, "form": form, **extra})


@member_view
def aliquot_split(request, pk):
    aliquot = scoped(selectors.aliquot_get, request.user, pk)
    form = AliquotSplitForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        children = run_service(
            form,
            lambda: services.aliquot_split(
                actor=request.user, aliquot=aliquot, volumes_ul=data["volumes"], box=data["box"], reason=data["reason"]
            ),
            aliases={"volumes_ul": "volumes"},
        )
        if children is not None:
            messages.success(request, f"{aliquot.barcode} split into {', '.join(c.barcode for c in children)}.")
            return _back_to_sample(aliquot)
    return _render(request, "evlims/aliquots/split.html", aliquot, form)


@member_view
def aliquot_move(request, pk):
    aliquot = scoped(selectors.aliquot_get, request.user, pk)
    initial = {"box": request.GET.get("box")} if request.method == "GET" and request.GET.get("box") else None
    form = AliquotMoveForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        moved = run_service(
            form,
            lambda: services.aliquot_move(
                actor=request.user,
                aliquot=aliquot,
                box=data["box"],
                row=data["row"],
                column=data["column"],
                reason=data["reason"],
            ),
        )
        if moved is not None:
            messages.success(request, f"{moved.barcode} is now in {moved.box.path} at {moved.position_label}.")
            return _back_to_sample(aliquot)
    return _render(request, "evlims/aliquots/move.html", aliquot, form)


@member_view
def aliquot_thaw(request, pk):
    """Record a thaw (a button on the sample page). A tube an approved preparation was made from has a page of
    its own first: the approvals the thaw voids, and the reason, which is then required."""
    aliquot = scoped(selectors.aliquot_get, request.user, pk)
    approvals = affected_approvals(aliquot=aliquot)
    form = AliquotThawForm(request.POST if request.method == "POST" else None)
    reason_required_when_locked(form, approvals, field="note")
    if request.method == "POST" and form.is_valid():
        thawed = run_service(
            form,
            lambda: services.aliquot_thaw(actor=request.user, aliquot=aliquot, reason=form.cleaned_data["note"]),
            aliases={"reason": "note"},
        )
        if thawed is not None:
            messages.success(request, f"{thawed.barcode} thawed (cycle {thawed.freeze_thaw_count}).")
            return _back_to_sample(aliquot)
    if request.method == "POST" and not approvals:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{aliquot.barcode} was not thawed: {error}")
        return _back_to_sample(aliquot)
    return _render(request, "evlims/aliquots/thaw.html", aliquot, form, affected_approvals=approvals)


@member_view
def aliquot_release(request, pk):
    aliquot = scoped(selectors.aliquot_get, request.user, pk)
    form = AliquotReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        released = run_service(
            form,
            lambda: services.aliquot_release(
                actor=request.user,
                aliquot=aliquot,
                kind=data["kind"],
                reason=data["reason"],
                destination=data["destination"],
            ),
        )
        if released is not None:
            messages.success(request, f"{released.barcode} marked {released.get_status_display().lower()}.")
            return _back_to_sample(aliquot)
    return _render(request, "evlims/aliquots/release.html", aliquot, form)
