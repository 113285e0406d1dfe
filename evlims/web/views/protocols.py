"""Protocol library, version pages with side-by-side comparison, the YAML editor and its review actions."""

import difflib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

import protocols as protocol_library

from ...core.ids import parse_id
from ...core.tenancy import REVIEWER_ROLES, WRITER_ROLES, labs_where, role_in
from ...isolation import selectors, services
from ...isolation.models import ProtocolVersion
from ..forms.protocol_form import DraftForm
from ..forms.protocols import (
    ApproveForm,
    ProtocolEditorForm,
    RetireForm,
    canonical_yaml,
    editable_yaml,
    next_version,
    problems,
)
from ..forms.run_steps import unit_label
from . import protocol_form
from .common import ensure_writer, member_view, scoped

STATUS_BADGES = {"draft": "text-bg-warning", "approved": "text-bg-success", "retired": "text-bg-secondary"}


def _schema_units(method: str) -> dict:
    try:
        properties = protocol_library.method_schema(method)["properties"]
    except protocol_library.UnknownMethodError:
        return {}
    return {name: spec.get("x-unit") for name, spec in properties.items()}


def _display(value, unit) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_display(item, None) for item in value) + (unit_label(unit) if unit else "")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        # Thousands grouped the way protocols write them ("100,000 × g").
        return f"{value:,}{unit_label(unit)}" if abs(value) >= 10000 else f"{value}{unit_label(unit)}"
    return str(value)


def _tolerance_text(tolerance: dict | None, unit) -> str:
    if not tolerance:
        return ""
    parts = []
    if "abs" in tolerance:
        parts.append(f"± {_display(tolerance['abs'], unit)}")
    if "rel" in tolerance:
        parts.append(f"± {tolerance['rel'] * 100:g} %")
    return " or ".join(parts)


def step_views(definition: dict) -> list[dict]:
    """Steps of a stored definition with each parameter as canonical value, text as written and tolerance."""
    shown = []
    for number, step in enumerate(definition.get("steps", []), start=1):
        units = _schema_units(step["method"])
        rows = [
            {
                "name": name,
                "canonical": _display(value, units.get(name)),
                "written": step.get("originals", {}).get(name),
                "tolerance": _tolerance_text(step.get("tolerances", {}).get(name), units.get(name)),
            }
            for name, value in step.get("params", {}).items()
        ]
        derived = [
            {"name": name, "value": _display(value, "rpm" if name == "speed_rpm" else None)}
            for name, value in (step.get("derived") or {}).items()
        ]
        shown.append({"number": number, "step": step, "params": rows, "derived": derived})
    return shown


@member_view
def protocol_list(request):
    user = request.user
    protocols = list(selectors.protocols_for(user).select_related("lab").order_by("title"))
    term = request.GET.get("q", "").strip().lower()
    owner = request.GET.get("owner", "")
    rows = []
    for protocol in protocols:
        versions = list(protocol.versions.all())
        if not versions:
            continue
        if term and term not in f"{protocol.title} {protocol.slug}".lower():
            continue
        if (owner == "library" and protocol.lab_id) or (owner == "lab" and not protocol.lab_id):
            continue
        latest = versions[-1]
        rows.append({"protocol": protocol, "versions": versions, "latest": latest})
    return render(
        request,
        "evlims/protocols/list.html",
        {
            "rows": rows,
            "q": request.GET.get("q", ""),
            "owner": owner,
            "can_write": bool(labs_where(user, WRITER_ROLES)),
        },
    )


def _can_review(user, version) -> bool:
    lab_id = version.protocol.lab_id
    return lab_id is not None and role_in(user, lab_id) in REVIEWER_ROLES


