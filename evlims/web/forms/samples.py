"""Sample search, intake and edit forms. Forms validate input only; services do the writing."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from ...core.tenancy import WRITER_ROLES, labs_where
from ...samples import selectors
from ...samples.models import Sample
from ...samples.vocabulary import biofluid_choices, biofluids

# Seconds are kept in the widget so an untouched date is not seen as changed on edit.
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")

# Pre-analytical fields by topic; a group with "biofluids" only applies to those sample sources,
# so the form shows (and keeps) it only for them.
BLOOD_CODES = tuple(entry["code"] for entry in biofluids() if entry.get("blood"))
CULTURE_CODES = tuple(entry["code"] for entry in biofluids() if entry.get("culture"))

# Sources cleared by a low-speed spin rather than prepared by plasma/serum spins (urine, CSF, saliva, milk…).
CLEARED_CODES = tuple(
    entry["code"]
    for entry in biofluids()
    if not entry.get("blood") and not entry.get("culture") and entry["code"] != "tissue"
)

PREANALYTICAL_GROUPS = (
    {
        "key": "collection",
        "title": "Collection",
        "fields": ("collected_at", "received_at", "external_id", "protease_inhibitors"),
    },
    {
        "key": "blood",
        "title": "Blood collection and processing",
        "biofluids": BLOOD_CODES,
        "fields": (
            "tube_type",
            "anticoagulant",
            "needle_gauge",
            "discard_tube",
            "fasting",
            "processing_delay_min",
            "processing_temperature_c",
            "prep_spin_g",
            "prep_spin_min",
            "prep_spin_count",
            "prep_spin_temperature_c",
            "prep_spin_brake",
        ),
    },
    {
        "key": "blood_qc",
        "title": "Quality control",
        "biofluids": BLOOD_CODES,
        "fields": ("hemolysis_a414", "residual_platelets_per_ul"),
    },
    {
        "key": "urine",
        "title": "Urine",
        "biofluids": ("urine",),
        "fields": ("urine_collection", "urine_normalization"),
    },
    {
        "key": "clearing",
        "title": "Clearing spin",
        "biofluids": CLEARED_CODES,
        "fields": ("pre_cleared", "pre_clearing_g"),
    },
    # Tissue is not a registrable source yet; tissue-like samples are registered as "other".
    {"key": "tissue", "title": "Tissue", "biofluids": ("tissue", "other"), "fields": ("tissue_mass_mg",)},
    {
        "key": "culture",
        "title": "Cell culture",
        "biofluids": CULTURE_CODES,
        "fields": (
            "cell_line",
            "cell_line_cellosaurus",
            "passage",
            "culture_medium",
            "serum_supplement",
            "serum_percent",
            "serum_ev_depleted",
            "serum_ev_depletion_method",
            "conditioning_time_h",
            "cell_count_at_harvest",
            "viability_pct_at_harvest",
        ),
    },
    {
        "key": "storage",
        "title": "Storage",
        "fields": ("storage_temperature_c", "storage_duration_days", "remarks"),
    },
)

PREANALYTICAL_FIELDS = tuple(name for group in PREANALYTICAL_GROUPS for name in group["fields"])


def groups_for_biofluid(biofluid: str) -> list[dict]:
    return [g for g in PREANALYTICAL_GROUPS if "biofluids" not in g or biofluid in g["biofluids"]]


class SampleSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Barcode, external id, donor code or aliquot barcode"}),
    )
    biofluid = forms.ChoiceField(required=False, choices=[("", "All biofluids"), *biofluid_choices()])
    project = forms.ModelChoiceField(required=False, queryset=None, empty_label="All projects")
    collected_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    collected_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    flag = forms.ChoiceField(
        required=False,
        label="Quality flag",
        choices=[("", "Any quality"), *selectors.QUALITY_FLAG_CHOICES],
        help_text="Pre-analytical flags: processing delay, hemolysis, platelets, spins, urine storage.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = selectors.projects_for(user)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("collected_from"), cleaned.get("collected_to")
        if start and end and start > end:
            self.add_error("collected_to", "The end of the range is before its start.")
        return cleaned


class SampleForm(forms.ModelForm):
    """The sample record; fields of groups that do not apply to the chosen biofluid are cleared."""

    class Meta:
        model = Sample
        fields = ("project", "donor", "biofluid", "volume_ml", *PREANALYTICAL_FIELDS)
        widgets = {
            "collected_at": DATETIME_WIDGET,
            "received_at": DATETIME_WIDGET,
            "remarks": forms.Textarea(attrs={"rows": 2}),
            "biofluid": forms.Select(attrs={"data-biofluid-select": ""}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        writable = labs_where(user, WRITER_ROLES)
        self.fields["project"].queryset = selectors.projects_for(user).filter(lab_id__in=writable)
        self.fields["donor"].queryset = selectors.donors_for(user).filter(lab_id__in=writable)
        for name in ("collected_at", "received_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.cleared_fields: list[str] = []
        # The database constraints, restated per field so the message lands next to the input.
        self.fields["volume_ml"].validators.append(
            MinValueValidator(Decimal("0.001"), "The volume must be more than 0 mL.")
        )
        viability = self.fields["viability_pct_at_harvest"].validators
        viability += [
            MinValueValidator(0, "Give a percentage from 0 to 100."),
            MaxValueValidator(100, "Give a percentage from 0 to 100."),
        ]

    def clean(self):
        cleaned = super().clean()
        applying = {name for g in groups_for_biofluid(cleaned.get("biofluid", "")) for name in g["fields"]}
        for name in PREANALYTICAL_FIELDS:
            if name not in applying and name in cleaned:
                cleaned[name] = getattr(self.fields[name], "empty_value", None)
                if self.initial.get(name) not in (None, ""):
                    self.cleared_fields.append(name)
        return cleaned

    def field_groups(self):
        """[(group, [bound fields])] for the template, which shows or hides groups by biofluid."""
        return [(group, [self[name] for name in group["fields"]]) for group in PREANALYTICAL_GROUPS]


class SampleIntakeForm(SampleForm):
    barcode = forms.CharField(
        required=False, max_length=40, help_text="Leave empty to issue the next barcode automatically."
    )
    aliquot_count = forms.IntegerField(
        required=False, min_value=0, max_value=384, initial=0, label="Number of aliquots"
    )
    aliquot_volume_ul = forms.DecimalField(
        required=False, min_value=0.1, max_digits=10, decimal_places=1, label="Volume of each aliquot (µL)"
    )
    box = forms.ModelChoiceField(
        required=False,
        queryset=None,
        empty_label="Not placed yet",
        help_text="Aliquots go to its first free positions.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["box"].queryset = selectors.boxes_for(user).filter(lab_id__in=labs_where(user, WRITER_ROLES))

    def clean(self):
        cleaned = super().clean()
        count, volume = cleaned.get("aliquot_count") or 0, cleaned.get("aliquot_volume_ul")
        if count and volume is None:
            self.add_error("aliquot_volume_ul", "Give the volume of each aliquot.")
        if cleaned.get("box") and not count:
            self.add_error("box", "A box is only used when aliquots are created.")
        return cleaned

    def aliquot_volumes(self) -> list:
        count = self.cleaned_data.get("aliquot_count") or 0
        return [self.cleaned_data["aliquot_volume_ul"]] * count


class SampleEditForm(SampleForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record is being changed.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version

    def changes(self) -> dict:
        """Fields the user changed plus those emptied because they no longer apply to the biofluid."""
        names = [n for n in self._meta.fields if n in self.changed_data or n in self.cleared_fields]
        return {name: self.cleaned_data[name] for name in names}
