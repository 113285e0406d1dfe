"""Inter-laboratory comparisons in the browser: the coordinator defines a round, enrols labs, adds items,
records the material's checks, ships, closes and reads every score; a participant sees the items it received,
reports a result on each, and reads its own scores and the summary by participant code."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...characterization.models import Measurement
from ...core.tenancy import WRITER_ROLES, labs_where, visible_lab_ids
from ...interlab import payloads, scoring, selectors, services
from ...interlab.models import ComparisonScheme
from ...samples.models import Aliquot
from ..forms.interlab import ChecksForm, EnrolForm, ItemForm, ReasonForm, ResultForm, RoundCreateForm
from .common import member_view, run_service


def _round(request, pk):
    try:
        return selectors.round_get(request.user, pk)
    except Http404:
        raise Http404("No such round in your labs.") from None


def round_context(request, round_) -> dict:
    coordinator = selectors.is_coordinator(request.user, round_)
    assessment = scoring.assess(round_)
    stats = payloads.round_statistics(assessment, coordinator=coordinator, own_lab_ids=visible_lab_ids(request.user))
    return {
        "round": round_,
        "coordinator": coordinator,
        "may_coordinate": selectors.may_coordinate(request.user, round_),
        "stats": stats,
        "score_keys": payloads.SCORE_LABELS,
        "participants": round_.participants.select_related("lab").order_by("code") if coordinator else [],
        "items": round_.items.select_related("participant__lab", "aliquot").order_by("code") if coordinator else [],
        "received": selectors.received_items(request.user, round_).order_by("code"),
        "own_codes": [p.code for p in selectors.own_participations(request.user, round_)],
    }


@member_view
def comparison_list(request):
    rounds = selectors.rounds_for(request.user).order_by("-created_at")
    context = {
        "rounds": [(r, selectors.is_coordinator(request.user, r)) for r in rounds],
        "received": selectors.received_items(request.user).order_by("-created_at")[:50],
        "can_define": bool(labs_where(request.user, WRITER_ROLES)),
    }
    return render(request, "evlims/interlab/list.html", context)


@member_view
def round_create(request):
    form = RoundCreateForm(request.POST or None, user=request.user)
    if not form.fields["lab"].queryset.exists():
        raise PermissionDenied("Only lab staff and lab admins can run comparisons.")
    if request.method == "POST" and form.is_valid():
        round_ = run_service(form, lambda: _create_round(request.user, form.cleaned_data))
        if round_ is not None:
            messages.success(
                request, f"Round {round_.code} of {round_.scheme.code} opened; enrol the participant labs."
            )
            return redirect("evlims:comparison-round", pk=round_.pk)
    return render(request, "evlims/interlab/round_form.html", {"form": form})


@transaction.atomic
def _create_round(user, data):
    """The scheme named by its code (defined first when the lab has none by that code), then its round."""
    scheme = ComparisonScheme.objects.filter(lab=data["lab"], code=data["scheme_code"].strip()).first()
    if scheme is None:
        scheme = services.scheme_create(
            actor=user,
            lab=data["lab"],
            code=data["scheme_code"],
            name=data["scheme_name"] or data["scheme_code"],
            quantity=data["quantity"],
        )
    fields = ("code", "material", "sigma_pt", "sigma_pt_basis", "assigned_from", "reference_value", "results_due")
    return services.round_create(
        actor=user,
        scheme=scheme,
        reference_uncertainty=data["reference_uncertainty"],
        reference_lot=data["reference_lot"],
        **{name: data[name] for name in fields},
    )


@member_view
def round_detail(request, pk):
    round_ = _round(request, pk)
    context = round_context(request, round_)
    if context["may_coordinate"]:
        context |= {
            "enrol_form": EnrolForm(round=round_),
            "item_form": ItemForm(round=round_),
            "checks_form": ChecksForm(
                initial={
                    "homogeneity": "\n".join(", ".join(repr(v) for v in pair) for pair in round_.homogeneity_pairs),
                    "stability_before": ", ".join(repr(v) for v in round_.stability_before),
                    "stability_after": ", ".join(repr(v) for v in round_.stability_after),
                }
            ),
            "reason_form": ReasonForm(),
        }
    return render(request, "evlims/interlab/round.html", context)


def _coordinated(request, pk):
    round_ = _round(request, pk)
    if not selectors.may_coordinate(request.user, round_):
        raise PermissionDenied("Only the coordinating lab's staff can do this.")
    return round_


def _after(request, round_, form, done: str):
    if form.errors:
        for field, errors in form.errors.items():
            name = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{name}: {error}" if name else error)
    else:
        messages.success(request, done)
    return redirect("evlims:comparison-round", pk=round_.pk)


@member_view
@require_POST
def round_enrol(request, pk):
    round_ = _coordinated(request, pk)
    form = EnrolForm(request.POST, round=round_)
    if form.is_valid():
        run_service(
            form, lambda: services.participant_enrol(actor=request.user, round=round_, lab=form.cleaned_data["lab"])
        )
    return _after(request, round_, form, "Participant enrolled; it was given a code the others will see.")


@member_view
@require_POST
def round_item(request, pk):
    round_ = _coordinated(request, pk)
    form = ItemForm(request.POST, round=round_)
    if form.is_valid():
        barcode = form.cleaned_data["aliquot"].strip()
        aliquot = Aliquot.objects.filter(lab_id=round_.lab_id, barcode=barcode).first() if barcode else None
        if barcode and aliquot is None:
            form.add_error("aliquot", f"Your lab has no aliquot {barcode}.")
        else:
            run_service(
                form,
                lambda: services.item_add(
                    actor=request.user,
                    participant=form.cleaned_data["participant"],
                    code=form.cleaned_data["code"],
                    aliquot=aliquot,
                ),
            )
    return _after(request, round_, form, "Item added.")


@member_view
@require_POST
def round_checks(request, pk):
    round_ = _coordinated(request, pk)
    form = ChecksForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        run_service(
            form,
            lambda: services.round_checks_record(
                actor=request.user,
                round=round_,
                homogeneity_pairs=data["homogeneity_pairs"],
                stability_before=data["stability_before"],
                stability_after=data["stability_after"],
            ),
            aliases={"homogeneity_pairs": "homogeneity"},
        )
    return _after(request, round_, form, "Homogeneity and stability results saved.")


@member_view
@require_POST
def round_ship(request, pk):
    round_ = _coordinated(request, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.round_ship(actor=request.user, round=round_, reason=form.cleaned_data["reason"])
        )
    return _after(request, round_, form, "Items shipped; the participants can now report their results.")


@member_view
@require_POST
def round_close(request, pk):
    round_ = _coordinated(request, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.round_close(actor=request.user, round=round_, reason=form.cleaned_data["reason"])
        )
    return _after(request, round_, form, "Round closed and scored; the participants can read their scores.")


@member_view
def item_result(request, pk):
    item = selectors.received_items(request.user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such item sent to your labs.")
    if item.participant.lab_id not in labs_where(request.user, WRITER_ROLES):
        raise PermissionDenied("Only the participant lab's staff can report its result.")
    measurements = Measurement.objects.filter(lab_id=item.participant.lab_id).select_related(
        "preparation", "input_sample"
    )
    result = getattr(item, "result", None)
    initial = {}
    if result is not None:
        initial = {
            "value": result.value,
            "standard_uncertainty": result.standard_uncertainty,
            "coverage_factor": result.coverage_factor,
            "method": result.method,
        }
    form = ResultForm(request.POST or None, measurements=measurements.order_by("-measured_at")[:200], initial=initial)
    if request.method == "POST" and form.is_valid():
        reported = run_service(form, lambda: services.result_report(actor=request.user, item=item, **form.cleaned_data))
        if reported is not None:
            messages.success(request, f"Result on {item.code} reported.")
            return redirect("evlims:comparison-round", pk=item.round_id)
    return render(request, "evlims/interlab/result_form.html", {"form": form, "item": item})
