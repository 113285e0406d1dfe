"""Label sheets for chosen aliquots: an HTML page with inline SVG for printing, or a PDF."""

from django.http import Http404, HttpResponse
from django.shortcuts import render

from ...core.ids import parse_id
from ...samples import selectors
from ..labels import code128_svg, label_for, labels_pdf, qr_svg
from .common import member_view

MAX_LABELS = 960  # forty A4 sheets; more is almost certainly a mistaken selection


@member_view
def label_sheet(request):
    raw_ids = request.GET.getlist("aliquot")
    ids = {parse_id(value) for value in raw_ids} - {None}
    problems = []
    if len(ids) != len(set(raw_ids)):
        problems.append("Some selected aliquot ids are not valid and were left out.")
    if len(ids) > MAX_LABELS:
        problems.append(f"At most {MAX_LABELS} labels at a time.")
        ids = set()
    aliquots = list(selectors.aliquots_for(request.user).filter(pk__in=ids).order_by("barcode")) if ids else []
    if len(aliquots) != len(ids):
        raise Http404("No such aliquot in your labs.")
    labels = [label_for(aliquot) for aliquot in aliquots]
    if request.GET.get("format") == "pdf" and labels:
        response = HttpResponse(labels_pdf(labels), content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="aliquot-labels.pdf"'
        return response
    if not labels and not problems:
        problems.append("Select at least one aliquot to print labels for.")
    sheet = [{"label": label, "qr": qr_svg(label), "code128": code128_svg(label)} for label in labels]
    status = 400 if problems and not labels else 200
    return render(
        request,
        "evlims/labels/sheet.html",
        {"sheet": sheet, "problems": problems, "ids": sorted(ids)},
        status=status,
    )
