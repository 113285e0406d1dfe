"""The plate layout editor's form: name, lab, instrument, curve model, and per well a role and a value (the
standard's concentration in µg/mL, or the sample's label). Without scripts it is a table of wells with selects;
plate-editor.js draws the same fields as a plate to click and drag across, so both save the same layout.

The form checks the fields it owns; the layout itself is checked by the service (``instruments.layouts``), whose
refusals name the well (``wells.B3``) and are put back on that well's fields here.
"""

from django import forms

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...instruments.layouts import FITS, ROLE_LABELS, plate_columns, plate_rows, well_names
from ...instruments.models import Instrument, PlateLayout

ROLE_CHOICES = [("empty", "Empty"), *[(key, label) for key, label in ROLE_LABELS.items() if key != "empty"]]


def role_field(well: str) -> str:
    return f"role_{well}"


def value_field(well: str) -> str:
    return f"value_{well}"


class PlateLayoutForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="The lab whose uploads may use it.")
    name = forms.CharField(max_length=120, help_text="As the lab calls it, e.g. “BCA duplicates, 6 standards”.")
    instrument = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Any plate reader of the lab",
        help_text="Tie the layout to one plate reader, or leave it for any.",
    )
    fit = forms.ChoiceField(
        label="Standard curve",
        choices=list(FITS.items()),
        help_text="Linear, or quadratic for the curvature of BCA above about 1000 µg/mL.",
    )
    plate_format = forms.TypedChoiceField(
        coerce=int, choices=PlateLayout.Format.choices, widget=forms.HiddenInput, label="Plate"
    )

    def __init__(self, *args, user, plate_format: int, layout: PlateLayout | None = None, **kwargs):
        data = args[0] if args else kwargs.get("data")
        if layout is not None and data is None:
            kwargs["initial"] = {**initial_of(layout), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.layout = layout
        self.plate_format = layout.plate_format if layout is not None else plate_format
        writable = labs_where(user, WRITER_ROLES)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=writable).order_by("name")
        if len(writable) == 1 or layout is not None:
            self.fields["lab"].initial = layout.lab_id if layout is not None else writable[0]
            self.fields["lab"].widget = forms.HiddenInput()
        self.fields["instrument"].queryset = Instrument.objects.filter(
            lab_id__in=writable, kind=Instrument.Kind.PLATE_READER
        ).select_related("lab")
        self.fields["instrument"].label_from_instance = lambda item: f"{item.name} ({item.lab.name})"
        self.fields["plate_format"].initial = self.plate_format
        for well in well_names(self.plate_format):
            self.fields[role_field(well)] = forms.ChoiceField(
                choices=ROLE_CHOICES, required=False, label=f"Well {well}", initial="empty"
            )
            self.fields[value_field(well)] = forms.CharField(
                required=False, max_length=80, label=f"Well {well}: µg/mL or sample label"
            )
        if layout is not None:
            self.fields["reason"] = forms.CharField(
                max_length=500, label="Reason for the change", help_text="Kept in the audit trail with the change."
            )
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, initial=layout.version)

    def rows(self):
        """(row letter, [(well, role field, value field)]) for the plate table."""
        return [
            (
                row,
                [
                    (f"{row}{column}", self[role_field(f"{row}{column}")], self[value_field(f"{row}{column}")])
                    for column in plate_columns(self.plate_format)
                ],
            )
            for row in plate_rows(self.plate_format)
        ]

    def columns(self):
        return plate_columns(self.plate_format)

    def clean_plate_format(self):
        return self.plate_format  # fixed by the page (a new layout) or by the layout itself

    def clean(self):
        cleaned = super().clean()
        lab, instrument = cleaned.get("lab"), cleaned.get("instrument")
        if lab and instrument and instrument.lab_id != lab.pk:
            self.add_error("instrument", f"{instrument.name} belongs to {instrument.lab.name}, not {lab.name}.")
        return cleaned

    def wells(self) -> dict:
        """The wells as typed, for the service to check: {well: {"role", "ug_per_ml" | "name"}}. A sample whose
        label is unchanged keeps the dilution factor it was saved with (set through the API)."""
        kept = self.layout.wells if self.layout is not None else {}
        wells = {}
        for well in well_names(self.plate_format):
            role = self.cleaned_data.get(role_field(well)) or "empty"
            value = (self.cleaned_data.get(value_field(well)) or "").strip()
            if role == "empty":
                continue
            if role == "standard":
                wells[well] = {"role": role, "ug_per_ml": value}
            elif role == "sample":
                wells[well] = {"role": role, "name": value}
                before = kept.get(well) or {}
                if before.get("name") == value and before.get("dilution_factor"):
                    wells[well]["dilution_factor"] = before["dilution_factor"]
            else:
                wells[well] = {"role": role}
        return wells

    def put_layout_errors(self, errors: dict) -> None:
        """A service refusal ({"wells.B3": [...], "wells": [...], "name": [...]}) put on the fields it names."""
        for key, messages in errors.items():
            if key.startswith("wells."):
                well = key.split(".", 1)[1]
                field = value_field(well) if value_field(well) in self.fields else None
                self.add_error(field, messages)
            elif key in self.fields:
                self.add_error(key, messages)
            else:
                self.add_error(None, messages)


def initial_of(layout: PlateLayout) -> dict:
    initial = {
        "lab": layout.lab_id,
        "name": layout.name,
        "instrument": layout.instrument_id,
        "fit": layout.fit,
        "plate_format": layout.plate_format,
    }
    for well, spec in layout.wells.items():
        initial[role_field(well)] = spec["role"]
        if spec["role"] == "standard":
            initial[value_field(well)] = f"{spec['ug_per_ml']:g}"
        elif spec["role"] == "sample":
            initial[value_field(well)] = spec["name"]
    return initial


class PlateLayoutRetireForm(forms.Form):
    reason = forms.CharField(
        max_length=500, label="Reason", help_text="Why the layout is no longer offered; kept in the audit trail."
    )
