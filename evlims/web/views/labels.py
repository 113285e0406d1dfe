"""Labels for chosen aliquots: an HTML page with inline SVG for A4 sheets, a PDF, the ZPL for the lab's thermal
cryo-label printer as a download, or the same labels sent to that printer."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ...core.ids import parse_id
from ...core.tenancy import WRITER_ROLES, role_in
from ...labels import services as label_services
from ...labels.selectors import MAX_LABELS
from ...samples import selectors
from ..labels import code128_svg, label_for, labels_pdf, qr_svg
from .common import member_view


def _chosen(request, values):
    ids = {parse_id(value) for value in values} - {None}
    problems = []
    if len(ids) != len(set(values)):
        problems.append("Some selected aliquot ids are not valid and were left out.")
    if len(ids) > MAX_LABELS:
        problems.append(f"At most {MAX_LABELS} labels at a time.")
        ids = set()
    aliquots = list(selectors.aliquots_for(request.user).filter(pk__in=ids).order_by("barcode")) if ids else []
    if len(aliquots) != len(ids):
        raise Http404("No such aliquot in your labs.")
    return ids, aliquots, problems


def _one_lab(aliquots, problems) -> bool:
    if len({aliquot.lab_id for aliquot in aliquots}) > 1:
        problems.append("Choose aliquots of one lab for the cryo printer: each lab prints with its own template.")
        return False
    return bool(aliquots)


def _zpl_download(aliquots, problems):
    template = label_services.template_for(aliquots[0].lab)
    try:
        text = label_services.labels_zpl(template=template, aliquots=aliquots)
    except ValidationError as refusal:
        problems.extend(message for messages_ in refusal.message_dict.values() for message in messages_)
        return None
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="aliquot-labels.zpl"'
    return response


@member_view
def label_sheet(request):
    ids, aliquots, problems = _chosen(request, request.GET.getlist("aliquot"))
    labels = [label_for(aliquot) for aliquot in aliquots]
    output = request.GET.get("format")
    if output == "pdf" and labels:
        response = HttpResponse(labels_pdf(labels), content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="aliquot-labels.pdf"'
        return response
    if output == "zpl" and _one_lab(aliquots, problems):
        response = _zpl_download(aliquots, problems)
        if response is not None:
            return response
    if not labels and not problems:
        problems.append("Select at least one aliquot to print labels for.")
    sheet = [{"label": label, "qr": qr_svg(label), "code128": code128_svg(label)} for label in labels]
    status = 400 if problems and not labels else 200
    template = label_services.template_for(aliquots[0].lab) if len({a.lab_id for a in aliquots}) == 1 else None
    context = {
        "sheet": sheet,
        "problems": problems,
        "ids": sorted(ids),
        "cryo_template": template,
        "may_print": template is not None and role_in(request.user, template.lab_id) in WRITER_ROLES,
    }
    return render(request, "evlims/labels/sheet.html", context, status=status)


@require_POST
@member_view
def label_print(request):
    """Send the chosen aliquots' labels to their lab's printer; back to the label page with the outcome."""
    ids, aliquots, problems = _chosen(request, request.POST.getlist("aliquot"))
    back = reverse("evlims:labels") + "?" + "&".join(f"aliquot={pk}" for pk in sorted(ids))
    if not _one_lab(aliquots, problems):
        messages.error(request, problems[-1] if problems else "Select at least one aliquot to print labels for.")
        return redirect(back)
    lab = aliquots[0].lab
    try:
        sent = label_services.labels_print(actor=request.user, lab=lab, aliquots=aliquots, reason="")
    except label_services.PrinterUnreachable as error:
        messages.error(request, f"{error} Nothing was printed; the attempt is in the audit trail.")
    except ValidationError as refusal:
        messages.error(request, " ".join(m for found in refusal.message_dict.values() for m in found))
    else:
        messages.success(request, f"{sent} label{'s' if sent != 1 else ''} sent to the printer of {lab.name}.")
    return redirect(back)
