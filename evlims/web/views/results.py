"""Results: instrument file upload → preview → mapping to preparations → commit, the list of uploads and
instrument posts, raw file downloads, and results typed by hand."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ...characterization import selectors
from ...characterization.services import imaging_record_with_images, record_results, validate_results
from ...compliance.markers import marker_vocabulary
from ...core.ids import parse_id
from ...core.locks import approvals_affected
from ...core.tenancy import WRITER_ROLES, ensure_role, labs_where, role_in
from ...instruments.models import Ingestion
from ...instruments.recording import placed_message, result_error_place
from ...instruments.services import (
    PARTICLE_FORMATS,
    acquisition_time,
    dilution_suggestions,
    file_ingestion,
    raw_file_store,
    uploads,
)
from ...isolation.selectors import preparations_for
from ..forms.results import RESULT_FORMS
from ..forms.uploads import IngestionMappingForm, ResultUploadForm
from ..reports.plots import Series, coarse_table, size_distribution_svg
from ..reports.standard_curve import standard_curve_figure
from . import list_specs
from .common import add_service_errors, ensure_writer, member_view, scoped
from .lists import list_response

# Raw files are always sent as attachments; only these types keep their own content type (so an
# <img> can show them). Anything else goes out as opaque bytes and is never rendered by the browser.
DISPLAYABLE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PLATE_FORMATS = frozenset({"softmax", "ensight", "gen5", "envision"})


@member_view
def ingestion_list(request):
    ingestions = selectors.ingestions_for(request.user)
    status = request.GET.get("status", "")
    if status in Ingestion.Status.values:
        ingestions = ingestions.filter(status=status)
    context = {
        "status": status,
        "statuses": Ingestion.Status.choices,
        "can_write": bool(labs_where(request.user, WRITER_ROLES)),
    }
    return list_response(request, list_specs.INGESTIONS, ingestions, "evlims/results/ingestion_list.html", context)


@member_view
def result_upload(request):
    ensure_writer(request.user)
    instruments = selectors.instruments_for(request.user, labs_where(request.user, WRITER_ROLES))
    initial = {"preparation": request.GET.get("preparation", "").strip()[:40]} if request.method == "GET" else None
    form = ResultUploadForm(
        request.POST or None, request.FILES or None, user=request.user, instruments=instruments, initial=initial
    )
    kept = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The upload service skips its role check when an instrument is named (instrument posts are
        # authenticated by key), so a person's upload is checked here.
        ensure_role(request.user, data["lab"].pk, WRITER_ROLES, "upload instrument files")
        content = data["file"].read()
        try:
            ingestion, replayed = file_ingestion.file_upload(
                actor=request.user,
                lab=data["lab"],
                data=content,
                name=data["file"].name,
                file_format=data["file_format"],
                instrument=data["instrument"],
                idempotency_key=f"upload:{data['upload_token']}",
                content_type=data["file"].content_type or "",
                parse_options=form.parse_options(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
            kept = getattr(error, "ingestion", None)  # a file the parser refused is kept (FileRejected)
            form.renew_token()
        else:
            if not replayed:
                messages.info(request, "File kept and read. Check the preview, then map its samples to preparations.")
            url = reverse("evlims:ingestion-detail", args=[ingestion.pk])
            if data["preparation"]:
                url += "?" + urlencode({"preparation": data["preparation"].strip()})
            return redirect(url)
    return render(request, "evlims/results/upload.html", {"form": form, "kept": kept})


def _chosen_preparation(request, ingestion) -> str:
    """The preparation the upload started from (?preparation=), when it names one of the ingestion's lab."""
    barcode = request.GET.get("preparation", "").strip()[:40] if request.method == "GET" else ""
    if not barcode:
        return ""
    if preparations_for(request.user).filter(lab_id=ingestion.lab_id, barcode=barcode).exists():
        return barcode
    messages.warning(request, f"No preparation {barcode} in {ingestion.lab.name}: map the samples below.")
    return ""


def _dilution_text(sample: dict) -> str:
    factor = sample.get("dilution_factor")
    if factor is None:
        return "Not recorded in the file: its concentrations are as measured in the cell."
    if sample.get("dilution_applied_in_file"):
        return f"×{factor:g}, recorded in the file and already applied to its concentrations."
    return f"×{factor:g}, recorded in the file; applied here to the cell concentrations to give the stock."


def _difference_pct(recomputed, average):
    if recomputed is None or not average:
        return None
    return 100 * (recomputed - average) / average


