"""The loader's refusals in the lab's words, placed at the step and field they concern.

``validate_protocol`` names each problem by step number, method code and field path
(``step 2 (sec), field 'bed_volume_ml': must be greater than 0 mL``). A form shows it next to the field as
"Step 2, Bed volume: must be greater than 0 mL": the location is taken from the error's step and field, and the
problem is reworded with the catalogue's labels, units and value labels, never a code or a document path.
"""

from __future__ import annotations

import re

from protocols.catalogue import method_entry, method_label, parameter_entry
from protocols.errors import describe_location

DOCUMENT_LABELS = {
    "schema_version": "Format version",
    "slug": "Identifier",
    "version": "Version",
    "title": "Title",
    "status": "Status",
    "citations": "Citations",
    "description": "Description",
    "steps": "Steps",
    "method": "Method",
    "label": "Short label",
    "notes": "Notes",
    "params": "Parameters",
    "tolerances": "Tolerances",
}
CITATION_LABELS = {"text": "Reference", "doi": "DOI", "url": "Web address", "verified": "Checked against the source"}
PATTERN_HINTS = {
    "slug": "use lower-case letters and digits joined by hyphens, e.g. lab-sec-plasma",
    "version": "write a version such as 1.0.0",
    "doi": "write the DOI as 10.xxxx/…, without https://doi.org/",
    "url": "write a web address starting with https://",
}
# "got -3.0" reads "got -3": a number typed whole is shown whole.
WHOLE_FLOAT = re.compile(r"(?<=got )(-?\d+)\.0(?!\d)")
UNIT_WORDS = ((re.compile(r" x g\b"), " × g"), (re.compile(r"\bdegC\b"), "°C"))


def _param_label(method: str | None, name: str) -> str:
    param = parameter_entry(method, name) if method else None
    return param["label"] if param else DOCUMENT_LABELS.get(name, name.replace("_", " "))


def _choice_labels(method: str | None, name: str, values) -> list[str]:
    param = parameter_entry(method, name) if method else None
    labels = {choice["value"]: choice["label"] for choice in (param or {}).get("choices") or []}
    return [labels.get(value, str(value)) for value in values]


def _words(method: str | None, text: str) -> str:
    """Codes left in a message (other parameters, methods, unit codes) replaced by their labels."""
    entry = method_entry(method) if method else None
    names = sorted((p["name"] for p in (entry or {}).get("parameters", [])), key=len, reverse=True)
    for name in names:
        text = re.sub(rf"(?<![\w'])'?{re.escape(name)}'?(?![\w'])", _param_label(method, name), text)
    if method:
        text = re.sub(rf"\bfor {re.escape(method)}\b", f"for {method_label(method)}", text)
    for pattern, replacement in UNIT_WORDS:
        text = pattern.sub(replacement, text)
    return WHOLE_FLOAT.sub(r"\1", text)


# What a value in a schema unit is, for a message about text that is not one.
QUANTITY_WORDS = {"°C": "a temperature", "× g": "a centrifugal force", "min": "a duration", "h": "a duration"}


