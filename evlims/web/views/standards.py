"""Reference materials, spikes, tracer readouts and dilution series pages, and the method league table
(docs/standardization.md). Every write goes through the standards services."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...core.tenancy import WRITER_ROLES, labs_where
from ...metrics.league import league_table
from ...standards import services
from ...standards.recovery import recoveries, user_recoveries, with_related
from ...standards.selectors import lot_get, lots_for, readouts_for, series_for, series_get, spikes_for
from ..display import label
from ..forms.standards import LotForm, ReadoutForm, SeriesForm, SpikeForm
from .common import ensure_writer, member_view, run_service, scoped
from .standards_presenters import league_rows, linearity_view, recovery_rows, summaries

RECENT = 50


@member_view
def standards_home(request):
    user = request.user
    rows = user_recoveries(user)
    context = {
        "lots": lots_for(user).order_by("material", "lot_number")[:RECENT],
        "spikes": spikes_for(user)[:RECENT],
        "recoveries": recovery_rows(rows[-RECENT:][::-1]),
        "summaries": summaries(rows),
        "series": [
            {"record": item, "linearity": linearity_view(item)}
            for item in series_for(user).order_by("-measured_at", "-id")[:RECENT]
        ],
        "can_write": bool(labs_where(user, WRITER_ROLES)),
    }
    return render(request, "evlims/standards/home.html", context)


def _form_page(request, form, title: str, intro: str = ""):
    return render(request, "evlims/standards/form.html", {"form": form, "title": title, "intro": intro})


@member_view
def lot_new(request):
    ensure_writer(request.user)
    form = LotForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        lot = run_service(form, lambda: services.reference_lot_create(actor=request.user, **form.cleaned_data))
        if lot is not None:
            messages.success(request, f"{lot} recorded.")
            return redirect("evlims:standards-lot", pk=lot.pk)
    return _form_page(request, form, "Record a reference-material lot", "As its certificate gives it.")


@member_view
def lot_detail(request, pk):
    lot = scoped(lot_get, request.user, pk)
    readouts = with_related(readouts_for(request.user).filter(spike__lot=lot)).order_by("-measured_at", "-id")
    context = {
        "lot": lot,
        "spikes": spikes_for(request.user).filter(lot=lot),
        "recoveries": recovery_rows(recoveries(readouts)),
        "can_write": lot.lab_id in labs_where(request.user, WRITER_ROLES),
    }
    return render(request, "evlims/standards/lot.html", context)


@member_view
def spike_new(request):
    ensure_writer(request.user)
    initial = {key: request.GET[key] for key in ("lot", "aliquot", "run") if key in request.GET}
    form = SpikeForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        spike = run_service(form, lambda: services.spike_record(actor=request.user, **form.cleaned_data))
        if spike is not None:
            messages.success(request, f"Spike recorded: {spike}.")
            return redirect("evlims:standards-lot", pk=spike.lot_id)
    return _form_page(request, form, "Record a spike", "A volume of the lot, or an amount in its own unit.")


@member_view
def readout_new(request):
    ensure_writer(request.user)
    initial = {key: request.GET[key] for key in ("spike", "preparation") if key in request.GET}
    form = ReadoutForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        readout = run_service(form, lambda: services.tracer_readout_record(actor=request.user, **form.cleaned_data))
        if readout is not None:
            messages.success(request, f"Tracer readout recorded for {readout.preparation.barcode}.")
            return redirect("evlims:preparation-detail", pk=readout.preparation_id)
    intro = "The tracer measured in a preparation made from the spiked aliquot or run; its recovery follows."
    return _form_page(request, form, "Record a tracer readout", intro)


@member_view
def series_new(request):
    ensure_writer(request.user)
    initial = {key: request.GET[key] for key in ("preparation",) if key in request.GET}
    form = SeriesForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        series = run_service(form, lambda: services.dilution_series_record(actor=request.user, **form.cleaned_data))
        if series is not None:
            messages.success(request, f"Dilution series of {series.preparation.barcode} recorded.")
            return redirect("evlims:standards-series", pk=series.pk)
    intro = "One preparation counted at several dilutions on one counting instrument (NTA, nano-flow, TRPS)."
    return _form_page(request, form, "Record a dilution series", intro)


@member_view
def series_detail(request, pk):
    series = scoped(series_get, request.user, pk)
    return render(request, "evlims/standards/series.html", {"series": series, "linearity": linearity_view(series)})


@member_view
def league(request):
    biofluid = (request.GET.get("biofluid") or "").strip()[:40] or None
    table = league_table(request.user, biofluid=biofluid)
    everything = league_table(request.user) if biofluid else table
    fluids = sorted({row.biofluid for row in everything})
    context = {
        "rows": league_rows(table),
        "biofluids": [(code, label(code, "biofluid")) for code in fluids],
        "biofluid": biofluid,
        "current": "league",
    }
    return render(request, "evlims/standards/league.html", context)
