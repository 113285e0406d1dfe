"""Filters of the method comparison page and the forms of control materials and recomputes.
Forms validate input only; services do the writing."""

import re
from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from ...core.ids import parse_id
from ...core.models import Lab
from ...core.tenancy import labs_where, visible_lab_ids
from ...isolation.models import IsolationRun
from ...isolation.selectors import protocol_versions_for
from ...metrics.selectors import MetricFilters
from ...metrics.services.controls import (
    ADMIN_ROLES,
    BASELINE_HELP,
    MATERIAL_FIELDS,
    MAX_BASELINE_POINTS,
    MIN_BASELINE_POINTS,
    TARGET_HELP,
)
from ...metrics.westgard import full_baseline_points
from ...samples.vocabulary import biofluid_choices
from ..display import label

# Line styles of the size overlay run out after six series; more would no longer read apart.
MAX_OVERLAYS = 6
DATE_WIDGET = forms.DateInput(attrs={"type": "date"})
# The dashboards show the last year of runs unless asked for another window: a lab's whole history is
# read only on request.
DEFAULT_MONTHS = 12
WINDOW_MONTHS = (3, 6, 12, 24, 36, 60, 120)
# Baseline runs below which estimated control limits are provisional (thresholds.yaml, westgard.baseline).
FULL_BASELINE_POINTS = full_baseline_points()


def window_start(months: int, today: date | None = None) -> date:
    """First day of the calendar month ``months - 1`` months before this one: the window holds ``months``
    whole calendar months, the current one included."""
    today = today or timezone.localdate()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


class DashboardWindowForm(forms.Form):
    months = forms.TypedChoiceField(
        required=False,
        coerce=int,
        choices=[(months, f"Last {months} months") for months in WINDOW_MONTHS],
        label="Figures of runs started in the",
        error_messages={"invalid_choice": "Choose one of the listed windows (%(value)s is not one of them)."},
    )

    def months_shown(self) -> int:
        return self.cleaned_data.get("months") or DEFAULT_MONTHS


class PreparationIdsField(forms.MultipleChoiceField):
    """Preparation ids ticked in the table; which of them the user may see is decided by the selector."""

    def valid_value(self, value):
        return parse_id(str(value)) is not None


