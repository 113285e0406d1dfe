"""The protocol form editor: title, description, citations and an ordered list of steps, each a method of the
catalogue with its parameters as labelled fields.

The forms only carry text. ``ProtocolDocumentForms.document()`` turns it into the same document a YAML file
holds (``protocols.catalogue.parameter_value``), and every refusal comes from the protocol library's
validation, placed back on the field it concerns in the lab's words (``protocols.messages``). A document read
from YAML fills the forms with ``form_data``, which refuses what the form cannot show rather than drop it.
"""

import yaml
from django import forms
from django.forms import formset_factory

from protocols.catalogue import method_catalogue, method_entry, parameter_text, parameter_value
from protocols.messages import placed_errors

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where

DOCUMENT_KEYS = ("schema_version", "slug", "version", "title", "status", "citations", "description", "steps")
CITATION_KEYS = ("text", "doi", "url", "verified")
STEP_KEYS = ("method", "label", "notes", "params", "tolerances")
TOLERANCE_KEYS = ("abs", "rel")
PERCENT = 100
SMALL_INPUT = "form-control form-control-sm"


class Unrepresentable(ValueError):
    """A document the form cannot show without losing part of it; ``reasons`` say which parts."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class DraftForm(forms.Form):
    """What saving needs besides the protocol: the lab that owns the draft and the note for the audit trail."""

    lab = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="The lab that owns the new version.")
    reason = forms.CharField(required=False, max_length=500, label="Note for the audit trail")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, WRITER_ROLES)).order_by("name")


class HeaderForm(forms.Form):
    title = forms.CharField(required=False, widget=forms.TextInput(attrs={"class": "form-control"}))
    slug = forms.CharField(
        required=False,
        label="Identifier",
        widget=forms.TextInput(attrs={"class": "form-control font-monospace"}),
        help_text="Lower-case words joined by hyphens, shared by every version, e.g. lab-sec-plasma.",
    )
    version = forms.CharField(
        required=False, help_text="e.g. 1.0.0", widget=forms.TextInput(attrs={"class": "form-control font-monospace"})
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))
    status = forms.CharField(required=False, widget=forms.HiddenInput, initial="draft")


class CitationForm(forms.Form):
    text = forms.CharField(
        required=False,
        label="Reference",
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
    )
    doi = forms.CharField(required=False, label="DOI", widget=forms.TextInput(attrs={"class": SMALL_INPUT}))
    url = forms.CharField(required=False, label="Web address", widget=forms.TextInput(attrs={"class": SMALL_INPUT}))
    verified = forms.BooleanField(required=False, label="Checked against the source")


def _choice_widget(choices, current) -> forms.Select:
    options = [("", "—")] + [(choice["value"], choice["label"]) for choice in choices]
    if current and current not in {value for value, _ in options}:
        options.append((current, current))  # kept as written; validation says it is not one of the choices
    return forms.Select(choices=options, attrs={"class": "form-select"})


class StepForm(forms.Form):
    """One step: its method, label and notes, then one field per parameter of the chosen method (and, for
    numeric parameters compared in runs, a tolerance either way in the parameter's unit or in %)."""

    method = forms.ChoiceField(
        required=False, choices=(), widget=forms.Select(attrs={"class": "form-select step-method"})
    )
    label = forms.CharField(required=False, label="Short label", widget=forms.TextInput(attrs={"class": SMALL_INPUT}))
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "Choose a method…")] + [
            (method["code"], method["label"]) for method in method_catalogue()
        ]
        self.method = self._chosen("method")
        self.entry = method_entry(self.method)
        self.param_rows = []
        for param in self.entry["parameters"] if self.entry else []:
            self._add_parameter(param)
        if self.entry and self.entry["free_parameters"]:
            self.fields["free"] = forms.CharField(
                required=False,
                label="More parameters",
                help_text="One per line, name: value (e.g. cross-flow: 1 mL/min).",
                widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
            )

    def _chosen(self, name: str) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix(name), "") or ""
        return self.initial.get(name, "") or ""

    def _add_parameter(self, param: dict) -> None:
        name = f"p_{param['name']}"
        attrs = {"autocomplete": "off", "data-parameter": param["name"], "class": SMALL_INPUT}
        if param["required"]:
            attrs["aria-required"] = "true"
        if param["kind"] == "choice" or param["kind"] == "boolean":
            choices = param["choices"] or [{"value": "yes", "label": "yes"}, {"value": "no", "label": "no"}]
            widget = _choice_widget(choices, self._chosen(name))
            widget.attrs.update(attrs | {"class": "form-select form-select-sm"})
        elif param["kind"] == "records":
            attrs["rows"] = 3
            widget = forms.Textarea(attrs=attrs)
        else:
            widget = forms.TextInput(attrs=attrs)
        self.fields[name] = forms.CharField(
            required=False, label=param["label"], help_text=param["help"], widget=widget, strip=False
        )
        row = {"param": param, "name": name, "tolerance": None}
        if param["tolerance"]:
            self.fields[f"tabs_{param['name']}"] = forms.CharField(
                required=False,
                label=f"± {param['unit']}" if param["unit"] else "±",
                widget=forms.TextInput(attrs={"class": SMALL_INPUT, "autocomplete": "off"}),
            )
            self.fields[f"trel_{param['name']}"] = forms.CharField(
                required=False, label="± %", widget=forms.TextInput(attrs={"class": SMALL_INPUT, "autocomplete": "off"})
            )
            row["tolerance"] = (f"tabs_{param['name']}", f"trel_{param['name']}")
        self.param_rows.append(row)

    def parameter_fields(self):
        """Rows for the template: the parameter entry with its bound field and its tolerance fields."""
        return [
            {
                "param": row["param"],
                "field": self[row["name"]],
                "tolerance": [self[name] for name in row["tolerance"]] if row["tolerance"] else None,
            }
            for row in self.param_rows
        ]

    def tolerance_fields(self):
        return [row for row in self.parameter_fields() if row["tolerance"]]

    def text(self, name: str) -> str:
        value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return (value or "").replace("\r\n", "\n").strip()

    def is_empty(self) -> bool:
        return not any(self.text(name) for name in self.fields if name not in ("ORDER", "DELETE"))

    def step(self) -> dict:
        """The step as a document holds it; the method's parameters typed, nothing refused here."""
        step: dict = {"method": self.method}
        for key in ("label", "notes"):
            if self.text(key):
                step[key] = self.text(key)
        params, tolerances = {}, {}
        for row in self.param_rows:
            text = self.text(row["name"])
            if text:
                params[row["param"]["name"]] = parameter_value(row["param"], text)
            if row["tolerance"]:
                tolerance = _tolerance(self.text(row["tolerance"][0]), self.text(row["tolerance"][1]))
                if tolerance:
                    tolerances[row["param"]["name"]] = tolerance
        if "free" in self.fields and self.text("free"):
            params.update(_free_parameters(self.text("free")))
        step["params"] = params
        if tolerances:
            step["tolerances"] = tolerances
        return step


