"""Results pasted from a spreadsheet: tab-separated rows under a header row naming columns in the lab's words
(Preparation, Kind, Protein (µg/mL), Particles/mL, Marker, Detected, …), read into one result document per row.
Rows are numbered as in the pasted text (the header is row 1), and every problem names its row and column.
The documents are recorded by the API's results post (instruments.services.results_ingest), all or none."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django import forms
from django.utils import timezone

from ...compliance.markers import marker_vocabulary
from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...instruments.particles import SIZE_FIGURES
from ...instruments.services import MAX_RESULTS_PER_POST
from .results import MARKER_METHODS, PARTICLE_TECHNIQUES, PROTEIN_ASSAYS, MarkerResultForm

MAX_PASTE_BYTES = 1024 * 1024
MAX_PASTE_ROWS = MAX_RESULTS_PER_POST
KINDS = {"protein": "Protein quantification", "particle": "Particle analysis", "marker": "Marker result"}
KIND_WORDS = {
    "protein": "protein", "protein quantification": "protein", "particle": "particle", "particles": "particle",
    "particle analysis": "particle", "marker": "marker", "marker result": "marker",
}  # fmt: skip
METHODS = {"protein": PROTEIN_ASSAYS, "particle": PARTICLE_TECHNIQUES, "marker": MARKER_METHODS}
YES = {"yes", "y", "true", "1", "+", "detected", "positive", "pos"}
NO = {"no", "n", "false", "0", "-", "not detected", "negative", "neg", "nd"}
THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the lab's words, as errors name the column
    aliases: tuple[str, ...] = ()
    path: str = ""  # where the value goes in the result document (errors of that path name this column)


def _key(text: str) -> str:
    """A header compared without case, spacing or the µ/u difference: "Protein (ug/mL)" = "protein (µg/ml)"."""
    return SPACES.sub(" ", text.replace("µ", "u").replace("μ", "u")).strip().lower()


COLUMNS = (
    Column("preparation", "Preparation", ("barcode", "ev preparation", "preparation barcode"), "preparation"),
    Column("kind", "Kind", ("result", "kind of result")),
    Column("method", "Method", ("assay", "technique"), "method"),
    Column("measured_at", "Measured on", ("measured", "measured at", "date"), "measured_at"),
    Column("protein", "Protein (µg/mL)", ("protein ug/ml",), "protein.concentration_ug_per_ml"),
    Column("volume", "Volume assayed (µL)", ("volume assayed ul",), "protein.volume_assayed_ul"),
    Column("particles", "Particles/mL", ("particles per ml",), "particle.concentration_per_ml"),
    *(Column(f.key, f.heading, (f.label,), f"particle.{f.key}") for f in SIZE_FIGURES),
    Column("marker", "Marker", ("marker protein",), "marker.protein"),
    Column("detected", "Detected", (), "marker.detected"),
    Column("value", "Semi-quantitative value", ("value",), "marker.semi_quantitative_value"),
    Column("clone", "Antibody clone", ("antibody", "clone"), "marker.antibody.clone"),
    Column("catalogue", "Antibody catalogue number", ("catalogue number", "catalogue"), "marker.antibody.catalogue"),
    Column("dilution", "Antibody dilution", (), "marker.antibody.dilution"),
)  # fmt: skip
BY_NAME = {_key(name): column for column in COLUMNS for name in (column.label, *column.aliases)}
BY_PATH = {column.path: column for column in COLUMNS if column.path}


@dataclass
class PastedRow:
    number: int  # the row in the pasted text (the header is row 1)
    cells: dict[str, str]
    kind: str = ""
    method: str = ""
    document: dict | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column label, message)

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, "")

    @property
    def method_label(self) -> str:
        return METHODS.get(self.kind, {}).get(self.method, "")

    def summary(self) -> str:
        """What will be recorded, in the lab's words."""
        if self.document is None:
            return ""
        detail = self.document[self.kind]
        if self.kind == "protein":
            return f"{detail['concentration_ug_per_ml']:g} µg/mL protein"
        if self.kind == "particle":
            sizes = [f"{f.label} {detail[f.key]:g} nm" for f in SIZE_FIGURES if detail.get(f.key) is not None]
            figure = detail.get("concentration_per_ml")
            return ", ".join(([f"{figure:.3g} particles/mL"] if figure is not None else []) + sizes)
        words = {True: "detected", False: "not detected", None: "semi-quantitative"}[detail.get("detected")]
        value = detail.get("semi_quantitative_value")
        return f"{detail['protein']} {words}" + (f", value {value:g}" if value is not None else "")


def number(text: str) -> float:
    """A number as a spreadsheet copies it: 1.2E+11, 125, 120,000 (thousands), never a decimal comma."""
    text = SPACES.sub("", text)
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    if "," in text:
        raise ValueError("Give a number such as 1.5 or 1.2E+11 (a decimal comma is not read).")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"“{text}” is not a number.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"“{text}” is not a number.")
    return value


