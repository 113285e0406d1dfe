"""Compliance pages of a preparation, a run and a project; refresh and submit-for-review actions; the
compliance report (HTML and PDF), the verdicts CSV and the exports (experiment documents, checklist)."""

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from ...characterization.selectors import results_set_aside
from ...compliance import selectors, services
from ...core.tenancy import REVIEWER_ROLES, WRITER_ROLES, role_in
from ...metrics import figures
from ...review import selectors as review_selectors
from ...review import services as review_services
from ..forms.compliance import SubmitForReviewForm
from ..reports import compliance as reports
from ..reports import exports, fix_links
from ..reports.results import set_aside_rows
from .common import member_view, run_service, scoped

SUBJECT_SELECTORS = {
    "preparation": selectors.preparation_get,
    "run": selectors.run_summary_get,
    "project": selectors.project_get,
}
PAGE_URLS = {"preparation": "compliance-preparation", "run": "compliance-run", "project": "compliance-project"}
REPORT_SUBJECTS = {"preparation": "preparation", "run": "run", "project": "study"}
AUDITED_TYPES = {"preparation": "evpreparation", "run": "isolationrun", "project": "project"}


def _approved(reviews) -> bool:
    return any(review.state == review.State.APPROVED for review in reviews)


def _preparation_context(request, preparation, submit_form=None) -> dict:
    reviews = review_selectors.review_history(preparation=preparation)
    open_review = review_selectors.open_review([r for r in reviews if r.preparation_id == preparation.pk])
    role = role_in(request.user, preparation.lab_id)
    evaluation = selectors.evaluation_of(preparation)
    metrics = _metrics(preparation)
    view = reports.evaluation_view(evaluation)
    if view and role in WRITER_ROLES:
        # Links to the forms that record what a rule lacks, for the people who may write those records.
        fix_links.next_step_links(view["next_steps"], preparation=preparation, evaluation=evaluation)
    failures = selectors.mandatory_failures(evaluation and evaluation.full_report)
    return {
        "preparation": preparation,
        "run": preparation.run,
        "sample": preparation.input_aliquot.sample,
        "view": view,
        "document_text": exports.json_text(evaluation.document) if evaluation else "",
        "purity_figures": figures.present(metrics, figures.COMPLIANCE_REPORT),
        "purity_class": reports.purity_class_text(metrics),
        "reviews": reviews,
        "open_review": open_review,
        "locked": _approved(reviews),
        "can_submit": role in WRITER_ROLES and open_review is None,
        "can_review": role in REVIEWER_ROLES,
        "submit_form": submit_form or SubmitForReviewForm(failures=failures),
        "set_aside": set_aside_rows(results_set_aside([preparation.pk])),
    }


def _metrics(preparation):
    try:
        return preparation.metrics
    except ObjectDoesNotExist:
        return None


def _rows_context(preparations) -> dict:
    locked_ids = review_selectors.locked_preparation_ids(p.pk for p in preparations)
    rows = [reports.preparation_row(preparation, locked_ids) for preparation in preparations]
    return {"rows": rows, "summary": reports.study_summary(rows)}


def _run_context(request, run) -> dict:
    reviews = review_selectors.review_history(run=run)
    open_review = review_selectors.open_review(reviews)
    role = role_in(request.user, run.lab_id)
    return {
        "run": run,
        **_rows_context(selectors.preparations_with_evaluations(run=run)),
        "reviews": reviews,
        "open_review": open_review,
        "locked": _approved(reviews),
        "can_submit": role in WRITER_ROLES and open_review is None,
        "submit_form": SubmitForReviewForm(failures=_run_failures(run)),
    }


def _run_failures(run) -> list[dict]:
    return selectors.mandatory_failures_of(list(run.preparations.values_list("pk", flat=True)))


def _project_context(request, project) -> dict:
    context = {"project": project, **_rows_context(selectors.preparations_with_evaluations(project=project))}
    runs: dict[int, dict] = {}
    for row in context["rows"]:
        run = row["preparation"].run
        entry = runs.setdefault(run.pk, {"run": run, "rows": []})
        entry["rows"].append(row)
    context["runs"] = [{**entry, "summary": reports.study_summary(entry["rows"])} for entry in runs.values()]
    return context


