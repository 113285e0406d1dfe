"""EV preparations: the filtered list, and the preparation page (identity, results by kind, size distribution,
metrics with their provenance, compliance summary)."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...characterization import selectors
from ...characterization.models import Measurement
from ...core.locks import approvals_affected
from ...core.tenancy import WRITER_ROLES, labs_where
from ...cytometry.selectors import preparation_acquisitions
from ...isolation import services as isolation_services
from ...isolation.models import PreparationState
from ...isolation.selectors import ALL_STATES, preparations_in_state
from ...metrics.compute import (
    small_ev_upper_nm,
)
from ..forms.preparations import FunctionalStudyForm, PreparationEditForm, PreparationFilterForm
from ..forms.results import RESULT_FORMS
from ..reports.results import set_aside_rows
from . import list_specs
from .approvals import reason_required_when_locked
from .common import ensure_writer, member_view, run_service, save_versioned_edit, scoped
from .lists import list_response
from .preparation_page import (
    PURITY_SOURCE,
    _one_to_one,
    compliance_summary,
    functional_studies_view,
    grouped_results,
    metric_rows,
    preparation_results,
    size_plot,
    storage_view,
)
from .standards_presenters import preparation_standards


@member_view
def preparation_list(request):
    form = PreparationFilterForm(
        request.GET or None,
        runs=selectors.runs_with_preparations(request.user, selected=request.GET.get("run")),
        methods=selectors.isolation_methods(request.user),
    )
    preparations = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        preparations = selectors.preparation_list(
            request.user,
            run=data.get("run"),
            biofluid=data.get("biofluid", ""),
            method=data.get("method", ""),
            search=data.get("q", "").strip(),
        )
        # Produced preparations only, unless asked: a planned run's barcodes are issued for its labels.
        state = ALL_STATES if data.get("include_unproduced") else PreparationState.PRODUCED
        preparations = preparations_in_state(preparations, state)
    return list_response(
        request, list_specs.PREPARATIONS, preparations, "evlims/preparations/list.html", {"form": form}
    )


@member_view
def preparation_detail(request, pk):
    preparation = scoped(selectors.preparation_get, request.user, pk)
    measurements = preparation_results(preparation)
    bins = selectors.size_bins(m.pk for m in measurements if m.kind == Measurement.Kind.PARTICLE)
    input_counts = selectors.input_sample_counts(preparation)
    metrics = _one_to_one(preparation, "metrics")
    latest = max((m.created_at for m in measurements), default=None)
    context = {
        "preparation": preparation,
        "run": preparation.run,
        "sample": preparation.input_aliquot.sample,
        "groups": grouped_results(measurements, bins),
        "set_aside": set_aside_rows(selectors.results_set_aside([preparation.pk])),
        "plot": size_plot(measurements, bins),
        "small_ev_nm": small_ev_upper_nm(),
        "metrics": metrics,
        "metrics_stale": bool(metrics and latest and metrics.computed_at < latest),
        "metric_rows": metric_rows(preparation, metrics, measurements, bins, input_counts),
        "input_counts": input_counts,
        "compliance": compliance_summary(_one_to_one(preparation, "evaluation")),
        "storage": storage_view(preparation, measurements),
        "functional_studies": functional_studies_view(preparation),
        "purity_source": PURITY_SOURCE,
        "result_kinds": [(kind, title) for kind, (_, title) in RESULT_FORMS.items()],
        "can_write": preparation.lab_id in labs_where(request.user, WRITER_ROLES),
        "standards": preparation_standards(preparation),
        "flow_acquisitions": preparation_acquisitions(preparation.pk),
    }
    return render(request, "evlims/preparations/detail.html", context)


@member_view
def preparation_edit(request, pk):
    """Storage of the preparation and what is claimed about it (the isolation services write)."""
    preparation = scoped(selectors.preparation_get, request.user, pk)
    ensure_writer(request.user)
    form = PreparationEditForm(request.POST or None, instance=preparation)
    approvals = approvals_affected([preparation.pk])
    reason_required_when_locked(form, approvals)
    saved = save_versioned_edit(
        request,
        form,
        stored=lambda: selectors.preparation_get(request.user, pk),
        update=lambda record, **edit: isolation_services.preparation_update(prep=record, **edit),
    )
    if saved is not None:
        messages.success(request, f"Preparation {saved.barcode} saved.")
        return redirect("evlims:preparation-detail", pk=saved.pk)
    context = {
        "form": form,
        "preparation": preparation,
        "title": f"Storage and claims of {preparation.barcode}",
        "affected_approvals": approvals,
    }
    return render(request, "evlims/preparations/edit.html", context)


@member_view
def preparation_functional_study(request, pk):
    """Add a functional study done with the preparation."""
    preparation = scoped(selectors.preparation_get, request.user, pk)
    ensure_writer(request.user)
    form = FunctionalStudyForm(request.POST or None, initial={"version": preparation.version})
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: isolation_services.preparation_add_functional_study(
                prep=preparation,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
                study=form.study(),
            ),
            aliases={"functional_studies": "assay"},
        )
        if saved is not None:
            messages.success(request, f"Functional study added to {saved.barcode}.")
            return redirect("evlims:preparation-detail", pk=saved.pk)
    context = {"form": form, "preparation": preparation, "title": f"Add a functional study to {preparation.barcode}"}
    return render(request, "evlims/preparations/functional_study.html", context)
