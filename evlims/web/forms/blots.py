"""A western blot entered once: the shared details (``BlotForm``), then the grid of lanes × markers (``BlotGrid``)
read from the posted cells ``marker-<j>-protein`` … and ``lane-<i>-preparation``, ``lane-<i>-band-<j>``,
``lane-<i>-value-<j>``. The grid keeps every value typed and puts each refusal on its lane, marker or cell; the
service (characterization.blots.blot_record) validates the blot again and has the last word."""

import re
import uuid
from dataclasses import dataclass, field

from django import forms

from ...characterization.blots import IMAGE_WORDS
from ...compliance.markers import marker_vocabulary
from ...conf import evlims_settings
from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from .results import MARKER_METHODS, MarkerResultForm
from .samples import DATETIME_WIDGET

BLOT_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MARKER_PARTS = ("protein", "clone", "catalogue", "dilution", "supplier")
BANDS = {"detected": "Detected", "not_detected": "Not detected", "value": "Value"}
TYPED_AS_IS = "To keep it as typed, tick “Record it as typed” under it."
START_LANES, START_MARKERS = 3, 2
MAX_GRID = 40
GRID_KEY = re.compile(r"^(lanes|markers)\[(\d+)\](?:\.bands\[(\d+)\])?")


class BlotForm(forms.Form):
    """The details every band of the blot shares, the image, and the reason an approved preparation asks for."""

    lab = forms.ModelChoiceField(queryset=Lab.objects.none(), empty_label=None)
    method = forms.ChoiceField(choices=MARKER_METHODS, initial="western_blot")
    measured_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label="Blotted on", help_text="Now if left empty."
    )
    lysate_buffer = MarkerResultForm.base_fields["lysate_buffer"]
    lysis_protocol = MarkerResultForm.base_fields["lysis_protocol"]
    lysate_reducing = MarkerResultForm.base_fields["lysate_reducing"]
    protein_loaded_ug = forms.FloatField(
        required=False, min_value=0, label="Protein loaded per lane (µg)", help_text="The same in every lane."
    )
    compared_with_source_lysate = MarkerResultForm.base_fields["compared_with_source_lysate"]
    image = forms.FileField(
        required=False,
        label="Blot image",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(BLOT_IMAGE_SUFFIXES)}),
    )
    kept_image = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False,
        max_length=500,
        label="Reason for the change",
        help_text="Needed when a preparation of the blot is approved: the approval is voided with this reason.",
    )
    blot_token = forms.CharField(widget=forms.HiddenInput, max_length=120)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        writable = labs_where(user, WRITER_ROLES)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=writable).order_by("name")
        if len(writable) == 1:
            self.fields["lab"].initial = writable[0]
            self.fields["lab"].widget = forms.HiddenInput()
        self.fields["blot_token"].initial = uuid.uuid4().hex
        limit = evlims_settings.IMPORT_MAX_BYTES
        self.fields["image"].help_text = f"PNG, JPEG or TIFF, at most {limit // (1024 * 1024)} MB; kept as sent."

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image is None:
            return None
        limit = evlims_settings.IMPORT_MAX_BYTES
        if not image.name.lower().endswith(BLOT_IMAGE_SUFFIXES):
            raise forms.ValidationError(f"{image.name} is not {IMAGE_WORDS} (.png, .jpg, .tif).")
        if image.size > limit:
            raise forms.ValidationError(f"{image.name} is {image.size:,} bytes; the largest accepted is {limit:,}.")
        return image

    def lysate(self) -> dict | None:
        data = self.cleaned_data
        lysate = {
            "buffer": data["lysate_buffer"],
            "protocol": data["lysis_protocol"],
            "reducing": data.get("lysate_reducing"),
            "protein_loaded_ug": data.get("protein_loaded_ug"),
            "compared_with_source": data.get("compared_with_source_lysate"),
        }
        return lysate if any(value not in ("", None) for value in lysate.values()) else None


@dataclass
class Cell:
    band: str = ""
    value: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class Lane:
    preparation: str = ""
    cells: list[Cell] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def blank(self) -> bool:
        return not self.preparation and not any(cell.band or cell.value for cell in self.cells)


@dataclass
class Marker:
    protein: str = ""
    clone: str = ""
    catalogue: str = ""
    dilution: str = ""
    supplier: str = ""
    confirmed: bool = False
    errors: list[str] = field(default_factory=list)

    def blank(self) -> bool:
        return not any(getattr(self, part) for part in MARKER_PARTS)


def _count(data, name: str, default: int) -> int:
    try:
        return max(1, min(MAX_GRID, int(data.get(name, default))))
    except (TypeError, ValueError):
        return default