def _tolerance(absolute: str, relative: str) -> dict:
    tolerance: dict = {}
    if absolute:
        tolerance["abs"] = parameter_value({"kind": "number"}, absolute)
    if relative:
        percent = parameter_value({"kind": "number"}, relative.rstrip("% "))
        tolerance["rel"] = percent / PERCENT if isinstance(percent, int | float) else relative
    return tolerance


def _free_parameters(text: str) -> dict:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        loaded = None
    if isinstance(loaded, dict):
        return {str(key): value for key, value in loaded.items()}
    return {"free_text": text}  # not name: value lines; the loader keeps it as written under this name


CitationFormSet = formset_factory(CitationForm, extra=0, can_delete=True)
StepFormSet = formset_factory(StepForm, extra=0, can_delete=True, can_order=True)


class ProtocolDocumentForms:
    """The header form, the citations and the steps of one protocol, bound to a POST or filled from a document."""

    def __init__(self, data=None, initial: dict | None = None):
        initial = initial or {}
        self.header = HeaderForm(data, initial=initial.get("header"), prefix="doc")
        self.citations = CitationFormSet(data, initial=initial.get("citations"), prefix="citations")
        self.steps = StepFormSet(data, initial=initial.get("steps"), prefix="steps")
        self.problems: list[dict] = []

    def _valid(self) -> None:
        # Every field is optional text: this only fills cleaned_data, it refuses nothing the library would not.
        self.header.is_valid()
        self.citations.is_valid()
        self.steps.is_valid()

    def ordered_steps(self) -> list[StepForm]:
        """The step forms in the order chosen (position, then place on the page), without removed or empty ones."""
        self._valid()
        kept = [
            (form.cleaned_data.get("ORDER") or index + 1, index, form)
            for index, form in enumerate(self.steps.forms)
            if not form.cleaned_data.get("DELETE") and not form.is_empty()
        ]
        return [form for _, _, form in sorted(kept, key=lambda item: (item[0], item[1]))]

    def kept_citations(self) -> list[CitationForm]:
        self._valid()
        return [form for form in self.citations.forms if not form.cleaned_data.get("DELETE")]

    def document(self) -> dict:
        """The protocol document the forms describe, keys in the order a YAML file writes them."""
        self._valid()
        cleaned = self.header.cleaned_data
        header = {name: (cleaned.get(name) or "").replace("\r\n", "\n").strip() for name in HeaderForm.base_fields}
        citations = []
        for form in self.kept_citations():
            data = form.cleaned_data
            citation = {
                key: data[key].replace("\r\n", "\n").strip()
                for key in ("text", "doi", "url")
                if (data.get(key) or "").strip()
            }
            if not citation and not data.get("verified"):
                continue
            citation["verified"] = bool(data.get("verified"))
            citations.append(citation)
        return {
            "schema_version": 1,
            "slug": header["slug"],
            "version": header["version"],
            "title": header["title"],
            "status": header["status"] or "draft",
            "citations": citations,
            "description": header["description"],
            "steps": [form.step() for form in self.ordered_steps()],
        }

    def place(self, errors: list[dict]) -> list[dict]:
        """The library's errors in words, each attached to its field; rows gain ``name`` (the input's name)."""
        steps = self.ordered_steps()
        citations = [form for form in self.kept_citations() if not _blank_citation(form)]
        rows = placed_errors(errors)
        for row in rows:
            form, field = _target(row, steps, citations, self)
            row["name"] = form.add_prefix(field) if form is not None and field else None
            if form is not None:
                form.add_error(field if field in form.fields else None, row["text"])
            else:
                self.problems.append(row)
        return rows