def particle_preview(samples: list[dict]) -> list[dict]:
    """What the preview shows of each particle sample: figures, dilution, captures, plot and its numbers."""
    shown = []
    for sample in samples:
        histogram = sample.get("histogram") or {}
        centres, values = histogram.get("bin_center_nm") or [], histogram.get("concentration_per_ml") or []
        captures = sample.get("captures") or []
        shown.append(
            {
                "sample": sample,
                "in_cell": sample.get("dilution_factor") is None,
                "dilution_text": _dilution_text(sample),
                "difference_pct": _difference_pct(
                    sample.get("concentration_per_ml"), sample.get("instrument_average_concentration_per_ml")
                ),
                "captures": captures,
                "invalid_count": sum(1 for capture in captures if not capture.get("valid")),
                "plot": size_distribution_svg([Series(sample.get("name", ""), centres, values)]),
                "table": coarse_table(centres, values),
            }
        )
    return shown


def plate_rows(plate: dict | None) -> list[tuple[str, list]]:
    """The plate's absorbances as (row letter, [reading per column]) for a grid table."""
    if not plate:
        return []
    readings = plate.get("absorbance") or {}
    return [(row, [readings.get(f"{row}{column}") for column in plate["columns"]]) for row in plate["rows"]]


def _commit(request, ingestion, form) -> bool:
    """Commit through the instruments' service, which puts each refusal on the sample it concerns."""
    mapping = form.mapping()
    try:
        uploads.file_commit_by_sample(
            actor=request.user,
            ingestion=ingestion,
            mapping=mapping,
            dilutions=form.dilutions(),
            calibration=form.cleaned_data.get("calibration", ""),
            keep_invalid_captures=form.cleaned_data.get("keep_invalid_captures", False),
            measured_at=form.cleaned_data.get("measured_at"),
            reason=form.cleaned_data.get("reason", ""),
        )
    except uploads.CommitRefused as refused:
        for key, messages_ in refused.errors.items():
            if key == "mapping" and isinstance(messages_, dict):
                for name, for_sample in messages_.items():
                    form.add_error(form.field_of(name), for_sample)
            else:
                form.add_error("reason" if key == "reason" else None, messages_)
        return False
    messages.success(
        request, f"{len(mapping)} result{'s' if len(mapping) != 1 else ''} recorded from ingestion #{ingestion.pk}."
    )
    return True


def _affected_approvals(user, ingestion, form) -> list[dict]:
    """The approvals committing to the preparations typed in the form would void (shown before saving)."""
    barcodes = form.typed_barcodes()
    if not barcodes:
        return []
    ids = preparations_for(user).filter(lab_id=ingestion.lab_id, barcode__in=barcodes).values_list("pk", flat=True)
    return approvals_affected(list(ids))


@member_view
def ingestion_detail(request, pk):
    ingestion = scoped(selectors.ingestion_get, request.user, pk)
    parsed = ingestion.parsed or {}
    file_format = parsed.get("format")
    particle = file_format in PARTICLE_FORMATS
    samples = parsed.get("samples") or []
    mappable = [s for s in samples if particle or (file_format in PLATE_FORMATS and "protein_ug_per_ml" in s)]
    can_write = role_in(request.user, ingestion.lab_id) in WRITER_ROLES
    form = None
    if ingestion.status == Ingestion.Status.PREVIEW and mappable:
        if request.method == "POST":
            # The commit service skips its role check for files an instrument sent; people are checked here.
            ensure_role(request.user, ingestion.lab_id, WRITER_ROLES, "commit instrument files")
        data = request.POST if request.method == "POST" else None
        form = IngestionMappingForm(
            data,
            samples=mappable,
            particle=particle,
            lab=ingestion.lab,
            known_barcodes=lambda barcodes: selectors.known_barcodes(ingestion.lab_id, barcodes),
            suggestions=dilution_suggestions(parsed, ingestion.uploaded_name),
            parsed=parsed,
            preparation=_chosen_preparation(request, ingestion),
        )
        if request.method == "POST" and form.is_valid() and _commit(request, ingestion, form):
            return redirect("evlims:ingestion-detail", pk=ingestion.pk)
    elif request.method == "POST":
        messages.warning(request, f"Nothing to commit: this ingestion is {ingestion.get_status_display().lower()}.")
        return redirect("evlims:ingestion-detail", pk=ingestion.pk)
    context = {
        "ingestion": ingestion,
        "parsed": parsed,
        "particle": particle,
        "plate": file_format in PLATE_FORMATS,
        "particle_samples": particle_preview(samples) if file_format in PARTICLE_FORMATS else [],
        "acquired_at": acquisition_time(parsed),
        "plate_rows": plate_rows(parsed.get("plate")),
        "curve": standard_curve_figure(
            parsed.get("standard_curve"), samples, wavelength_nm=(parsed.get("plate") or {}).get("wavelength_nm")
        )
        if file_format in PLATE_FORMATS
        else None,
        "form": form if can_write else None,
        "affected_approvals": _affected_approvals(request.user, ingestion, form) if form and can_write else [],
        "barcodes": selectors.preparation_barcodes(ingestion.lab_id) if form is not None and can_write else [],
        "measurements": selectors.ingestion_results(ingestion),
    }
    return render(request, "evlims/results/ingestion_detail.html", context)


