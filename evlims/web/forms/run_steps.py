"""The form of one protocol step as recorded in a run: a field per parameter of the method's JSON Schema, the
protocol's values first, typed values read into the shapes the isolation services expect.

Also how a canonical protocol value reads on a page (``shown_value``, ``unit_label``).
"""

import json
import re

import yaml
from django import forms

import protocols as protocol_library

# "1.10, 1.19", "1.10; 1.19" or "1.08 g/mL, 1.12 g/mL" (as the protocol writes it) is a range; "1,15" is one
# number with a decimal comma.
RANGE_SEPARATOR = re.compile(r"\d(?:\s*[^\d\s,;]+)?\s*(?:;|,\s)\s*\d")

# Schema x-unit → how a canonical number reads on a page.
UNIT_SUFFIX = {"g": " × g", "degC": " °C", "%": " %", None: ""}


def unit_label(unit: str | None) -> str:
    return UNIT_SUFFIX.get(unit, f" {unit}")


def shown_value(value) -> str:
    """A canonical protocol value as a form's starting text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if any(isinstance(item, dict) for item in value):
            return json.dumps(value, ensure_ascii=False)
        return ", ".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


class StepRecordForm(forms.Form):
    """What was done at one protocol step: one field per parameter of the method's JSON Schema.

    Parameters the protocol sets come first, prefilled with its values (as written, units included);
    the method's other parameters follow, empty. Numbers with a unit are passed on as text, so the service
    reads "100,000 x g" or "1.5 h" and keeps what was typed.
    """

    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed to correct a step of a completed run, or of a run whose preparation is approved.",
    )

    def __init__(self, *args, definition: dict, record=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.method = definition["method"]
        schema = protocol_library.method_schema(self.method)
        self.specs = dict(schema["properties"])
        set_by_protocol = list(definition.get("params", {}))
        for name in set_by_protocol:
            self.specs.setdefault(name, {"type": "string", "description": "Parameter of this protocol."})
        ordered = set_by_protocol + [name for name in self.specs if name not in set_by_protocol]
        self.protocol_fields = set_by_protocol
        originals = definition.get("originals", {})
        # A step recorded before is shown as it was typed; values typed without a unit only exist canonically.
        recorded = (record.observed | record.observed_original) if record else None
        notes, reason = self.fields.pop("notes"), self.fields.pop("reason")
        for name in ordered:
            self.fields[name] = self._field(name, self.specs[name])
            if recorded is not None:
                if name in recorded:
                    self.initial[name] = shown_value(recorded[name])
            elif name in definition.get("params", {}):
                self.initial[name] = shown_value(originals.get(name, definition["params"][name]))
        self.fields["notes"] = notes
        self.fields["reason"] = reason
        if record is not None:
            self.initial["notes"] = record.notes

    @staticmethod
    def _field(name: str, spec: dict) -> forms.Field:
        unit = spec.get("x-unit")
        # The schema's title is the parameter's name in the lab's words; the unit follows it, as in the catalogue.
        label = spec.get("title") or name.replace("_", " ").capitalize()
        if unit:
            label = f"{label} ({unit_label(unit).strip()})"
        help_text = spec.get("description", "")
        if unit:
            help_text = f"{help_text} Unit: {unit_label(unit).strip()} unless you write another.".strip()
        if spec.get("enum"):
            words = spec.get("x-enum-labels") or {}
            choices = [("", "—")] + [(value, words.get(value, value.replace("_", " "))) for value in spec["enum"]]
            return forms.ChoiceField(required=False, choices=choices, label=label, help_text=help_text)
        if spec.get("type") == "boolean":
            return forms.ChoiceField(
                required=False, choices=[("", "—"), ("yes", "yes"), ("no", "no")], label=label, help_text=help_text
            )
        widget = forms.TextInput(attrs={"autocomplete": "off"})
        if spec.get("type") == "array" and spec.get("items", {}).get("type") == "object":
            widget = forms.Textarea(attrs={"rows": 3, "class": "font-monospace"})
            help_text = f"{help_text} Write a list, e.g. [{{target: CD9, clone: HI9a}}].".strip()
        return forms.CharField(required=False, label=label, help_text=help_text, widget=widget)

    def _value(self, name: str, text: str):
        """Typed value of one filled-in field, in the shape the service expects."""
        spec = self.specs[name]
        kind = spec.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        unit = spec.get("x-unit")
        if spec.get("enum"):
            return text
        if kind == "boolean":
            return text == "yes"
        if kind == "array":
            item_type = spec.get("items", {}).get("type")
            if item_type == "object":
                try:
                    value = yaml.safe_load(text)
                except yaml.YAMLError:
                    raise forms.ValidationError("Write a list of mappings, e.g. [{target: CD9}].")
                if not isinstance(value, list):
                    raise forms.ValidationError("Write a list of mappings, e.g. [{target: CD9}].")
                return value
            items = _split_list(text)
            if item_type == "integer":
                if not all(re.fullmatch(r"-?\d+", item) for item in items):
                    raise forms.ValidationError("Write whole numbers separated by commas, e.g. 7, 8, 9.")
                return [int(item) for item in items]
            if item_type == "number" and not unit:
                return [self._plain_number(item) for item in items]
            return items
        if "array" in kinds and RANGE_SEPARATOR.search(text):
            return _split_list(text)  # a [low, high] range of a number-or-range parameter
        if kind == "integer":
            if not re.fullmatch(r"\s*-?\d+\s*", text):
                raise forms.ValidationError("Write a whole number.")
            return int(text)
        if kind == "number" and not unit:
            return self._plain_number(text)
        return text

    @staticmethod
    def _plain_number(text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            raise forms.ValidationError(f"'{text}' is not a number.")

    def clean(self):
        cleaned = super().clean()
        observed = {}
        for name in self.specs:
            text = (cleaned.get(name) or "").strip()
            if not text:
                continue
            try:
                observed[name] = self._value(name, text)
            except forms.ValidationError as error:
                self.add_error(name, error)
        cleaned["observed"] = observed
        return cleaned

    def parameter_fields(self):
        return [self[name] for name in self.protocol_fields]

    def other_fields(self):
        return [self[name] for name in self.specs if name not in self.protocol_fields]
