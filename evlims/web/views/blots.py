"""A western blot entered as one form: shared details, lanes × markers, the image; recorded by
characterization.blots.blot_record, all or nothing. Lanes and markers are added without reloading
(static/evlims/js/blot-grid.js) or, without scripts, by the "Add a lane" and "Add a marker" buttons."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from ...characterization import selectors
from ...characterization.blots import blot_image_keep, blot_record
from ...core.errors import NotFound
from ...core.ids import parse_id
from ...core.locks import approvals_affected
from ...instruments.recording import placed_message
from ...isolation.selectors import preparations_for
from ..forms.blots import BANDS, BlotForm, BlotGrid
from .common import ensure_writer, member_view, scoped

LYSATE_FIELDS = {
    "lysate.buffer": "lysate_buffer",
    "lysate.protocol": "lysis_protocol",
    "lysate.reducing": "lysate_reducing",
    "lysate.protein_loaded_ug": "protein_loaded_ug",
    "lysate.compared_with_source": "compared_with_source_lysate",
}
RESENT = "This form was recorded already with other values; open a new blot form to record another blot."


def _kept_image(user, form):
    """The image a refused attempt kept (its id sent back by the form), if it is of the user's labs."""
    pk = parse_id(form.data.get("kept_image", "")) if form.is_bound else None
    if pk is None:
        return None
    try:
        return selectors.raw_file_get(user, pk)
    except NotFound:
        return None


def _remember_image(form, raw) -> None:
    """The re-shown form sends the kept image back, so the person need not attach it again."""
    if raw is not None:
        form.data = form.data.copy()
        form.data["kept_image"] = str(raw.pk)


def _place(form, grid, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages_ in error.message_dict.items():
        if grid.place(key, messages_):
            continue
        field = LYSATE_FIELDS.get(key, key)
        if key == "Idempotency-Key":
            form.add_error(None, RESENT)
        elif field in form.fields and field not in ("blot_token", "kept_image"):
            form.add_error(field, messages_)
        else:
            form.add_error(None, [placed_message(key, message) for message in messages_])


def _blot(form, grid) -> dict | None:
    """The blot as the service takes it, or None when the form or the grid found a problem."""
    valid = form.is_valid()
    markers, lanes = grid.blot_parts()
    if not valid or grid.has_errors:
        return None
    data = form.cleaned_data
    blot = {"method": data["method"], "markers": markers, "lanes": lanes}
    if data.get("measured_at"):
        blot["measured_at"] = data["measured_at"].isoformat()
    if form.lysate():
        blot["lysate"] = form.lysate()
    return blot


def _lab_id(form):
    value = form.data.get("lab") if form.is_bound else form.initial.get("lab") or form.fields["lab"].initial
    return parse_id(str(value or ""))


def _affected(user, form, grid) -> list[dict]:
    barcodes = grid.typed_barcodes()
    if not barcodes:
        return []
    preparations = preparations_for(user).filter(barcode__in=barcodes)
    lab_id = _lab_id(form)
    if lab_id is not None:
        preparations = preparations.filter(lab_id=lab_id)
    return approvals_affected(list(preparations.values_list("pk", flat=True)))


def _recorded(request, ingestion, measurements, replayed):
    proteins = sorted({m.values.get("protein", "") for m in measurements})
    if not replayed:
        messages.success(
            request,
            f"Blot recorded: {len(measurements)} marker result{'s' if len(measurements) != 1 else ''} "
            f"({', '.join(proteins)}).",
        )
    preparations = {m.preparation_id for m in measurements}
    if len(preparations) == 1:
        return redirect(
            f"{reverse('evlims:preparation-detail', args=[preparations.pop()])}#measurement-{measurements[0].pk}"
        )
    return redirect("evlims:ingestion-detail", pk=ingestion.pk)


@member_view
def blot_new(request):
    ensure_writer(request.user)
    preparation = None
    preparation_id = parse_id(request.GET.get("preparation", ""))
    if preparation_id is not None:
        preparation = scoped(selectors.preparation_get, request.user, preparation_id)
    posted = request.method == "POST"
    initial = {"lab": preparation.lab_id} if preparation else None
    form = BlotForm(
        request.POST if posted else None, request.FILES if posted else None, user=request.user, initial=initial
    )
    grid = BlotGrid(request.POST if posted else None, first_preparation=preparation.barcode if preparation else "")
    kept = _kept_image(request.user, form)
    if posted and request.POST.get("add") not in ("lane", "marker"):
        blot = _blot(form, grid)
        lab = form.cleaned_data.get("lab")
        image = form.cleaned_data.get("image")
        try:
            if blot is None:
                if lab is not None and image is not None:  # kept now, so it need not be attached again
                    kept = blot_image_keep(actor=request.user, lab=lab, image=image)
            else:
                ingestion, measurements, replayed = blot_record(
                    actor=request.user,
                    lab=lab,
                    blot=blot,
                    image=image or kept,
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"blot:{form.cleaned_data['blot_token']}",
                )
                return _recorded(request, ingestion, measurements, replayed)
        except ValidationError as error:
            kept = getattr(error, "raw_file", None) or kept
            _place(form, grid, error)
    _remember_image(form, kept)
    context = {
        "form": form,
        "grid": grid,
        "bands": BANDS,
        "kept": kept,
        "preparation": preparation,
        "affected_approvals": _affected(request.user, form, grid),
        "barcodes": selectors.preparation_barcodes(_lab_id(form)) if _lab_id(form) else [],
    }
    return render(request, "evlims/results/blot_form.html", context)