class ComparisonFilterForm(forms.Form):
    biofluid = forms.ChoiceField(required=False, choices=[("", "All biofluids"), *biofluid_choices()])
    protocol_version = forms.ModelChoiceField(required=False, queryset=None, empty_label="All protocols")
    method = forms.ChoiceField(required=False)
    operator = forms.ModelChoiceField(required=False, queryset=None, empty_label="All operators")
    started_from = forms.DateField(required=False, widget=DATE_WIDGET, label="Runs from")
    started_to = forms.DateField(required=False, widget=DATE_WIDGET, label="Runs to")
    overlay = PreparationIdsField(required=False, label="Size distributions of")

    def __init__(self, data, *args, user, **kwargs):
        # Without a "Runs from" in the query (first visit, links) the last DEFAULT_MONTHS are compared; a
        # submitted empty "Runs from" asks for every run.
        if "started_from" not in data:
            data = data.copy()
            data["started_from"] = window_start(DEFAULT_MONTHS).isoformat()
        super().__init__(data, *args, **kwargs)
        labs = visible_lab_ids(user)
        # A semi-join on the lab's runs, not a DISTINCT over every run joined to its version.
        used = IsolationRun.objects.filter(lab_id__in=labs).values("protocol_version")
        self.fields["protocol_version"].queryset = protocol_versions_for(user).filter(pk__in=used)
        methods = (
            IsolationRun.objects.filter(lab_id__in=labs).exclude(method="").order_by("method").values_list("method")
        )
        self.fields["method"].choices = [("", "All methods"), *((m, label(m, "method")) for (m,) in methods.distinct())]
        operators = get_user_model().objects.filter(
            pk__in=IsolationRun.objects.filter(lab_id__in=labs).values("operator")
        )
        self.fields["operator"].queryset = operators.order_by("username")
        self.fields["operator"].label_from_instance = lambda user: user.get_username()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_from"), cleaned.get("started_to")
        if start and end and start > end:
            self.add_error("started_to", "The end of the range is before its start.")
        return cleaned

    def clean_overlay(self):
        ids = [int(value) for value in self.cleaned_data["overlay"]]
        if len(ids) > MAX_OVERLAYS:
            raise forms.ValidationError(f"Overlay at most {MAX_OVERLAYS} preparations at a time.")
        return ids

    # The filters in the page's row: (field, width in Bootstrap's 12 columns).
    SHOWN = (("biofluid", 2), ("protocol_version", 2), ("method", 2), ("operator", 2), ("started_from", 1))
    SHOWN += (("started_to", 1),)

    def shown_fields(self):
        """(field, its widget's HTML, width) in the markup crispy's Bootstrap 5 pack writes: rendering each field
        through crispy's own template took about a third of the page's time."""
        for name, width in self.SHOWN:
            field = self[name]
            kind = "dateinput form-control" if name.startswith("started_") else "select form-select"
            attrs = {"class": kind + (" is-invalid" if field.errors else "")}
            if field.errors:
                attrs["aria-describedby"] = f"{field.auto_id}_error"
            yield field, field.as_widget(attrs=attrs), width

    def filters(self) -> MetricFilters:
        data = self.cleaned_data
        return MetricFilters(
            biofluid=data["biofluid"] or None,
            protocol_version=data["protocol_version"].pk if data["protocol_version"] else None,
            method=data["method"] or None,
            started_from=data["started_from"],
            started_to=data["started_to"],
            operator=data["operator"].pk if data["operator"] else None,
        )


def _barcodes(text: str) -> list[str]:
    return [code for code in re.split(r"[\s,;]+", text) if code]


class SampleBarcodesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "EVS-000123, EVS-000124"})

    def to_python(self, value):
        return _barcodes(super().to_python(value))


class ControlMaterialForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None)
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    target_mean_particles_per_ug = forms.FloatField(
        required=False,
        label="Target mean (particles/µg)",
        help_text=TARGET_HELP,
    )
    target_sd_particles_per_ug = forms.FloatField(required=False, label="Target SD (particles/µg)")
    baseline_points = forms.IntegerField(
        min_value=MIN_BASELINE_POINTS,
        max_value=MAX_BASELINE_POINTS,
        initial=FULL_BASELINE_POINTS,
        label="Baseline runs",
        help_text=BASELINE_HELP,
    )
    sample_barcodes = SampleBarcodesField(
        required=False, label="Samples of the material", help_text="Barcodes, separated by commas or new lines."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, ADMIN_ROLES) if user else [])


class ControlMaterialEditForm(ControlMaterialForm):
    """The material as saved, to change: its lab stays; the samples listed are every sample it links (one left
    out is unlinked); a reason is required, since its charts are judged again on what is saved."""

    reason = forms.CharField(
        label="Reason for the change",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail with the old and new values.",
    )

    def __init__(self, *args, material, **kwargs):
        initial = {name: getattr(material, name) for name in MATERIAL_FIELDS}
        initial["sample_barcodes"] = "\n".join(sorted(sample.barcode for sample in material.samples.all()))
        super().__init__(*args, initial=initial, user=None, **kwargs)
        del self.fields["lab"]
        every_sample = "Every sample of the material, by barcode (commas or new lines); one taken out is unlinked."
        self.fields["sample_barcodes"].help_text = every_sample

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in (*MATERIAL_FIELDS, "sample_barcodes")}


class LinkSamplesForm(forms.Form):
    sample_barcodes = SampleBarcodesField(label="Link more samples", help_text="Barcodes of this lab's samples.")


class RecomputeForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, ADMIN_ROLES))
