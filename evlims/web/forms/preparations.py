"""Preparation forms: the list filter, its storage and claims, and functional studies done with it. The isolation
services write."""

from django import forms

from protocols.catalogue import method_label

from ...isolation.models import EVPreparation, FunctionalControl
from ...samples.vocabulary import biofluid_choices

STORAGE_FIELDS = (
    "final_volume_ul",
    "buffer",
    "storage_container",
    "storage_temperature_c",
    "storage_duration_days",
    "storage_freeze_thaw_cycles",
    "storage",
)
CLAIM_FIELDS = ("claimed_subtype", "biogenesis_evidence", "functional_cargo")


class EditReasonMixin(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record is being changed.",
    )


class PreparationEditForm(EditReasonMixin, forms.ModelForm):
    """Storage of the preparation (as MISEV2023 asks for it) and what is claimed about it."""

    class Meta:
        model = EVPreparation
        fields = (*STORAGE_FIELDS, *CLAIM_FIELDS)
        labels = {"final_volume_ul": "Final volume (µL)", "claimed_subtype": "The preparation is called"}
        help_texts = {
            "storage_duration_days": "Leave empty to derive it from the run's completion and the last result.",
            "storage_freeze_thaw_cycles": "Times the preparation was frozen and thawed before it was characterised "
            "(0 if used fresh).",
            "claimed_subtype": "A biogenesis term (exosomes, ectosomes, microvesicles) needs the evidence below; "
            "otherwise use a generic term such as small EVs.",
            "functional_cargo": "Only if a function is attributed to a cargo of the EVs.",
        }
        widgets = {"biogenesis_evidence": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version
        self.fields["final_volume_ul"].min_value = 0.1

    def clean_final_volume_ul(self):
        volume = self.cleaned_data.get("final_volume_ul")
        if volume is not None and volume <= 0:
            raise forms.ValidationError("The final volume must be more than 0 µL.")
        return volume

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.changed_data}

    def storage_fields(self):
        return [self[name] for name in STORAGE_FIELDS]

    def claim_fields(self):
        return [self[name] for name in CLAIM_FIELDS]


class FunctionalStudyForm(EditReasonMixin):
    """One functional study done with the preparation."""

    assay = forms.CharField(max_length=200, help_text="e.g. endothelial tube formation, T-cell proliferation.")
    readout = forms.CharField(
        required=False, max_length=200, help_text="What was measured, e.g. total tube length per field."
    )
    dose = forms.CharField(
        required=False, max_length=120, label="Dose", help_text="With its unit, e.g. 1×10⁹ particles/mL or 10 µg."
    )
    controls = forms.MultipleChoiceField(
        required=False,
        choices=FunctionalControl.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Controls run alongside",
    )
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def study(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("assay", "readout", "dose", "controls", "notes")}


class PreparationFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Preparation, run or sample barcode"}),
    )
    run = forms.ModelChoiceField(required=False, queryset=None, empty_label="Any run")
    biofluid = forms.ChoiceField(required=False)
    method = forms.ChoiceField(required=False, label="Isolation method")
    include_unproduced = forms.BooleanField(
        required=False,
        label="Include planned and aborted",
        help_text="Also list the preparations of planned, in-progress and aborted runs (barcodes issued, no EVs).",
    )

    def __init__(self, *args, runs, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["run"].queryset = runs
        self.fields["run"].label_from_instance = lambda run: f"{run.code} — {run.protocol_name}"
        self.fields["biofluid"].choices = [("", "Any biofluid"), *biofluid_choices()]
        self.fields["method"].choices = [("", "Any method"), *[(method, method_label(method)) for method in methods]]