@member_view
def version_detail(request, pk):
    version = scoped(selectors.protocol_version_get, request.user, pk)
    siblings = list(
        selectors.protocol_versions_for(request.user).filter(protocol=version.protocol_id).order_by("created_at")
    )
    definition = version.definition
    context = {
        "version": version,
        "definition": definition,
        "misev": definition.get("misev_class") or {},
        "steps": step_views(definition),
        "siblings": [v for v in siblings if v.pk != version.pk],
        "can_review": _can_review(request.user, version),
        "can_write": bool(labs_where(request.user, WRITER_ROLES)),
        "can_edit": version.status == ProtocolVersion.Status.DRAFT
        and version.protocol.lab_id in labs_where(request.user, WRITER_ROLES),
        "status_badge": STATUS_BADGES.get(version.status, "text-bg-light"),
    }
    return render(request, "evlims/protocols/version.html", context)


def side_by_side(left: str, right: str) -> list[dict]:
    """Rows {kind, left_no, left, right_no, right} of a line diff; kind is equal, removed, added or changed."""
    left_lines, right_lines = left.splitlines(), right.splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(a=left_lines, b=right_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [
                {"kind": "equal", "left_no": i + 1, "left": left_lines[i], "right_no": j + 1, "right": right_lines[j]}
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        span = max(i2 - i1, j2 - j1)
        for offset in range(span):
            i, j = i1 + offset, j1 + offset
            has_left, has_right = i < i2, j < j2
            kind = "changed" if has_left and has_right else ("removed" if has_left else "added")
            rows.append(
                {
                    "kind": kind,
                    "left_no": i + 1 if has_left else None,
                    "left": left_lines[i] if has_left else "",
                    "right_no": j + 1 if has_right else None,
                    "right": right_lines[j] if has_right else "",
                }
            )
    return rows


@member_view
def version_compare(request, pk):
    left = scoped(selectors.protocol_version_get, request.user, pk)
    other_id = parse_id(request.GET.get("with", ""))
    candidates = (
        selectors.protocol_versions_for(request.user).exclude(pk=left.pk).order_by("protocol__slug", "created_at")
    )
    right = None
    if other_id is not None:
        right = scoped(selectors.protocol_version_get, request.user, other_id)
    context = {"left": left, "right": right, "candidates": candidates}
    if right is not None:
        left_text, right_text = canonical_yaml(left), canonical_yaml(right)
        rows = side_by_side(left_text, right_text)
        context |= {
            "rows": rows,
            "added": sum(r["kind"] in ("added", "changed") for r in rows),
            "removed": sum(r["kind"] in ("removed", "changed") for r in rows),
            "unified": list(
                difflib.unified_diff(
                    left_text.splitlines(), right_text.splitlines(), str(left), str(right), lineterm=""
                )
            ),
        }
    return render(request, "evlims/protocols/compare.html", context)


def _summary(definition, user) -> dict:
    """What the editor shows for a text that validates, including whether saving would be refused."""
    frozen = (
        selectors.protocol_versions_for(user)
        .filter(
            protocol__slug=definition.slug,
            version=definition.version,
            protocol__lab_id__in=labs_where(user, WRITER_ROLES),
        )
        .exclude(status=ProtocolVersion.Status.DRAFT)
        .first()
    )
    stored = definition.to_dict()
    return {"definition": stored, "steps": step_views(stored), "frozen": frozen}


def _check(form, user) -> dict:
    """Validate the editor's text without saving: {'problems': [...]} or {'summary': {...}}."""
    if not form.is_valid():
        rows = [
            {"step": None, "method": None, "field": field if field != "__all__" else None, "message": message}
            for field, messages_ in form.errors.items()
            for message in messages_
        ]
        return {"problems": rows}
    try:
        definition = services.parse_protocol_text(form.cleaned_data["text"])
    except ValidationError as error:
        return {"problems": problems(error)}
    return {"summary": _summary(definition, user)}


def _editor_start(request) -> tuple[dict, object]:
    """The editor's starting text and lab: a new version derived from ``?from=``, a draft opened again with
    ``?edit=`` (saving replaces it), or nothing."""
    user = request.user
    initial: dict = {}
    source = None
    source_id = parse_id(request.GET.get("from", ""))
    edit_id = parse_id(request.GET.get("edit", ""))
    if edit_id is not None:
        source = scoped(selectors.protocol_version_get, user, edit_id)
        if source.status != ProtocolVersion.Status.DRAFT or source.protocol.lab_id not in labs_where(
            user, WRITER_ROLES
        ):
            raise Http404("Only a draft of one of your labs can be edited; derive a new version instead.")
        initial["source_text"] = editable_yaml(source)
    elif source_id is not None:
        source = scoped(selectors.protocol_version_get, user, source_id)
        taken = set(source.protocol.versions.values_list("version", flat=True))
        initial["source_text"] = editable_yaml(source, new_version=next_version(source.version, taken))
    if source is not None and source.protocol.lab_id in labs_where(user, WRITER_ROLES):
        initial["lab"] = source.protocol.lab_id
    return initial, source


@member_view
def protocol_editor(request):
    """Both tabs of the editor. A POST names its tab (``mode``: form or yaml, yaml when absent, as the YAML
    editor always posted) and what to do (``action``: save when absent)."""
    ensure_writer(request.user)
    if request.method == "POST" and request.POST.get("mode") == "form":
        return protocol_form.form_tab_post(request)
    user = request.user
    initial, source = _editor_start(request) if request.method == "GET" else ({}, None)
    form = ProtocolEditorForm(request.POST or None, request.FILES or None, initial=initial, user=user)
    action = request.POST.get("action", "save")
    check = {}
    if request.method == "POST" and action == "to-form":
        text = form.cleaned_data.get("text") if form.is_valid() else (form["source_text"].value() or "")
        return protocol_form.yaml_to_form(request, form, text or "")
    if request.method == "POST":
        check = _check(form, user)
        if "summary" in check and action == "save":
            data = form.cleaned_data
            try:
                version = services.protocol_version_save_draft(
                    actor=user, lab=data["lab"], source_text=data["text"], reason=data["reason"]
                )
            except ValidationError as error:
                check = {"problems": problems(error)}
            else:
                messages.success(request, f"Draft {version} saved. A QA manager of the lab approves it.")
                return redirect("evlims:protocol-version", pk=version.pk)
    # An uploaded file (sent without the editor's script) is shown in the editor once it has been read.
    text = form.cleaned_data.get("text") if form.is_bound and hasattr(form, "cleaned_data") else None
    editor_text = text if text is not None else (form["source_text"].value() or "")
    context = {"source": source, "editor_text": editor_text, "editing": bool(request.GET.get("edit")), **check}
    if request.method == "GET" and request.GET.get("tab") != "yaml":
        try:
            document_forms = protocol_form.forms_from_text(editor_text)
        except protocol_form.Unrepresentable as error:
            context["unrepresentable"] = error.reasons
        else:
            draft_form = DraftForm(initial=initial, user=user)
            return protocol_form.render_editor(
                request, draft_form=draft_form, tab="form", document_forms=document_forms, **context
            )
    return protocol_form.render_editor(request, draft_form=None, yaml_form=form, tab="yaml", **context)


@require_POST
@member_view
def protocol_validate(request):
    """The editor's live check: the problems (step, field, message) or a summary of the parsed protocol."""
    form = ProtocolEditorForm(request.POST, request.FILES or None, user=request.user)
    return render(request, "evlims/protocols/_validation.html", _check(form, request.user))


def _review(request, pk, form_class, call, done: str):
    version = scoped(selectors.protocol_version_get, request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(version, form.cleaned_data["reason"])
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, f"{version} was not {done}: {message}")
        else:
            messages.success(request, f"{version} {done}.")
    return redirect("evlims:protocol-version", pk=version.pk)


@require_POST
@member_view
def version_approve(request, pk):
    return _review(
        request,
        pk,
        ApproveForm,
        lambda version, reason: services.protocol_version_approve(actor=request.user, version=version, reason=reason),
        "approved",
    )


@require_POST
@member_view
def version_retire(request, pk):
    return _review(
        request,
        pk,
        RetireForm,
        lambda version, reason: services.protocol_version_retire(actor=request.user, version=version, reason=reason),
        "retired",
    )