@member_view
def preparation_compliance(request, pk):
    preparation = scoped(selectors.preparation_get, request.user, pk)
    return render(request, "evlims/compliance/preparation.html", _preparation_context(request, preparation))


@member_view
def run_compliance(request, pk):
    run = scoped(selectors.run_summary_get, request.user, pk)
    return render(request, "evlims/compliance/run.html", _run_context(request, run))


@member_view
def project_compliance(request, pk):
    project = scoped(selectors.project_get, request.user, pk)
    return render(request, "evlims/compliance/project.html", _project_context(request, project))


def _preparation_ids(kind, subject) -> list[int]:
    if kind == "preparation":
        return [subject.pk]
    scope = {"run": subject} if kind == "run" else {"project": subject}
    return [preparation.pk for preparation in selectors.preparations_with_evaluations(**scope)]


@require_POST
@member_view
def refresh(request, kind, pk):
    """Evaluate now rather than wait for the background refresh (forced: a rule-set update counts too)."""
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    count = services.evaluate_preparations(_preparation_ids(kind, subject), force=True)
    messages.success(request, f"Compliance re-evaluated for {count} preparation{'s' if count != 1 else ''}.")
    return redirect(f"evlims:{PAGE_URLS[kind]}", pk=pk)


@require_POST
@member_view
def submit_for_review(request, kind, pk):
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    if kind == "preparation":
        return _submit_preparation(request, subject)
    form = SubmitForReviewForm(request.POST, failures=_run_failures(subject))
    if not form.is_valid():
        messages.error(
            request, "Not submitted: " + " ".join(message for errors in form.errors.values() for message in errors)
        )
        return redirect(f"evlims:{PAGE_URLS[kind]}", pk=pk)
    try:
        review_services.review_submit(
            actor=request.user,
            reason=form.cleaned_data["note"],
            justification=form.cleaned_data.get("justification", ""),
            **{kind: subject},
        )
    except ValidationError as error:
        messages.error(request, "Not submitted: " + " ".join(error.messages))
    else:
        messages.success(request, f"{subject} was submitted for QA review.")
    return redirect(f"evlims:{PAGE_URLS[kind]}", pk=pk)


def _submit_preparation(request, preparation):
    """Judged on the evaluation as the records stand now; a refusal stays on the page with the reason on the
    form and what was typed kept."""
    if services.evaluate_preparations([preparation.pk]):
        preparation = scoped(selectors.preparation_get, request.user, preparation.pk)
    evaluation = selectors.evaluation_of(preparation)
    form = SubmitForReviewForm(
        request.POST, failures=selectors.mandatory_failures(evaluation and evaluation.full_report)
    )
    if form.is_valid():
        submitted = run_service(
            form,
            lambda: review_services.review_submit(
                actor=request.user,
                preparation=preparation,
                reason=form.cleaned_data["note"],
                justification=form.cleaned_data.get("justification", ""),
            ),
        )
        if submitted is not None:
            messages.success(request, f"{preparation} was submitted for QA review.")
            return redirect("evlims:compliance-preparation", pk=preparation.pk)
    messages.error(request, "Not submitted: see the reason on the form.")
    return render(
        request, "evlims/compliance/preparation.html", _preparation_context(request, preparation, submit_form=form)
    )


# ---------------------------------------------------------------- reports


def _audit(kind, subject, reviews) -> dict:
    count, events = review_selectors.audit_events(
        object_types_ids=[(AUDITED_TYPES[kind], [subject.pk]), ("review", [review.pk for review in reviews])]
    )
    return reports.audit_summary(count, events)