def _blank_citation(form) -> bool:
    data = form.cleaned_data
    return not any((data.get(key) or "").strip() for key in ("text", "doi", "url")) and not data.get("verified")


def _target(row: dict, steps: list, citations: list, forms_: ProtocolDocumentForms):
    """The form and field name an error belongs to (None, None when it concerns the whole protocol)."""
    field = row["field"] or ""
    if row["step"] is not None:
        if not 1 <= row["step"] <= len(steps):
            return None, None
        form = steps[row["step"] - 1]
        if field.startswith("tolerances."):
            parts = field.split(".")
            side = "trel" if parts[-1] == "rel" else "tabs"
            return form, f"{side}_{parts[1]}"
        if row["parameter"]:
            name = f"p_{row['parameter']}"
            return form, (name if name in form.fields else ("free" if "free" in form.fields else None))
        return form, (field if field in ("method", "label", "notes") else None)
    parts = field.split(".")
    if parts[0] == "citations" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) <= len(citations):
        return citations[int(parts[1]) - 1], (parts[2] if len(parts) > 2 else None)
    if parts[0] in forms_.header.fields:
        return forms_.header, parts[0]
    return None, None


def form_data(document: object) -> dict:
    """A document read from YAML as the forms' initial data: {header, citations, steps}. Raises Unrepresentable
    naming what the form has no place for (unknown keys, methods or parameters), so nothing is dropped."""
    if not isinstance(document, dict):
        raise Unrepresentable(["the YAML is not a protocol (a mapping with title, steps, …)"])
    reasons = [f"'{key}' is not part of a protocol" for key in document if key not in DOCUMENT_KEYS]
    if document.get("schema_version", 1) != 1:
        reasons.append("only format version 1 can be shown in the form")
    citations = document.get("citations") or []
    steps = document.get("steps") or []
    if not isinstance(citations, list) or not all(isinstance(c, dict) for c in citations):
        reasons.append("the citations are not a list of references")
        citations = []
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        reasons.append("the steps are not a list of steps")
        steps = []
    for number, citation in enumerate(citations, start=1):
        reasons += [
            f"citation {number}: '{key}' has no place in the form" for key in citation if key not in CITATION_KEYS
        ]
    step_rows = []
    for number, step in enumerate(steps, start=1):
        row, problems = _step_initial(step, number)
        reasons += problems
        step_rows.append(row)
    if reasons:
        raise Unrepresentable(reasons)
    header = {key: _text(document.get(key)) for key in ("title", "slug", "version", "description", "status")}
    return {
        "header": header,
        "citations": [
            {key: _text(c.get(key)) for key in ("text", "doi", "url")} | {"verified": c.get("verified") is True}
            for c in citations
        ],
        "steps": [row | {"ORDER": number} for number, row in enumerate(step_rows, start=1)],
    }


