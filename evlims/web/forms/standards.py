"""Forms of reference-material lots, spikes, tracer readouts and dilution series, in the lab's words and units.
Records named by their barcode or code are looked up among the user's labs only."""

from django import forms

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where, visible_lab_ids
from ...instruments.models import Instrument
from ...isolation.selectors import preparations_for, runs_for
from ...samples.selectors import aliquots_for
from ...standards.models import DilutionSeries, Readout
from ...standards.selectors import lots_for, spikes_for
from ...standards.units import CONCENTRATION_UNITS, READOUT_UNITS, SPIKE_UNITS

DATE = forms.DateInput(attrs={"type": "date"})
PIPETTE = "ISO 8655-2's maximum permissible errors for the pipette that holds it"
AMOUNT_UNCERTAINTY = forms.FloatField(
    required=False,
    min_value=0,
    label="Standard uncertainty of the amount (k=1)",
    help_text="Same unit as the amount, e.g. from the pipette's calibration. Left empty: none.",
)
AMOUNT_DEFAULT = forms.BooleanField(
    required=False, label="Pipetting uncertainty of the spiked volume from ISO 8655-2", help_text=f"Uses {PIPETTE}."
)
BASIS = forms.CharField(
    required=False, max_length=200, label="What that figure rests on", help_text="e.g. gravimetric check of 2026-03."
)
DILUTION = forms.FloatField(
    required=False,
    min_value=1,
    initial=1,
    label="Dilution before the reading",
    help_text="10 when the preparation was read at 1:10; 1 when undiluted. The readout is multiplied by it.",
)
DILUTION_UNCERTAINTY = forms.FloatField(
    required=False, min_value=0, label="Standard uncertainty of the dilution (k=1)", help_text="e.g. 0.2 for 10 ± 0.2."
)
VOLUME_UNCERTAINTY = forms.FloatField(
    required=False,
    min_value=0,
    label="Standard uncertainty of the final volume (µL, k=1)",
    help_text="The preparation's final volume as pipetted. Left empty: none.",
)
VOLUME_DEFAULT = forms.BooleanField(
    required=False, label="Pipetting uncertainty of the final volume from ISO 8655-2", help_text=f"Uses {PIPETTE}."
)
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"})
MAX_LINES = 50


def _units(units):
    return [(unit, unit) for unit in units]


def _found(queryset, field: str, value: str, what: str):
    value = (value or "").strip()
    if not value:
        return None
    found = queryset.filter(**{field: value}).first()
    if found is None:
        raise forms.ValidationError(f"No {what} of your labs is {value}.")
    return found


class LotForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None)
    material = forms.CharField(max_length=120, label="Reference material", help_text="e.g. rEV (recombinant GFP EVs)")
    lot_number = forms.CharField(max_length=60, label="Lot number")
    supplier = forms.CharField(max_length=120, required=False)
    readout = forms.ChoiceField(choices=Readout.choices, label="Readout of the tracer")
    assigned_value = forms.FloatField(label="Assigned value", help_text="The concentration on the certificate.")
    assigned_uncertainty = forms.FloatField(
        min_value=0, label="Standard uncertainty (k=1)", help_text="Same unit as the assigned value."
    )
    unit = forms.ChoiceField(choices=_units(CONCENTRATION_UNITS), label="Unit of the assigned value")
    expires_on = forms.DateField(required=False, widget=DATE, label="Expires on")
    storage = forms.CharField(max_length=200, required=False, help_text="e.g. −80 °C, single-use 10 µL vials")
    certificate = forms.CharField(max_length=200, required=False, label="Certificate or value assignment")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, WRITER_ROLES))