def _reworded(method: str | None, name: str | None, problem: str) -> str:
    param = parameter_entry(method, name) if method and name else None
    expected = param["expected"] if param else "a value"
    item = re.match(r"^item (?P<item>[\w/]+): (?P<rest>.*)$", problem)
    if item:
        if param and param["kind"] == "records" and "of type object" in item["rest"]:
            shape = ", ".join(f"{field}: …" for field in param["record_fields"])
            return f"line {item['item']}: write it as {shape}"
        return f"entry {item['item']}: {_reworded(method, None, item['rest'])}"
    if problem.startswith("required parameter is missing"):
        return f"required: enter {expected}" if param and param["kind"] != "choice" else "required: choose one"
    if problem == "required field is missing":
        return "required"
    match = re.match(r"^cannot read '(?P<raw>.*)' as [^:]+: (?P<why>.*)$", problem, re.S)
    if match:
        why = match["why"]
        if why.startswith("it does not start with a number"):
            what = QUANTITY_WORDS.get(param["unit"] if param else None, "a number")
            return f"“{match['raw']}” is not {what}; enter {expected}"
        return f"enter {expected} ({_words(method, why)})"
    match = re.match(r"^must be one of .*, got (?P<got>.*)$", problem)
    if match and param and param["choices"]:
        return f"choose one of {', '.join(choice['label'] for choice in param['choices'])}"
    match = re.match(r"^must be of type (?P<type>[\w ]+), got (?P<got>.*)$", problem)
    if match:
        return f"enter {expected}, got {match['got']}"
    match = re.match(r"^give at least one of (?P<names>.*)$", problem)
    if match:
        labels = [_param_label(method, n.strip()) for n in match["names"].split(",")]
        return f"give at least one of {' or '.join(labels)}"
    match = re.match(r"^only applies when (?P<other>\w+) is (?P<values>.*?) \(got .*\)$", problem)
    if match:
        values = _choice_labels(method, match["other"], match["values"].split(" or "))
        return f"only applies when {_param_label(method, match['other'])} is {' or '.join(values)}"
    if problem.startswith("unknown parameter"):
        return f"is not a parameter of {method_label(method)}"
    if problem.startswith("unknown method"):
        return "choose a method from the list"
    if problem.startswith("unknown rotor"):
        return "choose a rotor from the rotor table"
    return _words(method, problem)


def _document_problem(field: str, problem: str) -> str:
    last = field.split(".")[-1]
    if "does not match" in problem:
        return PATTERN_HINTS.get(last, problem)
    if "should be non-empty" in problem or "is too short" in problem:
        return "give at least one" if last in ("citations", "steps") else "required"
    if problem == "required field is missing":
        return "required"
    if problem == "unknown field":
        return "is not part of a protocol"
    return problem


def _document_place(field: str | None) -> str:
    """'citations.2.doi' → 'Citation 2, DOI'; 'title' → 'Title'."""
    if not field:
        return "Protocol"
    parts = field.split(".")
    if parts[0] == "citations" and len(parts) >= 2:
        place = f"Citation {parts[1]}"
        return f"{place}, {CITATION_LABELS.get(parts[2], parts[2])}" if len(parts) > 2 else place
    return DOCUMENT_LABELS.get(parts[0], parts[0])


def _step_place(step: int, method: str | None, field: str | None) -> tuple[str | None, str]:
    """The parameter a step error concerns (or None) and its place in words: 'Step 2, Speed'."""
    if not field:
        return None, f"Step {step}"
    parts = field.split(".")
    if parts[0] == "tolerances" and len(parts) >= 2:
        side = {"abs": " (±)", "rel": " (± %)"}.get(parts[2], "") if len(parts) > 2 else ""
        return parts[1], f"Step {step}, {_param_label(method, parts[1])} tolerance{side}"
    label = DOCUMENT_LABELS.get(field) if field in ("method", "label", "notes", "params") else None
    return (None if label else field), f"Step {step}, {label or _param_label(method, field)}"


def placed_errors(errors: list[dict]) -> list[dict]:
    """The loader's errors as rows {step, method, field, parameter, place, message, text}: ``parameter`` the
    parameter name a step error concerns (None for the method, label, notes or the whole step), ``place`` and
    ``message`` in words, ``text`` the two joined ("Step 2, Speed: enter a number in × g")."""
    rows = []
    # A parameter that was given but could not be read is also reported missing: its reading error says more.
    refused = {(e.get("step"), e.get("field")) for e in errors if "required parameter is missing" not in e["message"]}
    for error in errors:
        step, method, field = error.get("step"), error.get("method"), error.get("field")
        if "required parameter is missing" in error["message"] and (step, field) in refused:
            continue
        prefix = f"{describe_location(step, method, field)}: "
        problem = error["message"][len(prefix) :] if error["message"].startswith(prefix) else error["message"]
        if step is not None:
            parameter, place = _step_place(step, method, field)
            message = _reworded(method, parameter, problem)
        else:
            parameter, place = None, _document_place(field)
            message = _document_problem(field or "", problem)
        rows.append(
            {
                "step": step,
                "method": method,
                "field": field,
                "parameter": parameter,
                "place": place,
                "message": message,
                "text": f"{place}: {message}",
            }
        )
    return rows
