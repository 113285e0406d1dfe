"""Result forms: results typed by hand, one form per kind, and the preparation list's filter. The instrument
file upload and the mapping of a parsed file to preparations are in ``uploads``.

Forms check input and build result documents (evlims.characterization.payloads); the characterization and
ingestion services validate them again, do every write and have the last word.
"""

from django import forms
from django.utils import timezone

from ...conf import evlims_settings
from ...instruments.particles import SIZE_FIELDS, SIZE_FIGURES, stock_per_ml
from ..forms.samples import DATETIME_WIDGET
from .markers import TYPED_HELP, unknown_marker_error

# The values are those the result document accepts (evlims.characterization.payloads).
MARKER_METHODS = {
    "western_blot": "Western blot", "elisa": "ELISA", "flow_cytometry": "Flow cytometry",
    "immunogold_em": "Immunogold EM", "mass_spectrometry": "Mass spectrometry", "other": "Other",
}  # fmt: skip
IMAGING_TECHNIQUES = {
    "tem": "Transmission EM", "cryo_em": "Cryo-EM", "sem": "Scanning EM", "afm": "Atomic force microscopy",
    "super_resolution": "Super-resolution microscopy", "other": "Other",
}  # fmt: skip
PROTEIN_ASSAYS = {"bca": "BCA", "micro_bca": "Micro BCA", "bradford": "Bradford", "qubit": "Qubit", "other": "Other"}
PARTICLE_TECHNIQUES = {
    "nta": "Nanoparticle tracking (NTA)", "zetaview": "ZetaView", "trps": "TRPS", "nanoflow": "Nano-flow cytometry",
    "dls": "Dynamic light scattering", "other": "Other",
}  # fmt: skip
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dm3", ".dm4", ".mrc")
MAX_IMAGES = 20


class ResultForm(forms.Form):
    """Common part of results typed by hand; subclasses give the detail part of the result document.

    ``payload_fields`` maps a path inside the result document (as the service names it in errors) to
    the form field that supplied it.
    """

    kind = ""
    payload_fields: dict[str, str] = {}
    measured_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, help_text="When the measurement was made; now if left empty."
    )

    def method(self) -> str:
        return self.cleaned_data["method"]

    def detail(self) -> dict:
        """The kind's part of the result document (each result form defines it)."""
        raise NotImplementedError

    def document(self, preparation) -> dict:
        measured_at = self.cleaned_data.get("measured_at") or timezone.now()
        detail_key = "analyte" if self.kind in ("lipid", "rna") else self.kind
        return {
            "kind": self.kind,
            "method": self.method(),
            "preparation": preparation.barcode,
            "measured_at": measured_at.isoformat(),
            detail_key: self.detail(),
        }

    def field_for(self, path: str) -> str | None:
        """The field that supplied ``path`` (e.g. 'marker.antibody.clone'), or None for the whole form."""
        name = self.payload_fields.get(path, path.rsplit(".", 1)[-1])
        return name if name in self.fields else None


