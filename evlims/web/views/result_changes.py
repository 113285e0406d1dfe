"""A result's page (what it says now and every version before it) and its correction and voiding, offered to
those who may (characterization.corrections.may_change): the recorder, or a lab admin of its lab."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from ...characterization import selectors
from ...characterization.corrections import may_change, preparations_resting_on, result_correct, result_void
from ...characterization.models import Measurement
from ...core.locks import approvals_affected
from ...instruments.recording import placed_message
from ..forms.result_changes import (
    ResultCorrectionReasonForm,
    ResultVoidForm,
    kept_particle_parts,
    result_initial,
)
from ..forms.results import RESULT_FORMS
from ..reports.results import result_summary, status_text
from ..reports.standard_curve import standard_curve_figure
from .common import add_service_errors, member_view, scoped


def _subject(measurement):
    return measurement.preparation or measurement.input_sample


def _versions(measurement) -> list[dict]:
    return [
        {
            "measurement": version,
            "summary": result_summary(version),
            "status": status_text(version),
            "is_this": version.pk == measurement.pk,
        }
        for version in selectors.version_chain(measurement)
    ]


def _changeable(request, measurement):
    """The result, if the user may change it and it is current; None (with a message) otherwise."""
    if not may_change(request.user, measurement):
        messages.error(request, "Only the person who recorded this result or a lab admin of its lab may change it.")
        return None
    if measurement.status != Measurement.Status.CURRENT:
        messages.error(request, f"This result is {measurement.get_status_display().lower()}: it cannot be changed.")
        return None
    return measurement


def _context(measurement, **extra) -> dict:
    return {
        "measurement": measurement,
        "subject": _subject(measurement),
        "summary": result_summary(measurement),
        "affected_approvals": approvals_affected(preparations_resting_on(measurement)),
        **extra,
    }


def protein_curve(measurement) -> dict | None:
    """A protein result's stored standard curve, with the samples of the plate it was read from when that plate's
    stored curve is this one (the result came from that upload unchanged)."""
    protein = getattr(measurement, "protein", None) if measurement.kind == Measurement.Kind.PROTEIN else None
    if protein is None or not protein.standard_curve:
        return None
    parsed = measurement.ingestion.parsed if measurement.ingestion_id else {}
    samples = (parsed or {}).get("samples") if (parsed or {}).get("standard_curve") == protein.standard_curve else []
    wavelength = ((parsed or {}).get("plate") or {}).get("wavelength_nm")
    return standard_curve_figure(protein.standard_curve, samples, wavelength_nm=wavelength)


@member_view
def result_detail(request, pk):
    measurement = scoped(selectors.measurement_get, request.user, pk)
    context = _context(
        measurement,
        versions=_versions(measurement),
        status=status_text(measurement),
        can_change=measurement.status == Measurement.Status.CURRENT and may_change(request.user, measurement),
        correctable=measurement.kind in RESULT_FORMS,
        curve=protein_curve(measurement),
    )
    return render(request, "evlims/results/result_detail.html", context)


def _document_errors(form, error: ValidationError) -> None:
    """The service names the document's fields (marker.protein); each goes on the form field that supplied it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for path, messages_ in error.message_dict.items():
        field = form.field_for(path)
        form.add_error(field, messages_ if field else [placed_message(path, message) for message in messages_])


@member_view
def result_correct_view(request, pk):
    measurement = scoped(selectors.measurement_get, request.user, pk)
    if _changeable(request, measurement) is None:
        return redirect("evlims:result-detail", pk=measurement.pk)
    form_class, title = RESULT_FORMS[measurement.kind]
    extra = {"kind": measurement.kind} if measurement.kind in ("lipid", "rna") else {}
    posted = request.method == "POST"
    form = form_class(request.POST if posted else None, initial=result_initial(measurement), **extra)
    form.fields.pop("images", None)  # a corrected imaging result keeps the image files of the result
    reason_form = ResultCorrectionReasonForm(request.POST if posted else None)
    if posted and form.is_valid() and reason_form.is_valid():
        document = form.document(_subject(measurement))
        if measurement.input_sample_id:
            document["input_sample"] = document.pop("preparation")
        if measurement.kind == Measurement.Kind.PARTICLE:
            document["particle"] |= kept_particle_parts(measurement)
        try:
            correction = result_correct(
                actor=request.user,
                measurement=measurement,
                document=document,
                reason=reason_form.cleaned_data["reason"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "reason" in error.error_dict:
                reason_form.add_error("reason", error.message_dict["reason"])
            else:
                _document_errors(form, error)
        else:
            messages.success(request, f"Result corrected: {result_summary(correction)}. The old value is kept.")
            return redirect("evlims:result-detail", pk=correction.pk)
    context = _context(measurement, form=form, reason_form=reason_form, kind=measurement.kind, title=title)
    return render(request, "evlims/results/result_correct.html", context)


@member_view
def result_void_view(request, pk):
    measurement = scoped(selectors.measurement_get, request.user, pk)
    if _changeable(request, measurement) is None:
        return redirect("evlims:result-detail", pk=measurement.pk)
    form = ResultVoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result_void(actor=request.user, measurement=measurement, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Result voided: {result_summary(measurement)}. It is kept, marked void.")
            subject = measurement.preparation
            if subject is not None:
                return redirect(f"{reverse('evlims:preparation-detail', args=[subject.pk])}#results-set-aside")
            return redirect("evlims:result-detail", pk=measurement.pk)
    return render(request, "evlims/results/result_void.html", _context(measurement, form=form))