def when(text: str) -> datetime:
    for layout in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return timezone.make_aware(datetime.strptime(text.strip(), layout))
        except ValueError:
            continue
    raise ValueError("Give the date as 2025-03-03, or with its time as 2025-03-03 14:00.")


def _choice(text: str, choices: dict) -> str | None:
    wanted = _key(text)
    for code, label in choices.items():
        abbreviation = label[label.find("(") + 1 : label.find(")")] if "(" in label else ""
        if wanted in (code, _key(label), _key(abbreviation), _key(code.replace("_", " "))):
            return code
    return None


class ResultPasteForm(forms.Form):
    lab = forms.ModelChoiceField(queryset=Lab.objects.none(), empty_label=None)
    rows = forms.CharField(
        label="Rows copied from a spreadsheet",
        widget=forms.Textarea(attrs={"rows": 12, "class": "font-monospace", "spellcheck": "false"}),
        help_text=f"The header row first. At most {MAX_PASTE_ROWS} rows and 1 MB at a time.",
    )
    protein_assay = forms.ChoiceField(
        required=False, choices=[("", "From the Method column")] + list(PROTEIN_ASSAYS.items()),
        label="Protein rows: assay",
    )  # fmt: skip
    particle_technique = forms.ChoiceField(
        required=False, choices=[("", "From the Method column")] + list(PARTICLE_TECHNIQUES.items()),
        label="Particle rows: technique",
    )  # fmt: skip
    marker_method = forms.ChoiceField(
        required=False, choices=[("", "From the Method column")] + list(MARKER_METHODS.items()),
        label="Marker rows: method",
    )  # fmt: skip
    markers_as_typed = forms.BooleanField(
        required=False,
        label="Record unknown markers as typed",
        help_text="Only for proteins the marker vocabulary does not know: kept as typed, in no MISEV category.",
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        label="Reason for the change",
        help_text="Needed when a preparation is approved: the approval is voided with this reason.",
    )
    paste_token = forms.CharField(widget=forms.HiddenInput, max_length=120)
    previewed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        writable = labs_where(user, WRITER_ROLES)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=writable).order_by("name")
        if len(writable) == 1:
            self.fields["lab"].initial = writable[0]
            self.fields["lab"].widget = forms.HiddenInput()
        self.fields["paste_token"].initial = uuid.uuid4().hex

    def clean_rows(self):
        text = self.cleaned_data["rows"]
        size = len(text.encode())
        if size > MAX_PASTE_BYTES:
            raise forms.ValidationError(
                f"The pasted text is {size:,} bytes; at most {MAX_PASTE_BYTES:,} (1 MB) is read at a time. "
                "Paste fewer rows at a time."
            )
        lines = [line for line in text.splitlines()[1:] if line.strip()]
        if len(lines) > MAX_PASTE_ROWS:
            raise forms.ValidationError(
                f"{len(lines):,} rows were pasted; at most {MAX_PASTE_ROWS} are recorded at a time. "
                "Paste them in parts."
            )
        return text

    def defaults(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "protein": data["protein_assay"],
            "particle": data["particle_technique"],
            "marker": data["marker_method"],
        }


def read_header(line: str) -> tuple[list[Column | None], list[str]]:
    """The columns a header row names, and the problems: an unknown or repeated column."""
    columns, problems, seen = [], [], set()
    for position, name in enumerate(line.split("\t"), start=1):
        column = BY_NAME.get(_key(name))
        if not name.strip():
            columns.append(None)
        elif column is None:
            problems.append(
                f"Row 1, column {position} (“{name.strip()}”) is not a column read here. The columns read are: "
                + ", ".join(c.label for c in COLUMNS)
                + "."
            )
            columns.append(None)
        elif column.key in seen:
            problems.append(f"Row 1: the column {column.label} is named twice.")
            columns.append(None)
        else:
            seen.add(column.key)
            columns.append(column)
    if "preparation" not in seen:
        problems.append("Row 1, the header, names no Preparation column: every row needs a preparation's barcode.")
    return columns, problems


def read_rows(text: str, defaults: dict[str, str], *, as_typed: bool) -> tuple[list[PastedRow], list[str]]:
    """Each non-blank row below the header with its result document, or its errors (column named)."""
    lines = text.splitlines()
    columns, problems = read_header(lines[0] if lines else "")
    if problems:
        return [], problems
    rows = []
    for number_, line in enumerate(lines[1:], start=2):
        values = line.split("\t")
        if not any(value.strip() for value in values):
            continue
        row = PastedRow(number_, {})
        if len(values) > len(columns) and any(v.strip() for v in values[len(columns) :]):
            row.error("", f"has {len(values)} cells but the header names {len(columns)} columns.")
        for column, value in zip(columns, values, strict=False):
            if column is not None and value.strip():
                row.cells[column.key] = value.strip()
        _document(row, defaults, as_typed)
        rows.append(row)
    return rows, []