class MarkerResultForm(ResultForm):
    kind = "marker"
    ANTIBODY_METHODS = {"western_blot", "elisa", "flow_cytometry", "immunogold_em"}
    payload_fields = {
        "marker.protein": "protein", "marker.detected": "detection",
        "marker.semi_quantitative_value": "semi_quantitative_value",
        **{f"marker.antibody.{part}": f"antibody_{part}" for part in ("clone", "catalogue", "dilution", "supplier")},
        "marker.lysate.buffer": "lysate_buffer", "marker.lysate.protocol": "lysis_protocol",
        "marker.lysate.reducing": "lysate_reducing", "marker.lysate.protein_loaded_ug": "protein_loaded_ug",
        "marker.lysate.compared_with_source": "compared_with_source_lysate",
        "marker.topology.assay": "topology_assay", "marker.topology.component": "topology_component",
    }  # fmt: skip
    protein = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9\-_. ]{0,29}$",
        max_length=30,
        label="Protein (HGNC symbol)",
        help_text="e.g. CD63, TSG101, ALB, APOA1. Aliases are resolved to the HGNC symbol.",
        error_messages={"invalid": "Give an HGNC symbol: letters, digits, '-', '_' or '.', up to 30 characters."},
    )
    protein_confirmed = forms.BooleanField(required=False, label="Record it as typed", help_text=TYPED_HELP)
    method = forms.ChoiceField(choices=MARKER_METHODS)
    detection = forms.ChoiceField(
        widget=forms.RadioSelect,
        choices=[
            ("detected", "Detected"),
            ("not_detected", "Not detected"),
            ("semi_quantitative", "Semi-quantitative value"),
        ],
    )
    semi_quantitative_value = forms.FloatField(
        required=False, min_value=0, help_text="e.g. band intensity relative to the source lysate."
    )
    antibody_clone = forms.CharField(required=False, max_length=80)
    antibody_catalogue = forms.CharField(required=False, max_length=80, label="Antibody catalogue number")
    antibody_dilution = forms.CharField(required=False, max_length=40, help_text="e.g. 1:1000")
    antibody_supplier = forms.CharField(required=False, max_length=80, help_text="e.g. BD Biosciences, Abcam")
    lysate_buffer = forms.CharField(
        required=False, max_length=80, label="Lysis buffer", help_text="e.g. RIPA with protease inhibitors"
    )
    lysis_protocol = forms.CharField(
        required=False,
        max_length=200,
        label="Lysis protocol",
        help_text="How the EVs were lysed: time, temperature, sonication or vortexing.",
    )
    lysate_reducing = forms.TypedChoiceField(
        required=False,
        label="Sample buffer",
        choices=[("", "Not stated"), ("yes", "Reducing"), ("no", "Non-reducing")],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        help_text="Tetraspanins such as CD63 and CD81 are usually blotted non-reducing.",
    )
    protein_loaded_ug = forms.FloatField(required=False, min_value=0, label="Protein loaded (µg)")
    compared_with_source_lysate = forms.TypedChoiceField(
        required=False,
        label="Compared with the source (cell or tissue) lysate",
        choices=[("", "Not stated"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
    )
    topology_assay = forms.CharField(
        required=False,
        max_length=120,
        label="Topology assay",
        help_text="If this result shows where the protein sits: e.g. proteinase K protection, antibody "
        "accessibility on intact and permeabilised EVs.",
    )
    topology_component = forms.CharField(
        required=False,
        max_length=120,
        label="Topology finding",
        help_text="e.g. luminal (protected), or surface-exposed.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("topology_component") and not cleaned.get("topology_assay"):
            self.add_error("topology_assay", "Name the assay that showed where the protein sits.")
        if cleaned.get("detection") == "semi_quantitative" and cleaned.get("semi_quantitative_value") is None:
            self.add_error("semi_quantitative_value", "Give the semi-quantitative value.")
        if (
            cleaned.get("method") in self.ANTIBODY_METHODS
            and not cleaned.get("antibody_clone")
            and not cleaned.get("antibody_catalogue")
        ):
            self.add_error("antibody_clone", "Name the antibody: its clone or its catalogue number.")
        unknown_marker_error(self, cleaned)
        return cleaned

    def detail(self) -> dict:
        data = self.cleaned_data
        detected = {"detected": True, "not_detected": False}.get(data["detection"])
        detail = {
            "protein": data["protein"],
            **({"protein_confirmed": True} if data.get("protein_confirmed") else {}),
            "detected": detected,
            "semi_quantitative_value": data.get("semi_quantitative_value"),
            "antibody": {
                "clone": data["antibody_clone"],
                "catalogue": data["antibody_catalogue"],
                "dilution": data["antibody_dilution"],
                "supplier": data["antibody_supplier"],
            },
        }
        lysate = {
            "buffer": data["lysate_buffer"],
            "protocol": data["lysis_protocol"],
            "reducing": data.get("lysate_reducing"),
            "protein_loaded_ug": data.get("protein_loaded_ug"),
            "compared_with_source": data.get("compared_with_source_lysate"),
        }
        if any(value not in ("", None) for value in lysate.values()):
            detail["lysate"] = lysate
        if data.get("topology_assay"):
            detail["topology"] = {"assay": data["topology_assay"], "component": data["topology_component"]}
        return detail


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": ",".join(IMAGE_SUFFIXES)}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_IMAGES:
            raise forms.ValidationError(f"Attach at most {MAX_IMAGES} images at a time.")
        cleaned = [super(MultipleImageField, self).clean(item, initial) for item in files]
        limit = evlims_settings.IMPORT_MAX_BYTES
        for item in cleaned:
            if not item.name.lower().endswith(IMAGE_SUFFIXES):
                raise forms.ValidationError(f"{item.name}: not an image file we keep ({', '.join(IMAGE_SUFFIXES)}).")
            if item.size > limit:
                raise forms.ValidationError(f"{item.name} is {item.size:,} bytes; the largest accepted is {limit:,}.")
        return cleaned


class ImagingResultForm(ResultForm):
    kind = "imaging"
    payload_fields = {"imaging.technique": "technique", "imaging.magnification": "magnification"}
    technique = forms.ChoiceField(choices=IMAGING_TECHNIQUES)
    wide_field = forms.BooleanField(required=False, help_text="Images show a wide field with many particles.")
    close_up = forms.BooleanField(required=False, help_text="Images show single vesicles close up.")
    magnification = forms.CharField(required=False, max_length=40, help_text="e.g. 30 000×, or scale bar 100 nm")
    images = MultipleImageField(required=False, help_text="TIFF, PNG, JPEG or microscope files (dm3, dm4, mrc).")

    def method(self) -> str:
        return self.cleaned_data["technique"]

    def detail(self) -> dict:
        data = self.cleaned_data
        return {
            "technique": data["technique"],
            "wide_field": data["wide_field"],
            "close_up": data["close_up"],
            "magnification": data["magnification"],
        }


class ProteinResultForm(ResultForm):
    kind = "protein"
    payload_fields = {
        "protein.assay": "assay",
        "protein.concentration_ug_per_ml": "concentration_ug_per_ml",
        "protein.volume_assayed_ul": "volume_assayed_ul",
    }
    assay = forms.ChoiceField(choices=PROTEIN_ASSAYS)
    concentration_ug_per_ml = forms.FloatField(required=False, min_value=0, label="Protein (µg/mL)")
    volume_assayed_ul = forms.FloatField(required=False, min_value=0, label="Volume assayed (µL)")
    out_of_range = forms.BooleanField(
        required=False, help_text="The signal fell outside the standard curve; no concentration is given."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("out_of_range") and cleaned.get("concentration_ug_per_ml") is not None:
            self.add_error("concentration_ug_per_ml", "An out-of-range result has no concentration; clear one of them.")
        return cleaned

    def method(self) -> str:
        return self.cleaned_data["assay"]

    def detail(self) -> dict:
        data = self.cleaned_data
        return {
            "assay": data["assay"],
            "concentration_ug_per_ml": data.get("concentration_ug_per_ml"),
            "volume_assayed_ul": data.get("volume_assayed_ul"),
            "out_of_range": data["out_of_range"],
        }


PARTICLE_SETTINGS = ("camera_level", "detection_threshold", "shutter", "frames", "videos", "temperature_c")
# One field per size figure of a particle result (instruments/particles.py), labelled with its unit.
ParticleSizeFields = type(forms.Form)(
    "ParticleSizeFields",
    (forms.Form,),
    {
        "__module__": __name__,
        **{figure.key: forms.FloatField(required=False, min_value=0, label=figure.heading) for figure in SIZE_FIGURES},
    },
)


class ParticleResultForm(ResultForm, ParticleSizeFields):
    kind = "particle"
    payload_fields = {
        **{f"particle.{name}": name for name in ("technique", "concentration_per_ml", "calibration", *SIZE_FIELDS)},
        **{f"particle.settings.{name}": name for name in PARTICLE_SETTINGS},
    }
    technique = forms.ChoiceField(choices=PARTICLE_TECHNIQUES)
    concentration_per_ml = forms.FloatField(required=False, min_value=0, label="Concentration (particles/mL)")
    concentration_basis = forms.ChoiceField(
        widget=forms.RadioSelect,
        initial="stock",
        choices=[
            ("stock", "Stock concentration: the dilution is already applied"),
            ("in_cell", "As measured in the cell: multiply by the dilution factor"),
        ],
    )
    dilution_factor = forms.FloatField(required=False, min_value=1)
    camera_level = forms.CharField(required=False, max_length=20, help_text="e.g. 14 (NanoSight) or sensitivity 80")
    detection_threshold = forms.CharField(required=False, max_length=20, help_text="e.g. 5")
    shutter = forms.CharField(required=False, max_length=20, help_text="e.g. 100 (ZetaView) or 1300")
    frames = forms.IntegerField(required=False, min_value=0, label="Frames per video")
    videos = forms.IntegerField(required=False, min_value=0, label="Videos or positions recorded")
    temperature_c = forms.FloatField(required=False, label="Measurement temperature (°C)")
    calibration = forms.CharField(
        required=False, max_length=200, help_text="How the analyser was calibrated, e.g. 100 nm polystyrene beads."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("concentration_basis") == "in_cell":
            if cleaned.get("dilution_factor") is None:
                self.add_error("dilution_factor", "Give the dilution factor to turn the cell value into stock.")
            if cleaned.get("concentration_per_ml") is None:
                self.add_error("concentration_per_ml", "Give the concentration measured in the cell.")
        if all(cleaned.get(name) is None for name in ("concentration_per_ml", *SIZE_FIELDS)) and not self.errors:
            raise forms.ValidationError("Give the concentration or at least one size figure.")
        return cleaned

    def size_fields(self):
        """The size fields, bound, in the catalogue's order (the template lays them out)."""
        return [self[name] for name in SIZE_FIELDS]

    def method(self) -> str:
        return self.cleaned_data["technique"]

    def detail(self) -> dict:
        data = self.cleaned_data
        concentration, dilution = data.get("concentration_per_ml"), data.get("dilution_factor")
        computed = []
        in_cell = data["concentration_basis"] == "in_cell"
        if in_cell:
            concentration = stock_per_ml(concentration, dilution)
            computed.append("concentration_per_ml")
        return {
            "technique": data["technique"],
            "concentration_per_ml": concentration,
            "dilution_factor": dilution,
            # Whether the typed figure already had the dilution applied (as a file would say).
            "dilution_applied_in_file": None if dilution is None else not in_cell,
            "computed": computed,
            **{name: data.get(name) for name in SIZE_FIELDS},
            "settings": _settings(data),
            "calibration": data["calibration"],
        }


def _settings(data) -> dict:
    """Analyser settings as typed; numbers stay numbers (a camera level of 14, not "14")."""
    settings = {}
    for name in PARTICLE_SETTINGS:
        value = data.get(name)
        if isinstance(value, str):
            value = value.strip()
            try:
                value = float(value) if "." in value else int(value)
            except ValueError:
                pass
        if value not in (None, ""):
            settings[name] = value
    return settings


class AnalyteResultForm(ResultForm):
    """Lipid or RNA quantification: one figure with its assay and unit (kind set per page)."""

    payload_fields = {"analyte.assay": "assay", "analyte.value": "value", "analyte.unit": "unit"}
    assay = forms.CharField(max_length=60, help_text="e.g. SPV lipid assay, Qubit RNA HS, Bioanalyzer")
    value = forms.FloatField(min_value=0)
    unit = forms.CharField(
        max_length=30,
        help_text="Totals in nmol (lipid) or ng (RNA); concentrations in nmol/mL, µM, ng/mL or ng/µL. These "
        "units count as amounts in the compliance checks.",
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def method(self) -> str:
        return self.cleaned_data["assay"][:40]

    def detail(self) -> dict:
        data = self.cleaned_data
        return {"assay": data["assay"], "value": data["value"], "unit": data["unit"]}


RESULT_FORMS = {
    "marker": (MarkerResultForm, "Marker result"),
    "imaging": (ImagingResultForm, "Imaging result"),
    "protein": (ProteinResultForm, "Protein quantification"),
    "particle": (ParticleResultForm, "Particle analysis"),
    "lipid": (AnalyteResultForm, "Lipid quantification"),
    "rna": (AnalyteResultForm, "RNA quantification"),
}