def _text(value) -> str:
    return "" if value is None else parameter_text(None, value)


def _step_initial(step: dict, number: int) -> tuple[dict, list[str]]:
    entry = method_entry(step.get("method"))
    if entry is None:
        return {}, [f"step {number}: the method '{step.get('method')}' is not in the list of methods"]
    problems = [f"step {number}: '{key}' has no place in the form" for key in step if key not in STEP_KEYS]
    params = step.get("params") or {}
    tolerances = step.get("tolerances") or {}
    if not isinstance(params, dict) or not isinstance(tolerances, dict):
        return {}, [f"step {number}: the parameters or tolerances are not name: value pairs"]
    known = {param["name"]: param for param in entry["parameters"]}
    row = {"method": entry["code"], "label": _text(step.get("label")), "notes": _text(step.get("notes"))}
    free = {}
    for name, value in params.items():
        if name in known:
            row[f"p_{name}"] = parameter_text(known[name], value)
        elif entry["free_parameters"]:
            free[name] = value
        else:
            problems.append(f"step {number}: '{name}' is not a parameter of {entry['label']}")
    if free:
        row["free"] = yaml.safe_dump(free, sort_keys=False, allow_unicode=True, default_flow_style=False).strip()
    for name, tolerance in tolerances.items():
        if not (name in known and known[name]["tolerance"] and isinstance(tolerance, dict)):
            problems.append(f"step {number}: the tolerance of '{name}' has no place in the form")
            continue
        if set(tolerance) - set(TOLERANCE_KEYS):
            problems.append(f"step {number}: the tolerance of '{name}' is not ± value and/or ± %")
        if "abs" in tolerance:
            row[f"tabs_{name}"] = _text(tolerance["abs"])
        if "rel" in tolerance:
            rel = tolerance["rel"]
            row[f"trel_{name}"] = f"{rel * PERCENT:.12g}" if isinstance(rel, int | float) else _text(rel)
    return row, problems


def document_yaml(document: dict) -> str:
    """The YAML text of a document the form produced (what is saved, and what the YAML tab shows)."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
