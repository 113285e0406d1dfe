"""Donor list, detail, registration and edit."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...core.tenancy import WRITER_ROLES, ensure_can_write, labs_where
from ...samples import selectors, services
from ...samples.services.donors import DONOR_EVIDENCE_FIELDS
from ..forms.donors import DonorCreateForm, DonorEditForm, DonorSearchForm
from . import list_specs
from .approvals import affected_approvals, reason_required_when_locked
from .common import ensure_writer, member_view, run_service, save_versioned_edit, scoped
from .lists import list_response


@member_view
def donor_list(request):
    form = DonorSearchForm(request.GET or None)
    search = form.cleaned_data["q"].strip() if form.is_valid() else ""
    context = {"form": form, "can_write": bool(labs_where(request.user, WRITER_ROLES))}
    donors = selectors.donor_list(request.user, search=search)
    return list_response(request, list_specs.DONORS, donors, "evlims/donors/list.html", context)


@member_view
def donor_detail(request, pk):
    donor = scoped(selectors.donor_get, request.user, pk)
    context = {
        "donor": donor,
        "samples": selectors.donor_samples(donor),
        "can_write": donor.lab_id in labs_where(request.user, WRITER_ROLES),
    }
    return render(request, "evlims/donors/detail.html", context)


@member_view
def donor_create(request):
    ensure_writer(request.user)
    form = DonorCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        lab, record = form.cleaned_data["lab"], form.record()
        donor = run_service(
            form,
            lambda: services.donor_create(actor=request.user, lab=lab, reason="Registered on the donor page", **record),
        )
        if donor is not None:
            messages.success(request, f"Donor {donor.code} registered.")
            return redirect("evlims:donor-detail", pk=donor.pk)
    return render(request, "evlims/donors/form.html", {"form": form, "title": "Register a donor"})


@member_view
def donor_edit(request, pk):
    donor = scoped(selectors.donor_get, request.user, pk)
    # The role in the donor's own lab decides, so a reader there gets the 403 page rather than a form whose
    # project choices (the lab's projects they may write to) are empty.
    ensure_can_write(request.user, donor.lab_id)
    form = DonorEditForm(request.POST or None, instance=donor, user=request.user)
    approvals = affected_approvals(donor=donor)
    reason_required_when_locked(form, approvals)
    saved = save_versioned_edit(
        request,
        form,
        stored=lambda: selectors.donor_get(request.user, pk),
        update=lambda record, **edit: services.donor_update(donor=record, **edit),
    )
    if saved is not None:
        messages.success(request, f"Donor {saved.code} saved.")
        return redirect("evlims:donor-detail", pk=saved.pk)
    return render(
        request,
        "evlims/donors/form.html",
        {
            "form": form,
            "title": f"Edit donor {donor.code}",
            "donor": donor,
            "affected_approvals": approvals,
            "evidence_fields": [form.fields[name].label for name in sorted(DONOR_EVIDENCE_FIELDS)],
        },
    )
