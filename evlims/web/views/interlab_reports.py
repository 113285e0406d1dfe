"""Reports of a comparison round as CSV and PDF. The coordinator's report covers every participant with its
lab; a participant's report covers its own results and scores and the others by code only. The kit manifest is
the coordinator's."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ...interlab import payloads
from ..reports import compliance as pdf
from .common import member_view
from .interlab import _round, round_context


def _file_label(round_, context) -> str:
    whose = "round" if context["coordinator"] else "-".join(context["own_codes"]).replace(" ", "")
    text = f"{round_.scheme.code}-{round_.code}-{whose}"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _download(content, content_type, filename, disposition="attachment"):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@member_view
def round_csv(request, pk):
    round_ = _round(request, pk)
    context = round_context(request, round_)
    text = payloads.statistics_csv(round_, context["stats"])
    return _download(text, "text/csv; charset=utf-8", f"{_file_label(round_, context)}.csv")


@member_view
def manifest_csv(request, pk):
    round_ = _round(request, pk)
    context = round_context(request, round_)
    if not context["coordinator"]:
        raise PermissionDenied("The kit manifest is the coordinating lab's.")
    return _download(
        payloads.manifest_csv(round_), "text/csv; charset=utf-8", f"{_file_label(round_, context)}-manifest.csv"
    )


@member_view
def round_pdf(request, pk):
    round_ = _round(request, pk)
    context = round_context(request, round_)
    title = f"Comparison {round_.scheme.code} round {round_.code}"
    if not context["coordinator"]:
        title += f": report for {', '.join(context['own_codes'])}"
    generated = timezone.now()
    footer = f"{title} · generated {timezone.localtime(generated):%Y-%m-%d %H:%M}"
    context |= {
        "report_title": title,
        "generated_at": generated,
        "page_size": pdf.PAPER_SIZES["a4"][0],
        "footer_css": mark_safe(pdf.css_string(footer)),
        "for_pdf": True,
    }
    html = render_to_string("evlims/interlab/report.html", context, request=request)
    try:
        document = pdf.render_pdf(html)
    except pdf.PdfUnavailable as missing:
        return HttpResponse(str(missing), status=503, content_type="text/plain; charset=utf-8")
    return _download(document, "application/pdf", f"{_file_label(round_, context)}.pdf", "inline")
