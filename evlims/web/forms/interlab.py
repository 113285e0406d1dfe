"""Forms of inter-laboratory comparisons. They validate input only; the services write."""

from django import forms

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...interlab.models import ComparisonRound, Quantity
from ...standards.models import ReferenceMaterialLot

REASON_HELP = "Kept in the audit trail."
ROUND_HELP = {
    "sigma_pt": "How far from the assigned value a result may lie for |z| = 1, in the unit of the quantity "
    "(ISO 13528 §8: from experience, a fitness-for-purpose target or a precision study).",
    "reference_value": "Only when the assigned value is a reference value (e.g. a reference material's lot).",
}


class RoundCreateForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=Lab.objects.none(), label="Coordinating lab")
    scheme_code = forms.CharField(
        label="Scheme code", max_length=40, help_text="An existing scheme of the lab, or a new one."
    )
    scheme_name = forms.CharField(label="Scheme name", max_length=200, required=False, help_text="For a new scheme.")
    quantity = forms.ChoiceField(label="Quantity compared", choices=Quantity.choices)
    code = forms.CharField(label="Round code", max_length=40)
    material = forms.CharField(label="Material of the items", max_length=200)
    sigma_pt = forms.FloatField(
        label="σ_pt (standard deviation for proficiency assessment)", help_text=ROUND_HELP["sigma_pt"]
    )
    sigma_pt_basis = forms.CharField(label="Basis of σ_pt", max_length=300, required=False)
    assigned_from = forms.ChoiceField(label="Assigned value from", choices=ComparisonRound.AssignedFrom.choices)
    reference_lot = forms.ModelChoiceField(
        queryset=ReferenceMaterialLot.objects.none(),
        label="Reference-material lot",
        required=False,
        help_text="Its assigned value and standard uncertainty become the reference value (unless given below).",
    )
    reference_value = forms.FloatField(label="Reference value", required=False, help_text=ROUND_HELP["reference_value"])
    reference_uncertainty = forms.FloatField(label="Reference value standard uncertainty", required=False)
    results_due = forms.DateField(label="Results due", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, WRITER_ROLES))
        self.fields["reference_lot"].queryset = ReferenceMaterialLot.objects.filter(
            lab_id__in=labs_where(user, WRITER_ROLES)
        ).order_by("material", "lot_number")
        if self.fields["lab"].queryset.count() == 1:
            self.fields["lab"].initial = self.fields["lab"].queryset.get()


class EnrolForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=Lab.objects.none(), label="Participant lab")

    def __init__(self, *args, round, **kwargs):
        super().__init__(*args, **kwargs)
        enrolled = round.participants.values_list("lab_id", flat=True)
        self.fields["lab"].queryset = Lab.objects.exclude(pk__in=enrolled).order_by("name")


class ItemForm(forms.Form):
    participant = forms.ModelChoiceField(queryset=None, label="Participant")
    code = forms.CharField(label="Item code", max_length=40, required=False, help_text="Left empty, it is numbered.")
    aliquot = forms.CharField(
        label="Aliquot barcode",
        max_length=40,
        required=False,
        help_text="An aliquot of your lab handed over on site (its custody is recorded); empty for a kit.",
    )

    def __init__(self, *args, round, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participant"].queryset = round.participants.order_by("code")
        self.fields["participant"].label_from_instance = lambda p: f"{p.code} ({p.lab.name})"


class ChecksForm(forms.Form):
    homogeneity = forms.CharField(
        label="Homogeneity: each item measured twice",
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One item per line, the two results separated by a comma or a space (ISO 13528 Annex B).",
    )
    stability_before = forms.CharField(
        label="Stability: results before", required=False, max_length=10_000, help_text="Separated by commas."
    )
    stability_after = forms.CharField(
        label="Stability: results after", required=False, max_length=10_000, help_text="Separated by commas."
    )

    @staticmethod
    def _numbers(text, field, line=None):
        values = []
        for part in text.replace(";", ",").replace(",", " ").split():
            try:
                values.append(float(part))
            except ValueError:
                where = f"line {line}: " if line else ""
                raise forms.ValidationError({field: f"{where}“{part}” is not a number."}) from None
        return values

    def clean(self):
        data = super().clean()
        text = data.get("homogeneity", "") or ""
        data["homogeneity_pairs"] = [
            self._numbers(line, "homogeneity", number)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
        data["stability_before"] = self._numbers(data.get("stability_before") or "", "stability_before")
        data["stability_after"] = self._numbers(data.get("stability_after") or "", "stability_after")
        return data


class ResultForm(forms.Form):
    value = forms.FloatField(label="Result", required=False)
    standard_uncertainty = forms.FloatField(label="Standard uncertainty u(x)", required=False, min_value=0)
    coverage_factor = forms.FloatField(label="Coverage factor k", initial=2.0, min_value=0.1, max_value=10)
    method = forms.CharField(label="Method", max_length=200, required=False)
    measurement = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Or a result recorded in your lab",
        help_text="Its headline figure is reported instead of a typed value.",
    )
    reason = forms.CharField(label="Reason", required=False, help_text=REASON_HELP)

    def __init__(self, *args, measurements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measurement"].queryset = measurements
        self.fields["measurement"].label_from_instance = lambda m: (
            f"{m.preparation or m.input_sample} — {m.get_kind_display()} ({m.measured_at:%Y-%m-%d})"
        )

    def clean(self):
        data = super().clean()
        if data.get("value") is None and data.get("measurement") is None:
            self.add_error("value", "Give a result, or choose a result recorded in your lab.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, help_text=REASON_HELP)