@require_GET
@member_view
def raw_file_download(request, pk):
    """The file exactly as received, to members of its lab only; always a download, never rendered.

    ``?ingestion=<id>`` names the download as that upload was named: identical bytes are stored once, under the
    name they first came with, but every upload keeps its own name."""
    raw = scoped(selectors.raw_file_get, request.user, pk)
    content_type = raw.content_type if raw.content_type in DISPLAYABLE_IMAGE_TYPES else "application/octet-stream"
    name = raw.original_name
    ingestion_id = parse_id(request.GET.get("ingestion", ""))
    if ingestion_id is not None:
        upload = selectors.ingestions_for(request.user).filter(pk=ingestion_id, raw_file=raw).first()
        name = upload.uploaded_name if upload is not None and upload.uploaded_name else name
    response = FileResponse(raw.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _result_errors(form, error: ValidationError) -> None:
    """The service names fields by their place in the result document (results[0].marker.protein)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages_ in error.message_dict.items():
        place = result_error_place(key)
        path = place[1] if place else key
        field = form.field_for(path) if path else None
        if field is None:
            messages_ = [placed_message(path, message) for message in messages_]
        form.add_error(field, messages_)


def _record_imaging(user, preparation, document, images):
    """Keep the images as raw files, then record the result and link them, in one transaction.

    The result is validated before any image is kept, so a refused form leaves no stray files.
    """
    validate_results([document])
    raws = [
        raw_file_store(
            lab=preparation.lab, data=image.read(), name=image.name, content_type=image.content_type or "", actor=user
        )
        for image in images
    ]
    measurement = imaging_record_with_images(actor=user, lab=preparation.lab, document=document, images=raws)
    return measurement


def _success_message(kind, measurement) -> str:
    if kind == "marker":
        symbol = measurement.values.get("protein", "")
        titles = marker_vocabulary().subcategory_titles
        categories = sorted(marker_vocabulary().subcategories(symbol))
        if not categories:
            return f"{symbol} recorded; it is not in the MISEV marker vocabulary, so it has no category."
        named = ", ".join(f"{code} ({titles.get(code, code)})" for code in categories)
        return f"{symbol} recorded: MISEV category {named}."
    return f"{measurement.get_kind_display()} recorded."


@member_view
def result_new(request, pk, kind):
    if kind not in RESULT_FORMS:
        raise Http404("No such kind of result.")
    preparation = scoped(selectors.preparation_get, request.user, pk)
    ensure_role(request.user, preparation.lab_id, WRITER_ROLES, "record results")
    form_class, title = RESULT_FORMS[kind]
    extra = {"kind": kind} if kind in ("lipid", "rna") else {}
    bound = (request.POST, request.FILES) if request.method == "POST" else ()
    form = form_class(*bound, **extra)
    if request.method == "POST" and form.is_valid():
        document = form.document(preparation)
        try:
            if kind == "imaging" and form.cleaned_data["images"]:
                measurement = _record_imaging(request.user, preparation, document, form.cleaned_data["images"])
            else:
                measurement = record_results(actor=request.user, lab=preparation.lab, documents=[document])[0]
        except ValidationError as error:
            _result_errors(form, error)
        else:
            messages.success(request, _success_message(kind, measurement))
            url = reverse("evlims:preparation-detail", args=[preparation.pk])
            return redirect(f"{url}#measurement-{measurement.pk}")
    return render(
        request,
        "evlims/results/result_form.html",
        {"form": form, "kind": kind, "title": title, "preparation": preparation},
    )
