"""Instrument files: the upload form and the form that maps a parsed file's samples to preparations.

The forms check input; the ingestion services (evlims.instruments.services.file_ingestion) parse, validate again and do
every write.
"""

import json
import uuid

from django import forms

from ...conf import evlims_settings
from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...instruments.layouts import plate_map
from ...instruments.parsers import FORMATS
from ...instruments.selectors import plate_layouts_for
from ...instruments.services import PARTICLE_FORMATS
from ...isolation.selectors import preparations_for

FORMAT_CHOICES = [("auto", "Detect from the content"), *[(name, name) for name in FORMATS]]
FORMAT_LABELS = {
    "nanosight": "NanoSight NTA experiment summary (.csv)",
    "zetaview": "ZetaView size distribution (.txt)",
    "softmax": "SoftMax Pro plate export (.txt/.csv)",
    "ensight": "EnSight plate export (.csv)",
    "gen5": "Gen5 (BioTek) plate export as text (.txt)",
    "envision": "EnVision plate export (.csv)",
    "generic": "Other table, read through a column mapping",
}


def _json_object(text: str, what: str) -> dict | None:
    """Parse a JSON object typed or pasted into a form; the error says where the JSON breaks."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.")
    if not isinstance(value, dict):
        raise forms.ValidationError(f"The {what} must be a JSON object ({{…}}).")
    return value


def _layout_label(layout) -> str:
    instrument = f", {layout.instrument.name}" if layout.instrument_id else ""
    return (
        f"{layout.name} ({layout.get_plate_format_display()}{instrument}, version {layout.version}, {layout.lab.name})"
    )


class ResultUploadForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="The lab the results belong to.")
    file = forms.FileField(label="Instrument file")
    file_format = forms.ChoiceField(
        label="Format", choices=[(key, FORMAT_LABELS.get(key, label)) for key, label in FORMAT_CHOICES]
    )
    instrument = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Not recorded", help_text="The instrument that produced the file."
    )
    plate_layout = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Saved plate layout",
        empty_label="None (type a plate map below, or none)",
        help_text="Which wells hold standards, blanks and samples, as saved on the plate layouts page.",
    )
    plate_map = forms.CharField(
        required=False,
        label="Plate map (JSON, plate readers)",
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace", "spellcheck": "false"}),
        help_text='Which wells hold standards, blanks and samples, e.g. {"wells": {"A1:A2": {"role": "standard", '
        '"ug_per_ml": 2000}, "G1:H2": {"role": "blank"}, "A3:A4": {"role": "sample", "name": "EV 1"}}}. '
        "Without it a plate is shown but not quantified.",
    )
    read = forms.CharField(
        required=False,
        max_length=120,
        label="Read (Gen5, EnVision)",
        help_text="Which absorbance plate of a file holding several: its name as the file prints it (Read 1:562, "
        "Absorbance @ 562 (1.0s)) or its wavelength (562). Not needed when the file holds one.",
    )
    column_mapping = forms.CharField(
        required=False,
        label="Column mapping (JSON, other tables)",
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"}),
        help_text="For the 'generic' format: which column holds what. The instrument's saved mapping is used "
        "when this is empty.",
    )
    # Sent back with the file so a double-click or a resent form is answered with the first upload.
    upload_token = forms.CharField(widget=forms.HiddenInput, max_length=120)
    # The preparation whose page the upload started from (?preparation=): its mapping is pre-filled.
    preparation = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, user, instruments, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        writable = labs_where(user, WRITER_ROLES)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=writable).order_by("name")
        if len(writable) == 1:
            self.fields["lab"].initial = writable[0]
            self.fields["lab"].widget = forms.HiddenInput()
        self.fields["instrument"].queryset = instruments
        self.fields["instrument"].label_from_instance = lambda item: f"{item.name} ({item.lab.name})"
        self.fields["plate_layout"].queryset = plate_layouts_for(user, lab_ids=writable)
        self.fields["plate_layout"].label_from_instance = _layout_label
        self.fields["upload_token"].initial = uuid.uuid4().hex
        self.fields["file"].help_text = (
            f"NanoSight, ZetaView, SoftMax Pro, EnSight, Gen5 or EnVision export, or another table; at most "
            f"{evlims_settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB. The file is kept as received."
        )

    def renew_token(self) -> None:
        """A refused upload gets a new token, so sending a corrected file is not taken for a resend."""
        self.data = self.data.copy()
        self.data["upload_token"] = uuid.uuid4().hex

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = evlims_settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the largest accepted is {limit:,} bytes.")
        return upload

    def clean_plate_map(self):
        return _json_object(self.cleaned_data["plate_map"], "plate map")

    def clean_column_mapping(self):
        return _json_object(self.cleaned_data["column_mapping"], "column mapping")

    def clean(self):
        cleaned = super().clean()
        lab, instrument = cleaned.get("lab"), cleaned.get("instrument")
        if lab and instrument and instrument.lab_id != lab.pk:
            self.add_error("instrument", f"{instrument.name} belongs to {instrument.lab.name}, not {lab.name}.")
        file_format = cleaned.get("file_format")
        mapping = cleaned.get("column_mapping") or (instrument.column_mapping if instrument else None)
        if file_format == "generic" and not mapping and "column_mapping" not in self.errors:
            self.add_error("column_mapping", "A table in the 'generic' format needs a column mapping.")
        if file_format in PARTICLE_FORMATS and cleaned.get("plate_map"):
            self.add_error("plate_map", f"A plate map applies to plate-reader files, not {file_format} files.")
        barcode = (cleaned.get("preparation") or "").strip()
        if barcode and lab and not preparations_for(self.user).filter(lab=lab, barcode=barcode).exists():
            self.add_error("preparation", f"No preparation {barcode} in {lab.name}.")
        layout = cleaned.get("plate_layout")
        if layout is not None:
            if cleaned.get("plate_map"):
                self.add_error("plate_layout", "Choose a saved plate layout or type a plate map, not both.")
            elif lab and layout.lab_id != lab.pk:
                self.add_error(
                    "plate_layout", f"The layout {layout.name} belongs to {layout.lab.name}, not {lab.name}."
                )
            elif file_format in PARTICLE_FORMATS:
                self.add_error(
                    "plate_layout", f"A plate layout applies to plate-reader files, not {file_format} files."
                )
        return cleaned

    def parse_options(self) -> dict:
        """Parser options for the chosen format; the parser itself refuses options a detected format lacks."""
        data = self.cleaned_data
        options = {}
        if data["plate_map"]:
            options["plate_map"] = data["plate_map"]
        elif data.get("plate_layout") is not None:
            options["plate_map"] = plate_map(data["plate_layout"].wells, data["plate_layout"].fit)
        if data.get("read", "").strip():
            options["read"] = data["read"].strip()
        mapping = data["column_mapping"]
        if mapping is None and data["file_format"] == "generic" and data["instrument"]:
            mapping = data["instrument"].column_mapping
        if mapping:
            options["mapping"] = mapping
        return options


class IngestionMappingForm(forms.Form):
    """One preparation barcode per parsed sample (blank = not committed), and for every particle sample whose
    file records no dilution a required choice: its dilution factor (pre-filled with what its name suggests) or
    "undiluted". Then what the commit says of the whole file: its captures the instrument marked invalid (kept in
    the mean or not), when it was measured if the file does not say, how the analyser was calibrated, and the
    reason for the change when a preparation is approved.

    Fields are numbered by the sample's position in the file: sample names are free text from the file.
    """

    def __init__(
        self,
        *args,
        samples: list[dict],
        particle: bool,
        lab,
        known_barcodes,
        suggestions=None,
        parsed=None,
        preparation: str = "",
        **kwargs,
    ):
        """``known_barcodes(barcodes)`` returns those that name preparations of ``lab``; ``suggestions`` is
        ``dilution_suggestions`` of the file (the samples that need a dilution); ``preparation`` (a known
        barcode: the upload started from its page) fills every sample not named after a preparation."""
        super().__init__(*args, **kwargs)
        self.samples, self.lab, self.known_barcodes = samples, lab, known_barcodes
        self.suggestions = suggestions or {}
        parsed = parsed or {}
        # A sample named after a preparation of the lab (a common naming habit) is mapped to it up front.
        named_after = known_barcodes([sample.get("name") for sample in samples]) if not self.is_bound else set()
        for index, sample in enumerate(samples):
            self.fields[f"preparation_{index}"] = forms.CharField(
                required=False,
                max_length=40,
                label=f"Preparation for {sample.get('name')}",
                initial=sample.get("name") if sample.get("name") in named_after else (preparation or None),
                widget=forms.TextInput(attrs={"list": "preparation-barcodes", "class": "font-monospace"}),
            )
            if particle and sample.get("name") in self.suggestions:
                suggestion = self.suggestions[sample.get("name")]
                self.fields[f"dilution_{index}"] = forms.FloatField(
                    required=False,
                    min_value=1,
                    label=f"Dilution factor for {sample.get('name')}",
                    initial=suggestion.get("factor"),
                    help_text=(
                        f"Suggested by the name (“{suggestion['from']}”): check it."
                        if suggestion.get("factor")
                        else "The file records none: give the factor, or say it was measured undiluted."
                    ),
                )
                self.fields[f"undiluted_{index}"] = forms.BooleanField(
                    required=False, label=f"{sample.get('name')} was measured undiluted"
                )
        if particle:
            self.fields["calibration"] = forms.CharField(
                required=False,
                max_length=200,
                label="Calibration of the analyser",
                help_text="How it was calibrated, e.g. 100 nm polystyrene beads checked on 2026-01-05 (the file "
                "does not record it; MISEV2023 asks for it).",
            )
            if any(not capture.get("valid", True) for sample in samples for capture in sample.get("captures") or []):
                self.fields["keep_invalid_captures"] = forms.BooleanField(
                    required=False,
                    label="Keep captures the instrument marked invalid",
                    help_text="Counted in the mean only if ticked; they are stored with their reason either way.",
                )
            if not parsed.get("acquired_at"):
                self.fields["measured_at"] = forms.DateTimeField(
                    required=False,
                    label="Measured on",
                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                    help_text="The file states no acquisition time: give it, or the upload time is recorded "
                    "(the result says which).",
                )
        self.fields["reason"] = forms.CharField(
            required=False,
            max_length=500,
            label="Reason for the change",
            help_text="Needed when a preparation is approved: recording results voids its approval.",
        )

    def rows(self):
        """(sample, preparation field, dilution field or None, undiluted field or None) per sample."""
        for index, sample in enumerate(self.samples):
            dilution = self[f"dilution_{index}"] if f"dilution_{index}" in self.fields else None
            undiluted = self[f"undiluted_{index}"] if f"undiluted_{index}" in self.fields else None
            yield sample, self[f"preparation_{index}"], dilution, undiluted

    def clean(self):
        cleaned = super().clean()
        mapped = [index for index in range(len(self.samples)) if (cleaned.get(f"preparation_{index}") or "").strip()]
        if not mapped and not self.errors:
            raise forms.ValidationError("Give a preparation barcode for at least one sample.")
        for index in range(len(self.samples)):
            if f"dilution_{index}" not in self.fields:
                continue
            factor, undiluted = cleaned.get(f"dilution_{index}"), cleaned.get(f"undiluted_{index}")
            if index not in mapped:
                if factor and self.data.get(self.add_prefix(f"dilution_{index}")) and factor != self._suggested(index):
                    self.add_error(
                        f"dilution_{index}", "A dilution applies to a sample that is mapped to a preparation."
                    )
            elif factor and undiluted:
                self.add_error(f"dilution_{index}", "Give a dilution factor or tick undiluted, not both.")
            elif not factor and not undiluted and f"dilution_{index}" not in self.errors:
                self.add_error(
                    f"dilution_{index}",
                    "The file records no dilution: give the dilution factor, or tick that it was measured undiluted.",
                )
        barcodes = {index: cleaned[f"preparation_{index}"].strip() for index in mapped}
        known = self.known_barcodes(barcodes.values()) if barcodes else set()
        for index, barcode in barcodes.items():
            if barcode not in known:
                self.add_error(f"preparation_{index}", f"No preparation {barcode} in {self.lab.name}.")
        return cleaned

    def _suggested(self, index: int):
        return self.suggestions.get(self.samples[index].get("name"), {}).get("factor")

    def typed_barcodes(self) -> list[str]:
        """The barcodes typed (or proposed), valid or not, to find the approvals a commit would void."""
        values = (str(self[f"preparation_{index}"].value() or "").strip() for index in range(len(self.samples)))
        return [value for value in values if value]

    def field_of(self, name: str) -> str | None:
        """The preparation field of the sample called ``name``."""
        for index, sample in enumerate(self.samples):
            if sample.get("name") == name:
                return f"preparation_{index}"
        return None

    def mapping(self) -> dict[str, str]:
        return {
            sample["name"]: self.cleaned_data[f"preparation_{index}"].strip()
            for index, sample in enumerate(self.samples)
            if self.cleaned_data.get(f"preparation_{index}", "").strip()
        }

    def dilutions(self) -> dict[str, float]:
        """{sample name: factor} of the mapped samples; undiluted is 1."""
        mapping = self.mapping()
        dilutions = {}
        for index, sample in enumerate(self.samples):
            if sample["name"] not in mapping or f"dilution_{index}" not in self.fields:
                continue
            if self.cleaned_data.get(f"undiluted_{index}"):
                dilutions[sample["name"]] = 1.0
            elif self.cleaned_data.get(f"dilution_{index}"):
                dilutions[sample["name"]] = self.cleaned_data[f"dilution_{index}"]
        return dilutions
