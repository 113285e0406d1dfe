"""Aliquot actions: split, move, thaw, ship or dispose. Each lands back on the sample page."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...core.tenancy import ensure_can_write
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
    """Record a thaw once confirmed: the sample page's Thaw opens this page, which says what the freeze–thaw
    count becomes (and, for a tube an approved preparation was made from, the approvals the thaw voids and the
    reason, then required). A POST without the page's confirmation only shows the question."""
    aliquot = scoped(selectors.aliquot_get, request.user, pk)
    ensure_can_write(request.user, aliquot.lab_id)  # a reader is not asked a question they cannot answer
    approvals = affected_approvals(aliquot=aliquot)
    confirmed = request.method == "POST" and request.POST.get("confirm") == "1"
    form = AliquotThawForm(request.POST if confirmed else None)
    reason_required_when_locked(form, approvals, field="note")
    if confirmed and form.is_valid():
        thawed = run_service(
            form,
            lambda: services.aliquot_thaw(actor=request.user, aliquot=aliquot, reason=form.cleaned_data["note"]),
            aliases={"reason": "note"},
        )
        if thawed is not None:
            messages.success(request, f"{thawed.barcode} thawed (cycle {thawed.freeze_thaw_count}).")
            return _back_to_sample(aliquot)
    if confirmed and not approvals:
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
