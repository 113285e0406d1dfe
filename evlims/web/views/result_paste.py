"""Results pasted from a spreadsheet: the rows read and previewed (what each will record, or its errors naming the
row and the column), then "Record these N results" sends them through the results post
(instruments.services.results_ingest), all or none. Nothing is recorded at preview."""

import hashlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from ...characterization import selectors
from ...characterization.services import validate_results
from ...core.locks import approvals_affected
from ...instruments.recording import placed_message, result_error_place
from ...instruments.services import results_ingest
from ...isolation.selectors import preparations_for
from ..forms.result_paste import ResultPasteForm, column_of, read_rows
from .common import ensure_writer, member_view

CHANGED = "The rows changed since they were previewed: check the preview below, then record them."


def _text_hash(form) -> str:
    data = form.cleaned_data
    parts = (data["rows"], str(data["lab"].pk), *form.defaults().values(), str(data["markers_as_typed"]))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _place_document_errors(rows, error: ValidationError, general: list[str]) -> None:
    """Refusals of the result documents (``results[3].marker.protein``) on the row and column they concern."""
    if not hasattr(error, "error_dict"):
        general.extend(error.messages)
        return
    for key, messages_ in error.message_dict.items():
        place = result_error_place(key)
        if place is None or place[0] >= len(rows):
            general.extend(placed_message(key, message) for message in messages_)
            continue
        row = rows[place[0]]
        for message in messages_:
            row.error(column_of(place[1]) if place[1] else "", message)


def _check(form, rows, general) -> None:
    """Every row read: the lab's barcodes, then the documents validated as the results post validates them."""
    lab = form.cleaned_data["lab"]
    known = selectors.known_barcodes(
        lab.pk, {row.cells.get("preparation") for row in rows if row.cells.get("preparation")}
    )
    for row in rows:
        barcode = row.cells.get("preparation")
        if barcode and barcode not in known:
            row.error("Preparation", f"No preparation {barcode} in {lab.name}.")
            row.document = None
    ready = [row for row in rows if row.document is not None]
    try:
        validate_results([row.document for row in ready])
    except ValidationError as error:
        _place_document_errors(ready, error, general)


def _affected(user, lab, rows) -> list[dict]:
    """The approvals recording these rows would void (shown before anything is saved)."""
    barcodes = [row.cells["preparation"] for row in rows if row.cells.get("preparation")]
    if not barcodes:
        return []
    preparations = preparations_for(user).filter(lab=lab, barcode__in=barcodes)
    return approvals_affected(list(preparations.values_list("pk", flat=True)))


def _commit(request, form, rows, general):
    data = form.cleaned_data
    try:
        ingestion, _replayed = results_ingest(
            actor=request.user,
            lab=data["lab"],
            documents=[row.document for row in rows],
            idempotency_key=f"paste:{data['paste_token']}",
            reason=data["reason"],
        )
    except ValidationError as error:
        if hasattr(error, "error_dict") and "reason" in error.error_dict:
            form.add_error("reason", error.message_dict["reason"])
        elif hasattr(error, "error_dict") and "Idempotency-Key" in error.error_dict:
            general.append("These rows were recorded already with other values; open the paste page again.")
        else:
            _place_document_errors(rows, error, general)
        return None
    messages.success(request, f"{len(rows)} result{'s' if len(rows) != 1 else ''} recorded from the pasted rows.")
    return redirect("evlims:ingestion-detail", pk=ingestion.pk)


@member_view
def result_paste(request):
    ensure_writer(request.user)
    form = ResultPasteForm(request.POST or None, user=request.user)
    rows, general, affected = [], [], []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rows, general = read_rows(data["rows"], form.defaults(), as_typed=data["markers_as_typed"])
        if not rows and not general:
            general.append("No row below the header: paste the header row and at least one row of results.")
        if rows and not general:
            _check(form, rows, general)
        affected = _affected(request.user, data["lab"], rows)
        clean = bool(rows) and not general and not any(row.errors for row in rows)
        digest = _text_hash(form)
        if "commit" in request.POST and clean:
            if data["previewed"] != digest:
                general.append(CHANGED)
            else:
                done = _commit(request, form, rows, general)
                if done is not None:
                    return done
        form.data = form.data.copy()
        form.data["previewed"] = digest if clean else ""
    failing = sum(1 for row in rows if row.errors)
    context = {
        "form": form,
        "rows": rows,
        "general": general,
        "failing": failing,
        "ready": bool(rows) and not general and not failing,
        "affected_approvals": affected,
    }
    return render(request, "evlims/results/paste_form.html", context)