def _kind(row: PastedRow) -> str:
    cells = row.cells
    if "kind" in cells:
        kind = KIND_WORDS.get(_key(cells["kind"]))
        if kind is None:
            row.error("Kind", f"“{cells['kind']}” is not a kind read here: Protein, Particle or Marker.")
        return kind or ""
    found = [
        kind for kind, key in (("marker", "marker"), ("particle", "particles"), ("protein", "protein")) if key in cells
    ]
    if len(found) != 1:
        row.error("Kind", "Say which result this row is (Protein, Particle or Marker) in a Kind column.")
        return ""
    return found[0]


def _numbers(row: PastedRow, keys) -> dict:
    values = {}
    for key in keys:
        if key in row.cells:
            try:
                values[key] = number(row.cells[key])
            except ValueError as error:
                row.error(_label(key), str(error))
    return values


def _label(key: str) -> str:
    return next(column.label for column in COLUMNS if column.key == key)


def _document(row: PastedRow, defaults: dict[str, str], as_typed: bool) -> None:
    cells = row.cells
    if "preparation" not in cells:
        row.error("Preparation", "Give the preparation's barcode.")
    row.kind = _kind(row)
    if not row.kind:
        return
    if "method" in cells:
        row.method = _choice(cells["method"], METHODS[row.kind]) or ""
        if not row.method:
            accepted = ", ".join(METHODS[row.kind].values())
            row.error("Method", f"“{cells['method']}” is not a method of a {row.kind} result: {accepted}.")
    else:
        row.method = defaults.get(row.kind, "")
        if not row.method:
            row.error("Method", f"Give the method in a Method column, or choose the {row.kind} rows' method above.")
    document = {"kind": row.kind, "method": row.method, "preparation": cells.get("preparation", "")}
    if "measured_at" in cells:
        try:
            document["measured_at"] = when(cells["measured_at"]).isoformat()
        except ValueError as error:
            row.error("Measured on", str(error))
    if row.kind == "protein":
        values = _numbers(row, ("protein", "volume"))
        if "protein" not in cells:
            row.error("Protein (µg/mL)", "Give the protein concentration.")
        detail = {"assay": row.method, "concentration_ug_per_ml": values.get("protein")}
        if "volume" in values:
            detail["volume_assayed_ul"] = values["volume"]
    elif row.kind == "particle":
        values = _numbers(row, ("particles", *(f.key for f in SIZE_FIGURES)))
        if not values and not row.errors:
            row.error("Particles/mL", "Give the concentration or at least one size.")
        detail = {"technique": row.method, "concentration_per_ml": values.get("particles")}
        detail |= {f.key: values[f.key] for f in SIZE_FIGURES if f.key in values}
    else:
        detail = _marker(row, as_typed)
    if not row.errors:
        row.document = document | {row.kind: detail}


def _marker(row: PastedRow, as_typed: bool) -> dict:
    cells = row.cells
    protein = cells.get("marker", "")
    vocabulary = marker_vocabulary()
    if not protein:
        row.error("Marker", "Give the marker's protein (HGNC symbol).")
    elif not as_typed and not vocabulary.is_known(protein):
        row.error(
            "Marker", f"{vocabulary.unknown_message(protein)} Correct it, or tick “Record unknown markers as typed”."
        )
    detected = None
    if "detected" in cells:
        word = _key(cells["detected"])
        detected = True if word in YES else False if word in NO else None
        if detected is None:
            row.error("Detected", f"“{cells['detected']}” is not read as yes or no (detected / not detected).")
    value = _numbers(row, ("value",)).get("value")
    if detected is None and value is None and "detected" not in cells:
        row.error("Detected", "Say whether the marker was detected (yes or no), or give its semi-quantitative value.")
    antibody = {part: cells[part] for part in ("clone", "catalogue", "dilution") if part in cells}
    if row.method in MarkerResultForm.ANTIBODY_METHODS and not (antibody.get("clone") or antibody.get("catalogue")):
        row.error("Antibody clone", "Name the antibody: its clone (or an Antibody catalogue number column).")
    detail = {"protein": protein, "detected": detected, "semi_quantitative_value": value}
    if as_typed and protein and not vocabulary.is_known(protein):
        detail["protein_confirmed"] = True
    return detail | ({"antibody": antibody} if antibody else {})


def column_of(path: str) -> str:
    """The column a path of a result document came from (``marker.protein`` → Marker), or the path itself."""
    column = BY_PATH.get(path)
    if column is not None:
        return column.label
    if path.startswith(("protein.", "particle.", "marker.")):
        return path.split(".", 1)[1]
    return path
