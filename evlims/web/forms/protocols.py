"""Protocol editor and review forms, and the YAML a new version starts from.

The protocol text is checked by ``services.parse_protocol_text`` (the Django-free ``protocols`` library
underneath), the same path saving takes, so what the editor reports is what saving would refuse.
"""

import re

import yaml
from django import forms
from django.core.exceptions import ValidationError

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where

MAX_UPLOAD_BYTES = 512 * 1024
STEP_FIELD_KEY = re.compile(r"^steps\[(?P<step>\d+)\]\.(?P<field>.+)$")
# Messages of the protocols library repeat where the problem is ("step 2 (sec), field 'x': ..."); the
# problem table has columns for that, so the prefix is dropped there.
LOCATION_PREFIX = re.compile(r"^(?:step \d+(?: \((?P<method>\w+)\))?(?:, )?)?(?:field '[^']*')?(?:protocol)?: ")
SEMVER = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)")


class ProtocolEditorForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="The lab that owns the new version.")
    source_text = forms.CharField(
        required=False,
        label="Protocol (YAML)",
        widget=forms.Textarea(attrs={"rows": 28, "class": "font-monospace", "spellcheck": "false"}),
    )
    source_file = forms.FileField(
        required=False, label="Or upload a YAML file", help_text="Its text replaces what is in the editor."
    )
    reason = forms.CharField(required=False, max_length=500, label="Note for the audit trail")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, WRITER_ROLES)).order_by("name")
        self.fields["source_file"].widget.attrs["accept"] = ".yaml,.yml,text/yaml,text/plain"

    def clean_source_file(self):
        upload = self.cleaned_data["source_file"]
        if upload is None:
            return None
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KB; a protocol is far smaller.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text; save the YAML as UTF-8 and upload it again.")

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("source_file") or cleaned.get("source_text", "")
        if "source_file" in cleaned and not text.strip():
            self.add_error("source_text", "Write the protocol here or upload a YAML file.")
        cleaned["text"] = text
        return cleaned


class ApproveForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, label="Note")


class RetireForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=500, label="Why is it retired?", widget=forms.Textarea(attrs={"rows": 2})
    )


def problems(error: ValidationError) -> list[dict]:
    """A service's refusal as rows {step, method, field, message}, in step order."""
    if not hasattr(error, "error_dict"):
        return [{"step": None, "method": None, "field": None, "message": message} for message in error.messages]
    rows = []
    for key, messages in error.message_dict.items():
        match = STEP_FIELD_KEY.match(key)
        step, field = (int(match["step"]), match["field"]) if match else (None, key)
        for message in messages:
            prefix = LOCATION_PREFIX.match(message)
            rows.append(
                {
                    "step": step,
                    "method": prefix["method"] if prefix else None,
                    "field": None if field in ("definition", "source_text") else field,
                    "message": message[prefix.end() :] if prefix else message,
                }
            )
    return sorted(rows, key=lambda row: (row["step"] or 0, row["field"] or ""))


def next_version(version: str, taken) -> str:
    """The next free minor version after ``version`` ('1.0.0' → '1.1.0', skipping versions that exist)."""
    match = SEMVER.match(version)
    if match is None:
        return version
    major, minor = int(match["major"]), int(match["minor"])
    while True:
        minor += 1
        candidate = f"{major}.{minor}.0"
        if candidate not in taken:
            return candidate


def _step_for_editing(step: dict) -> dict:
    params = {name: step.get("originals", {}).get(name, value) for name, value in step.get("params", {}).items()}
    written = {"method": step["method"]}
    for key in ("label", "notes"):
        if step.get(key):
            written[key] = step[key]
    written["params"] = params
    if step.get("tolerances"):
        written["tolerances"] = step["tolerances"]
    return written


def editable_yaml(version, *, new_version: str | None = None) -> str:
    """The YAML a user edits to derive a new version: the version's own text when it was written in a lab,
    otherwise its stored definition written back with parameters as originally written."""
    if version.source_text and not version.from_library:
        text = version.source_text
        if new_version:
            text = re.sub(r"(?m)^version:.*$", f"version: {new_version}", text, count=1)
            text = re.sub(r"(?m)^status:.*$", "status: draft", text, count=1)
        return text
    definition = version.definition
    document = {
        "schema_version": definition.get("schema_version", 1),
        "slug": definition["slug"],
        "version": new_version or definition["version"],
        "title": definition["title"],
        "status": "draft",
        "citations": definition.get("citations", []),
        "description": definition.get("description", ""),
        "steps": [_step_for_editing(step) for step in definition.get("steps", [])],
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def canonical_yaml(version) -> str:
    """What the content hash covers, as sorted YAML with canonical values: two versions compare line by line
    whoever wrote them and in whatever units."""
    definition = version.definition
    content = {
        "schema_version": definition.get("schema_version"),
        "slug": definition.get("slug"),
        "version": definition.get("version"),
        "title": definition.get("title"),
        "status": definition.get("status"),
        "citations": definition.get("citations", []),
        "description": definition.get("description", ""),
        "steps": [
            {key: step.get(key) for key in ("method", "label", "notes", "params", "tolerances") if step.get(key)}
            for step in definition.get("steps", [])
        ],
    }
    return yaml.safe_dump(content, sort_keys=True, allow_unicode=True, width=100, default_flow_style=False)