class BlotGrid:
    """The lanes × markers table as typed. ``blot_parts()`` gives the service's markers and lanes (blank lanes and
    blank marker columns left out) and remembers where each came from, so refusals land on the cell typed."""

    def __init__(self, data=None, *, first_preparation: str = ""):
        data = data or {}
        lanes, markers = _count(data, "lanes", START_LANES), _count(data, "markers", START_MARKERS)
        if data.get("add") == "lane":
            lanes = min(MAX_GRID, lanes + 1)
        elif data.get("add") == "marker":
            markers = min(MAX_GRID, markers + 1)
        self.markers = [
            Marker(
                **{part: data.get(f"marker-{j}-{part}", "").strip()[:80] for part in MARKER_PARTS},
                confirmed=bool(data.get(f"marker-{j}-confirmed")),
            )
            for j in range(markers)
        ]
        self.lanes = [
            Lane(
                preparation=data.get(f"lane-{i}-preparation", first_preparation if i == 0 else "").strip()[:40],
                cells=[
                    Cell(
                        band=data.get(f"lane-{i}-band-{j}", "") if data.get(f"lane-{i}-band-{j}") in BANDS else "",
                        value=data.get(f"lane-{i}-value-{j}", "").strip()[:30],
                    )
                    for j in range(markers)
                ],
            )
            for i in range(lanes)
        ]
        self.general: list[str] = []
        self.used_lanes: list[int] = []
        self.used_markers: list[int] = []

    @property
    def has_errors(self) -> bool:
        return bool(
            self.general
            or any(m.errors for m in self.markers)
            or any(lane.errors or any(c.errors for c in lane.cells) for lane in self.lanes)
        )

    @staticmethod
    def _band(cell: Cell) -> dict | None:
        """The band as the service takes it: detected or not, and its semi-quantitative value if typed."""
        band = {}
        if cell.band in ("detected", "not_detected"):
            band["detected"] = cell.band == "detected"
        if cell.value:
            try:
                band["semi_quantitative_value"] = float(cell.value)
            except ValueError:
                cell.errors.append("Give the semi-quantitative value as a number, e.g. 0.8.")
                return None
        elif cell.band == "value":
            cell.errors.append("Give the semi-quantitative value.")
            return None
        return band or None

    def blot_parts(self) -> tuple[list[dict], list[dict]]:
        """(markers, lanes) for the service; problems the grid sees itself are put on their cells first."""
        vocabulary = marker_vocabulary()
        self.used_markers = [j for j, marker in enumerate(self.markers) if not marker.blank()]
        self.used_lanes = [i for i, lane in enumerate(self.lanes) if not lane.blank()]
        if not self.used_markers:
            self.general.append("Name at least one marker (a column's protein).")
        if not self.used_lanes:
            self.general.append("Give at least one lane: a preparation's barcode and its bands.")
        markers = []
        for j in self.used_markers:
            marker = self.markers[j]
            if marker.protein and not marker.confirmed and not vocabulary.is_known(marker.protein):
                marker.errors.append(f"{vocabulary.unknown_message(marker.protein)} {TYPED_AS_IS}")
            antibody = {part: getattr(marker, part) for part in MARKER_PARTS[1:] if getattr(marker, part)}
            markers.append(
                {"protein": marker.protein, **({"protein_confirmed": True} if marker.confirmed else {})}
                | ({"antibody": antibody} if antibody else {})
            )
        lanes = []
        for i in self.used_lanes:
            lane = self.lanes[i]
            if not lane.preparation:
                lane.errors.append("Give the preparation's barcode.")
            bands = []
            for j in self.used_markers:
                cell = lane.cells[j]
                band = self._band(cell)
                if band is None and not cell.errors:
                    name = self.markers[j].protein or "this marker"
                    cell.errors.append(f"Say whether {name} was detected in this lane, or give its value.")
                bands.append(band or {})
            lanes.append({"preparation": lane.preparation, "bands": bands})
        return markers, lanes

    def place(self, key: str, messages: list[str]) -> bool:
        """Put a refusal keyed by its place in the blot (``lanes[1].bands[0].detected``) on the grid; False when
        the key is not the grid's."""
        match = GRID_KEY.match(key)
        if not match:
            if key in ("lanes", "markers"):
                self.general.extend(messages)
                return True
            return False
        index = int(match[2])
        if match[1] == "markers" and index < len(self.used_markers):
            self.markers[self.used_markers[index]].errors.extend(messages)
            return True
        if match[1] == "lanes" and index < len(self.used_lanes):
            lane = self.lanes[self.used_lanes[index]]
            if match[3] is not None and int(match[3]) < len(self.used_markers):
                lane.cells[self.used_markers[int(match[3])]].errors.extend(messages)
            else:
                lane.errors.extend(messages)
            return True
        return False

    def typed_barcodes(self) -> list[str]:
        return [lane.preparation for lane in self.lanes if lane.preparation]