class SpikeForm(forms.Form):
    lot = forms.ModelChoiceField(queryset=None, label="Reference-material lot")
    aliquot = forms.CharField(required=False, max_length=40, label="Aliquot barcode", help_text="Spike an aliquot…")
    run = forms.CharField(
        required=False, max_length=40, label="Isolation run code", help_text="…or each input of an isolation run."
    )
    amount = forms.FloatField(label="Amount spiked")
    amount_unit = forms.ChoiceField(
        choices=_units(SPIKE_UNITS), label="Unit of the amount", help_text="A volume of the lot, or an amount."
    )
    amount_uncertainty = AMOUNT_UNCERTAINTY
    amount_uncertainty_basis = BASIS
    amount_uncertainty_default = AMOUNT_DEFAULT
    matrix = forms.CharField(
        required=False, max_length=80, help_text="What it was spiked into; left empty, the sample's biofluid."
    )
    spiked_at = forms.DateTimeField(required=False, widget=MOMENT, label="Spiked at", help_text="Left empty: now.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["lot"].queryset = lots_for(user).filter(lab_id__in=labs_where(user, WRITER_ROLES))

    def clean_aliquot(self):
        return _found(aliquots_for(self.user), "barcode", self.cleaned_data["aliquot"], "aliquot")

    def clean_run(self):
        return _found(runs_for(self.user), "code", self.cleaned_data["run"], "isolation run")

    def clean(self):
        data = super().clean()
        if not self.errors and (data.get("aliquot") is None) == (data.get("run") is None):
            raise forms.ValidationError("Give either an aliquot barcode or an isolation run code.")
        return data


class ReadoutForm(forms.Form):
    spike = forms.ModelChoiceField(queryset=None)
    preparation = forms.CharField(max_length=40, label="Preparation barcode")
    value = forms.FloatField(min_value=0, label="Tracer readout", help_text="As measured in the preparation.")
    unit = forms.ChoiceField(choices=_units(READOUT_UNITS), label="Unit of the readout")
    standard_uncertainty = forms.FloatField(
        required=False, min_value=0, label="Standard uncertainty (k=1)", help_text="Same unit; e.g. SD/√n."
    )
    replicates = forms.IntegerField(min_value=1, max_value=1000, initial=1)
    dilution_factor = DILUTION
    dilution_uncertainty = DILUTION_UNCERTAINTY
    volume_uncertainty_ul = VOLUME_UNCERTAINTY
    volume_uncertainty_basis = BASIS
    volume_uncertainty_default = VOLUME_DEFAULT
    measured_at = forms.DateTimeField(required=False, widget=MOMENT, label="Measured at", help_text="Left empty: now.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Reason for the change",
        help_text="Needed when the preparation is approved: the readout changes its recovery and voids the approval.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["spike"].queryset = spikes_for(user).filter(lab_id__in=labs_where(user, WRITER_ROLES))

    def clean_preparation(self):
        return _found(preparations_for(self.user), "barcode", self.cleaned_data["preparation"], "preparation")


class SeriesForm(forms.Form):
    preparation = forms.CharField(max_length=40, label="Preparation barcode")
    technique = forms.ChoiceField(choices=DilutionSeries.Technique.choices, label="Counting instrument")
    instrument = forms.ModelChoiceField(queryset=None, required=False, label="Instrument used")
    points = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "200, 4.9e8, 5.1e8\n400, 2.4e8, 2.6e8"}),
        label="Dilutions",
        help_text="One dilution a line: the dilution factor (200 for 1:200), then each reading of the diluted"
        " sample in particles/mL, separated by commas.",
    )
    measured_at = forms.DateTimeField(required=False, widget=MOMENT, label="Measured at", help_text="Left empty: now.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["instrument"].queryset = Instrument.objects.filter(lab_id__in=visible_lab_ids(user))

    def clean_preparation(self):
        return _found(preparations_for(self.user), "barcode", self.cleaned_data["preparation"], "preparation")

    def clean_points(self):
        lines = [line.strip() for line in self.cleaned_data["points"].splitlines() if line.strip()]
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(f"At most {MAX_LINES} dilutions in one series.")
        points = []
        for number, line in enumerate(lines, start=1):
            parts = [part.strip() for part in line.replace(";", ",").split(",") if part.strip()]
            try:
                values = [float(part) for part in parts]
            except ValueError:
                message = f"Line {number}: “{line[:60]}” is not numbers separated by commas."
                raise forms.ValidationError(message) from None
            if len(values) < 2:
                raise forms.ValidationError(f"Line {number}: give the dilution factor and at least one reading.")
            points.append({"dilution_factor": values[0], "readings": values[1:]})
        return points
