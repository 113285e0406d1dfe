"""Flow cytometry forms: an FCS file uploaded for a preparation (or as a control), gates typed or drawn on the
density plot (flow-gates.js fills the next empty row from a rectangle dragged on the plot), and a bead
calibration from the beads' medians and their assigned values."""

from django import forms

from ...core.tenancy import INGEST_ROLES, WRITER_ROLES, labs_where
from ...cytometry.models import FlowAcquisition, FlowCalibration
from ...isolation.models import EVPreparation

GATE_ROWS = 6


def _styled(form) -> None:
    """Bootstrap's classes on every widget (selects, file inputs and boxes each their own)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            continue
        css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


GATE_FIELDS = ("name", "x", "x_min", "x_max", "y", "y_min", "y_max", "marker", "parent")


class FlowUploadForm(forms.Form):
    file = forms.FileField(label="FCS file", help_text="FCS 2.0, 3.0 or 3.1, exactly as the cytometer wrote it.")
    preparation = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="barcode", empty_label="No preparation (beads, buffer)"
    )
    role = forms.ChoiceField(label="What the tube held", choices=FlowAcquisition.Role.choices)
    controls = forms.ModelChoiceField(
        label="Control of", queryset=None, required=False, empty_label="Not a control", help_text="The EV sample file."
    )
    dilution_factor = forms.FloatField(
        label="Dilution factor", required=False, min_value=1, help_text="1 for undiluted; needed for a concentration."
    )
    volume_ul = forms.FloatField(
        label="Analysed volume (µL)", required=False, min_value=0.000001, help_text="When the file has no $VOL."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        labs = labs_where(user, INGEST_ROLES)
        self.fields["preparation"].queryset = EVPreparation.objects.filter(lab_id__in=labs).order_by("-id")
        self.fields["preparation"].label_from_instance = lambda p: p.barcode
        self.fields["controls"].queryset = FlowAcquisition.objects.filter(
            lab_id__in=labs, role=FlowAcquisition.Role.SAMPLE
        ).order_by("-id")
        self.fields["controls"].label_from_instance = lambda a: f"{a.file_name} ({a.created_at:%Y-%m-%d})"
        _styled(self)


class GateForm(forms.Form):
    """Up to six gates in rows; empty rows are left out. Bounds are in the axis's units (calibrated where a
    calibration of the channel is chosen)."""

    particle_gate = forms.CharField(label="Particle gate", max_length=60, help_text="The gate counted as EVs.")
    calibrations = forms.ModelMultipleChoiceField(
        label="Calibrations", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    dilution_factor = forms.FloatField(label="Dilution factor", required=False, min_value=1)
    volume_ul = forms.FloatField(label="Analysed volume (µL)", required=False, min_value=0.000001)
    reason = forms.CharField(label="Reason", required=False, max_length=500)

    def __init__(self, *args, acquisition, **kwargs):
        super().__init__(*args, **kwargs)
        names = [p["name"] for p in acquisition.header.get("parameters", [])]
        axis_choices = [("", "—"), *[(n, n) for n in names]]
        for row in range(GATE_ROWS):
            self.fields[f"g{row}_name"] = forms.CharField(label=f"Gate {row + 1} name", required=False, max_length=60)
            self.fields[f"g{row}_x"] = forms.ChoiceField(
                label=f"Gate {row + 1} x", choices=axis_choices, required=False
            )
            self.fields[f"g{row}_y"] = forms.ChoiceField(
                label=f"Gate {row + 1} y", choices=axis_choices, required=False
            )
            for bound in ("x_min", "x_max", "y_min", "y_max"):
                label = f"Gate {row + 1} {bound.replace('_', ' ')}"
                self.fields[f"g{row}_{bound}"] = forms.FloatField(label=label, required=False)
            self.fields[f"g{row}_marker"] = forms.CharField(label=f"Gate {row + 1} marker", required=False)
            self.fields[f"g{row}_parent"] = forms.CharField(label=f"Gate {row + 1} inside", required=False)
        self.fields["calibrations"].queryset = FlowCalibration.objects.filter(lab_id=acquisition.lab_id)
        _styled(self)
        self.rows = [[self[f"g{row}_{name}"] for name in GATE_FIELDS] for row in range(GATE_ROWS)]

    def gates(self) -> list[dict]:
        data = self.cleaned_data
        gates = []
        for row in range(GATE_ROWS):
            if not data.get(f"g{row}_name"):
                continue
            gate = {name: data.get(f"g{row}_{name}") for name in GATE_FIELDS}
            gates.append({k: ("" if v is None and k in {"y", "marker", "parent"} else v) for k, v in gate.items()})
        return gates


class CalibrationForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None)
    name = forms.CharField(max_length=120, help_text="e.g. “FL1 MESF, December”.")
    kind = forms.ChoiceField(label="Calibration", choices=FlowCalibration.Kind.choices)
    channel = forms.CharField(label="Channel", max_length=60, help_text="The parameter name ($PnN), e.g. FL1-H.")
    units = forms.ChoiceField(label="Units", choices=FlowCalibration.Units.choices)
    beads = forms.CharField(label="Beads", max_length=200, help_text="e.g. Spherotech RCP-30-5A")
    lot = forms.CharField(label="Lot", max_length=80, required=False)
    calibrated_on = forms.DateField(label="Calibrated on", widget=forms.DateInput(attrs={"type": "date"}))
    measured = forms.CharField(label="Bead medians (a.u.)", help_text="One per population, comma-separated.")
    assigned = forms.CharField(label="Assigned values", help_text="MESF/ERF, or diameters in nm; same order.")
    particle_index = forms.FloatField(label="EV refractive index", required=False, initial=1.40)
    bead_index = forms.FloatField(label="Bead refractive index", required=False, initial=1.591)
    wavelength_nm = forms.FloatField(label="Wavelength (nm)", required=False, initial=488)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from ...core.models import Lab

        self.fields["lab"].queryset = Lab.objects.filter(pk__in=labs_where(user, WRITER_ROLES))
        _styled(self)

    @staticmethod
    def _numbers(text: str, field: str) -> list[float]:
        try:
            return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError(f"{field}: numbers separated by commas, e.g. 0, 792, 2079.") from exc

    def clean_measured(self):
        return self._numbers(self.cleaned_data["measured"], "Bead medians")

    def clean_assigned(self):
        return self._numbers(self.cleaned_data["assigned"], "Assigned values")

    def optics(self) -> dict:
        data = self.cleaned_data
        keys = ("particle_index", "bead_index", "wavelength_nm")
        return {key: data[key] for key in keys if data.get(key) is not None} | {"medium_index": 1.333}


class GateImportForm(forms.Form):
    """Gates of a FlowJo workspace or a Gating-ML 2.0 file (FCMPASS, FlowKit), applied to this file."""

    gates_file = forms.FileField(
        label="Gate file", help_text="A FlowJo workspace (.wsp) or a Gating-ML 2.0 file (.xml); rectangle gates."
    )
    particle_gate = forms.CharField(
        label="Particle gate", required=False, max_length=60, help_text="Empty: the file's first top-level gate."
    )
    dilution_factor = forms.FloatField(label="Dilution factor", required=False, min_value=1)
    volume_ul = forms.FloatField(label="Analysed volume (µL)", required=False, min_value=0.000001)
    reason = forms.CharField(label="Reason", required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="import_%s", **kwargs)
        _styled(self)


class DataSharingForm(forms.Form):
    """Where the file is shared (MIFlowCyt-EV's data sharing)."""

    data_repository = forms.CharField(
        label="Data repository", required=False, max_length=80, help_text="e.g. FlowRepository"
    )
    data_accession = forms.CharField(
        label="Accession", required=False, max_length=80, help_text="e.g. FR-FCM-Z2ZY for FlowRepository"
    )
    data_url = forms.CharField(
        label="Address of the shared data", required=False, max_length=300, help_text="Empty for FlowRepository."
    )
    reason = forms.CharField(label="Reason", required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="share_%s", **kwargs)
        _styled(self)