def _report_context(request, kind, subject) -> dict:
    if kind == "preparation":
        context = _preparation_context(request, subject)
        context["plot"] = reports.size_plot(subject)
    elif kind == "run":
        context = _run_context(request, subject)
        context["details"] = _details(selectors.preparations_with_evaluations(run=subject, full=True))
        context["set_aside"] = set_aside_rows(results_set_aside([d["preparation"].pk for d in context["details"]]))
        context["show_preparation"] = True
    else:
        context = _project_context(request, subject)
        context["reviews"] = []
    context.update(
        kind=kind,
        subject=subject,
        generated_at=timezone.now(),
        audit=_audit(kind, subject, context["reviews"]),
        page_url=f"evlims:{PAGE_URLS[kind]}",
        report_title=f"Compliance report: {REPORT_SUBJECTS[kind]} {_file_label(kind, subject)}",
        paper_sizes=[(key, label) for key, (_, label) in reports.PAPER_SIZES.items()],
    )
    return context | _paper(context, "a4")


def _paper(context, paper: str) -> dict:
    """The page size of the printed report and its footer, as CSS (the footer text quoted as written)."""
    footer = f"{context['report_title']} · generated {timezone.localtime(context['generated_at']):%Y-%m-%d %H:%M}"
    return {"page_size": reports.PAPER_SIZES[paper][0], "footer_css": mark_safe(reports.css_string(footer))}


def _details(preparations) -> list[dict]:
    return [{"preparation": p, "view": reports.evaluation_view(selectors.evaluation_of(p))} for p in preparations]


@member_view
def report(request, kind, pk):
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    return render(request, f"evlims/compliance/report_{kind}.html", _report_context(request, kind, subject))


@member_view
def report_pdf(request, kind, pk):
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    paper = request.GET.get("paper", "a4").strip().lower() or "a4"
    if paper not in reports.PAPER_SIZES:
        choices = " or ".join(reports.PAPER_SIZES)
        return HttpResponse(
            f"paper: '{paper}' is not a paper size; choose {choices}.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    context = _report_context(request, kind, subject)
    context |= _paper(context, paper) | {"for_pdf": True}
    html = render_to_string(f"evlims/compliance/report_{kind}.html", context, request=request)
    try:
        pdf = reports.render_pdf(html)
    except reports.PdfUnavailable as missing:
        return HttpResponse(str(missing), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="compliance-{_file_label(kind, subject)}.pdf"'
    return response


def _file_label(kind, subject) -> str:
    label = {"preparation": "barcode", "run": "code", "project": "code"}[kind]
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(getattr(subject, label)))


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _preparations_of(kind, subject, *, full=False):
    if kind == "preparation":
        return [subject]
    return selectors.preparations_with_evaluations(**{kind: subject}, full=full)


@member_view
def verdicts_csv(request, kind, pk):
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    rows = exports.verdict_rows(_preparations_of(kind, subject, full=True))
    text = exports.csv_text(exports.VERDICT_COLUMNS, rows)
    return _download(text, "text/csv; charset=utf-8", f"verdicts-{_file_label(kind, subject)}.csv")


@member_view
def experiment_json(request, kind, pk):
    """The portable experiment document of a preparation, or of every preparation of a project (a study)."""
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    if kind == "preparation":
        content = exports.current_documents([subject.pk])[0]
    else:
        content = exports.study_export(subject, _preparation_ids(kind, subject))
    filename = f"{_file_label(kind, subject)}.experiment.json"
    return _download(exports.json_text(content), "application/json; charset=utf-8", filename)


@member_view
def checklist(request, kind, pk, fmt):
    subject = scoped(SUBJECT_SELECTORS[kind], request.user, pk)
    documents = exports.current_documents(_preparation_ids(kind, subject))
    rows = exports.checklist_rows(documents)
    if fmt == "csv":
        text = exports.csv_text(exports.CHECKLIST_COLUMNS, rows)
        return _download(text, "text/csv; charset=utf-8", f"checklist-{_file_label(kind, subject)}.csv")
    return render(
        request,
        "evlims/compliance/checklist.html",
        {"kind": kind, "subject": subject, "rows": rows, "page_url": f"evlims:{PAGE_URLS[kind]}"},
    )
