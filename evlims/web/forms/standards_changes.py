"""The forms that correct or void a spike or a tracer readout: its figures, filled with the current version's,
and the reason, required (kept with the old version and in the audit trail)."""

from django import forms

from ...standards.units import READOUT_UNITS, SPIKE_UNITS
from .standards import (
    AMOUNT_DEFAULT,
    AMOUNT_UNCERTAINTY,
    BASIS,
    DILUTION,
    DILUTION_UNCERTAINTY,
    MOMENT,
    VOLUME_DEFAULT,
    VOLUME_UNCERTAINTY,
)

REASON = forms.CharField(
    max_length=1000,
    label="Reason for the change",
    widget=forms.Textarea(attrs={"rows": 2}),
    help_text="Kept with the old version and in the audit trail.",
)
SPIKE_FIGURES = (
    "amount",
    "amount_unit",
    "amount_uncertainty",
    "amount_uncertainty_basis",
    "matrix",
    "spiked_at",
    "notes",
)
READOUT_FIGURES = (
    "value",
    "unit",
    "standard_uncertainty",
    "replicates",
    "dilution_factor",
    "dilution_uncertainty",
    "volume_uncertainty_ul",
    "volume_uncertainty_basis",
    "measured_at",
    "notes",
)


def _units(units):
    return [(unit, unit) for unit in units]


class _Correction(forms.Form):
    figures: tuple = ()

    def __init__(self, *args, record=None, **kwargs):
        initial = {name: getattr(record, name) for name in self.figures} if record is not None else {}
        super().__init__(*args, initial=initial, **kwargs)

    def changes(self) -> dict:
        """The figures as the service takes them (a blank optional figure clears it)."""
        data = dict(self.cleaned_data)
        data.pop("reason")
        if data.get("dilution_factor") is None and "dilution_factor" in data:
            data["dilution_factor"] = 1.0
        return data


class SpikeCorrectionForm(_Correction):
    figures = SPIKE_FIGURES
    amount = forms.FloatField(label="Amount spiked")
    amount_unit = forms.ChoiceField(choices=_units(SPIKE_UNITS), label="Unit of the amount")
    amount_uncertainty = AMOUNT_UNCERTAINTY
    amount_uncertainty_basis = BASIS
    amount_uncertainty_default = AMOUNT_DEFAULT
    matrix = forms.CharField(max_length=80, help_text="What it was spiked into.")
    spiked_at = forms.DateTimeField(widget=MOMENT, label="Spiked at")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = REASON


class ReadoutCorrectionForm(_Correction):
    figures = READOUT_FIGURES
    value = forms.FloatField(min_value=0, label="Tracer readout")
    unit = forms.ChoiceField(choices=_units(READOUT_UNITS), label="Unit of the readout")
    standard_uncertainty = forms.FloatField(required=False, min_value=0, label="Standard uncertainty (k=1)")
    replicates = forms.IntegerField(min_value=1, max_value=1000)
    dilution_factor = DILUTION
    dilution_uncertainty = DILUTION_UNCERTAINTY
    volume_uncertainty_ul = VOLUME_UNCERTAINTY
    volume_uncertainty_basis = BASIS
    volume_uncertainty_default = VOLUME_DEFAULT
    measured_at = forms.DateTimeField(widget=MOMENT, label="Measured at")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = REASON


class VoidForm(forms.Form):
    reason = REASON

    def __init__(self, *args, **kwargs):
        # Its own ids: the correction form on the same page has a reason field too, and a label must find its own.
        kwargs.setdefault("auto_id", "void_%s")
        super().__init__(*args, **kwargs)
