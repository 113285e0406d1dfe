"""The protocol editor's form tab: the forms posted without a script (save, add a step or a citation, show the
chosen methods' parameters, switch to the YAML tab), the live check and the step fragment the script asks for.

Saving goes through ``services.protocol_version_save_draft`` with the YAML the form generates, so a draft saved
from either tab is the same record; the protocol library's validation decides, in the lab's words."""

import yaml
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

import protocols as protocol_library
from protocols.catalogue import method_label
from protocols.errors import ProtocolValidationError
from protocols.loader import load_protocol_yaml, yaml_problem

from ...core.ids import parse_id
from ...isolation import services
from ..forms.protocol_form import (
    DraftForm,
    ProtocolDocumentForms,
    StepForm,
    Unrepresentable,
    document_yaml,
    form_data,
)
from ..forms.protocols import ProtocolEditorForm, problems
from .common import ensure_writer, member_view

MAX_STEP_INDEX = 200
BLANK = {"citations": [{}], "steps": [{"ORDER": 1}]}


def forms_from_text(text: str) -> ProtocolDocumentForms:
    """The form tab filled from YAML text (a blank protocol for empty text); raises Unrepresentable."""
    if not text.strip():
        return ProtocolDocumentForms(initial=BLANK)
    try:
        document = load_protocol_yaml(text)
    except yaml.YAMLError as error:
        raise Unrepresentable([yaml_problem(error)])
    return ProtocolDocumentForms(initial=form_data(document))


def checked(document_forms: ProtocolDocumentForms):
    """Validate the document the forms describe: (document, definition or None, placed problem rows)."""
    document = document_forms.document()
    try:
        definition = protocol_library.validate_protocol(document)
    except ProtocolValidationError as error:
        return document, None, document_forms.place(error.errors)
    return document, definition, []


def _with_one_more(post, prefix: str):
    """The POST with one more (blank) form in the ``prefix`` formset; a count that is not a number stays as sent
    (the formset then reports its management form as broken)."""
    data = post.copy()
    count = parse_id(data.get(f"{prefix}-TOTAL_FORMS") or "0")
    if count is not None and count < MAX_STEP_INDEX:
        data[f"{prefix}-TOTAL_FORMS"] = str(count + 1)
    return data


def render_editor(request, *, draft_form, tab: str, document_forms=None, yaml_form=None, **context):
    """The editor page with one tab open; ``form`` is what the shared fields (lab, reason) are drawn from."""
    context |= {
        "form": yaml_form or draft_form,
        "tab": tab,
        "doc": document_forms,
    }
    context.setdefault("editor_text", "")
    return render(request, "evlims/protocols/editor.html", context)


def form_tab_post(request):
    """A POST of the form tab: save (the default), check, add a step or a citation, refresh, or go to YAML."""
    user = request.user
    action = request.POST.get("action", "save")
    post = request.POST
    if action in ("add-step", "add-citation"):
        post = _with_one_more(post, "steps" if action == "add-step" else "citations")
    draft_form = DraftForm(post, user=user)
    document_forms = ProtocolDocumentForms(post)
    if action in ("add-step", "add-citation", "refresh", "to-form"):
        return render_editor(request, draft_form=draft_form, tab="form", document_forms=document_forms)
    if action == "to-yaml":
        text = document_yaml(document_forms.document())
        yaml_form = ProtocolEditorForm(initial={"source_text": text, "lab": post.get("lab")}, user=user)
        return render_editor(request, draft_form=draft_form, tab="yaml", yaml_form=yaml_form, editor_text=text)
    document, definition, rows = checked(document_forms)
    context = {"problems_in_words": rows, "definition": definition}
    if definition is not None:
        context["chain"] = [method_label(method) for method in definition.methods]
    if definition is not None and action == "save" and draft_form.is_valid():
        data = draft_form.cleaned_data
        try:
            version = services.protocol_version_save_draft(
                actor=user, lab=data["lab"], source_text=document_yaml(document), reason=data["reason"]
            )
        except ValidationError as error:
            context["problems_in_words"] = _refusal_rows(error, document_forms)
        else:
            messages.success(request, f"Draft {version} saved. A QA manager of the lab approves it.")
            return redirect("evlims:protocol-version", pk=version.pk)
    return render_editor(request, draft_form=draft_form, tab="form", document_forms=document_forms, **context)


def _refusal_rows(error: ValidationError, document_forms: ProtocolDocumentForms) -> list[dict]:
    """The save service's refusal (e.g. the version is approved already) next to the field it names."""
    rows = []
    for row in problems(error):
        field = row["field"] if row["field"] in document_forms.header.fields else None
        label = document_forms.header.fields[field].label or field.capitalize() if field else "Protocol"
        text = f"{label}: {row['message']}"
        if field:
            document_forms.header.add_error(field, text)
        else:
            document_forms.problems.append({"text": text})
        rows.append({"name": document_forms.header.add_prefix(field) if field else None, "text": text})
    return rows


def yaml_to_form(request, yaml_form: ProtocolEditorForm, text: str):
    """The YAML tab's text opened in the form tab, or the YAML tab again saying what the form cannot show."""
    try:
        document_forms = forms_from_text(text)
    except Unrepresentable as error:
        return render_editor(
            request,
            draft_form=None,
            yaml_form=yaml_form,
            tab="yaml",
            editor_text=text,
            unrepresentable=error.reasons,
        )
    draft_form = DraftForm(initial={"lab": request.POST.get("lab")}, user=request.user)
    draft_form.initial["reason"] = request.POST.get("reason", "")
    return render_editor(request, draft_form=draft_form, tab="form", document_forms=document_forms)


@require_POST
@member_view
def form_check(request):
    """The form tab's live check: {valid, problems: [{name, text}], chain, misev_class, content_hash}."""
    ensure_writer(request.user)
    document_forms = ProtocolDocumentForms(request.POST)
    _, definition, rows = checked(document_forms)
    answer = {
        "valid": definition is not None,
        "problems": [{"name": row["name"], "step": row["step"], "text": row["text"]} for row in rows],
    }
    if definition is not None:
        answer |= {
            "chain": [method_label(method) for method in definition.methods],
            "misev_class": definition.misev_class.label,
            "content_hash": definition.content_hash,
            "yaml": document_yaml(document_forms.document()),
        }
    return JsonResponse(answer)


@require_POST
@member_view
def form_step(request):
    """One step's fields for the method chosen (the script swaps them in); values of parameters the new method
    shares with the old one are kept."""
    ensure_writer(request.user)
    index = parse_id(request.POST.get("index", ""))
    if index is None or index > MAX_STEP_INDEX:
        return JsonResponse({"error": "index: give the step's place in the form, a whole number from 0."}, status=400)
    step = StepForm(request.POST, prefix=f"steps-{index}")
    number = parse_id(request.POST.get("number", "")) or index + 1
    return render(request, "evlims/protocols/_step_form.html", {"step": step, "number": number})
