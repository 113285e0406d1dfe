"""The columns of a sample manifest and how one cell of each is read.

Every cell is turned into a typed value or a ``CellError`` whose message names the value and says
what was expected; the caller adds the row and column. Limits that the model already declares
(max_length, decimal places, choices) come from the Sample fields, so the dry run refuses exactly
what registering the sample would refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Anticoagulant, Donor, Sample, UrineCollection
from .vocabulary import biofluid_choices

# Groups decide which warnings a row gets (blood fields on a urine sample, ...).
SAMPLE, BLOOD, URINE, STORAGE, CULTURE, ALIQUOTS = "sample", "blood", "urine", "storage", "culture", "aliquots"

_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# Control characters (other than tab and line breaks) are invisible in a spreadsheet and refused by
# PostgreSQL (NUL); a cell holding them was damaged on its way here.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CELLOSAURUS = re.compile(r"^CVCL_[0-9A-Z]{4}$")
# Barcodes end up on labels, in scanners and in URLs: no spaces, quotes or formula characters.
_BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class CellError(Exception):
    """A cell that cannot be used; the message is shown to the user as is."""


def shown(value, limit: int = 40) -> str:
    """A cell value quoted for a message, shortened so one bad cell cannot flood the report."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    group: str
    description: str
    unit: str = ""
    required: bool = False
    minimum: Decimal | None = None
    minimum_exclusive: bool = False
    maximum: Decimal | None = None
    choices: tuple[tuple[str, str], ...] = ()
    # The model field whose validators (length, digits) also apply; empty for import-only columns.
    model_field: str = ""

    @property
    def allowed(self) -> str:
        """What the template's guide says about accepted values."""
        if self.choices:
            return ", ".join(code for code, _ in self.choices)
        if self.kind == "boolean":
            return "yes / no (also true/false, 1/0)"
        if self.kind == "datetime":
            return "YYYY-MM-DD or YYYY-MM-DD HH:MM (lab time zone unless an offset is given)"
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.minimum_exclusive else '≥'} {self.minimum}")
        if self.maximum is not None:
            bounds.append(f"≤ {self.maximum}")
        kind = {"integer": "whole number", "decimal": "number"}.get(self.kind, "text")
        max_length = self._max_length()
        if max_length:
            bounds.append(f"up to {max_length} characters")
        return f"{kind} {', '.join(bounds)}" if bounds else kind

    def _max_length(self) -> int | None:
        if self.kind != "text":
            return None
        if self.name == "donor_code":
            return Donor._meta.get_field("code").max_length
        return Sample._meta.get_field(self.model_field).max_length if self.model_field else None


def _sample_column(name, kind, group, description, **extra) -> Column:
    return Column(name=name, kind=kind, group=group, description=description, model_field=name, **extra)


ZERO = Decimal(0)
COLUMNS: tuple[Column, ...] = (
    _sample_column("barcode", "text", SAMPLE, "Tube barcode. Leave empty and the LIMS issues one."),
    _sample_column("external_id", "text", SAMPLE, "The collecting site's own id of the sample."),
    Column(
        "donor_code",
        "text",
        SAMPLE,
        "Pseudonymous donor code (never a name or record number). A new code creates the donor in this lab.",
    ),
    _sample_column("biofluid", "choice", SAMPLE, "Sample source.", required=True, choices=tuple(biofluid_choices())),
    _sample_column(
        "volume_ml",
        "decimal",
        SAMPLE,
        "Volume received.",
        unit="mL",
        required=True,
        minimum=ZERO,
        minimum_exclusive=True,
    ),
    _sample_column("collected_at", "datetime", SAMPLE, "When the sample was collected."),
    _sample_column("received_at", "datetime", SAMPLE, "When the lab received it (empty: time of import)."),
    _sample_column("tube_type", "text", BLOOD, "Collection tube, manufacturer and product."),
    _sample_column(
        "anticoagulant", "choice", BLOOD, "Anticoagulant of the tube.", choices=tuple(Anticoagulant.choices)
    ),
    _sample_column(
        "needle_gauge", "integer", BLOOD, "Needle gauge.", unit="G", minimum=Decimal(10), maximum=Decimal(34)
    ),
    _sample_column(
        "processing_delay_min", "integer", BLOOD, "Collection to first centrifugation.", unit="min", minimum=ZERO
    ),
    _sample_column(
        "processing_temperature_c",
        "decimal",
        BLOOD,
        "Temperature while waiting for processing.",
        unit="°C",
        minimum=Decimal(-273),
        maximum=Decimal(100),
    ),
    _sample_column(
        "prep_spin_g",
        "integer",
        BLOOD,
        "Plasma/serum preparation spin.",
        unit="× g",
        minimum=ZERO,
        minimum_exclusive=True,
    ),
    _sample_column(
        "prep_spin_min",
        "integer",
        BLOOD,
        "Duration of each preparation spin.",
        unit="min",
        minimum=ZERO,
        minimum_exclusive=True,
    ),
    _sample_column("prep_spin_count", "integer", BLOOD, "Number of preparation spins.", minimum=ZERO),
    _sample_column("hemolysis_a414", "decimal", BLOOD, "Haemolysis, absorbance at 414 nm.", unit="AU", minimum=ZERO),
    _sample_column("residual_platelets_per_ul", "integer", BLOOD, "Residual platelets.", unit="per µL", minimum=ZERO),
    _sample_column("fasting", "boolean", BLOOD, "Donor was fasting at collection."),
    _sample_column(
        "urine_collection", "choice", URINE, "Urine collection type.", choices=tuple(UrineCollection.choices)
    ),
    _sample_column("pre_cleared", "boolean", URINE, "Urine was pre-cleared by centrifugation."),
    _sample_column(
        "pre_clearing_g", "integer", URINE, "Pre-clearing spin.", unit="× g", minimum=ZERO, minimum_exclusive=True
    ),
    _sample_column(
        "storage_temperature_c",
        "decimal",
        STORAGE,
        "Storage temperature before aliquoting.",
        unit="°C",
        minimum=Decimal(-273),
        maximum=Decimal(40),
    ),
    _sample_column("cell_line", "text", CULTURE, "Cell line of a conditioned medium."),
    _sample_column("cell_line_cellosaurus", "text", CULTURE, "Cellosaurus accession, e.g. CVCL_0030."),
    _sample_column("passage", "integer", CULTURE, "Passage number.", minimum=ZERO),
    _sample_column("culture_medium", "text", CULTURE, "Culture medium."),
    _sample_column("serum_supplement", "text", CULTURE, "Serum supplement, e.g. 10% FBS."),
    _sample_column("serum_ev_depleted", "boolean", CULTURE, "Serum supplement was EV-depleted."),
    _sample_column("serum_ev_depletion_method", "text", CULTURE, "How the serum was EV-depleted."),
    _sample_column(
        "conditioning_time_h", "decimal", CULTURE, "Conditioning time.", unit="h", minimum=ZERO, minimum_exclusive=True
    ),
    _sample_column("cell_count_at_harvest", "integer", CULTURE, "Cells at harvest.", unit="cells", minimum=ZERO),
    _sample_column(
        "viability_pct_at_harvest",
        "decimal",
        CULTURE,
        "Viability at harvest.",
        unit="%",
        minimum=ZERO,
        maximum=Decimal(100),
    ),
    Column(
        "aliquot_count",
        "integer",
        ALIQUOTS,
        "First aliquots to create (with aliquot_volume_ul).",
        minimum=ZERO,
        minimum_exclusive=True,
        maximum=Decimal(500),
    ),
    Column(
        "aliquot_volume_ul",
        "decimal",
        ALIQUOTS,
        "Volume of each first aliquot (with aliquot_count).",
        unit="µL",
        minimum=ZERO,
        minimum_exclusive=True,
    ),
    _sample_column("remarks", "text", SAMPLE, "Free text. Cells starting with = + - @ are kept as plain text."),
)
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)
DONOR_CODE_MAX_LENGTH = Donor._meta.get_field("code").max_length


def header_key(cell) -> str:
    """Headers match whatever their case and spacing: 'Volume ML' is volume_ml."""
    return re.sub(r"[\s-]+", "_", str(cell if cell is not None else "").strip().lower())


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decimal(value, decimal_comma: bool) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{shown(value)} is not a number.")
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        token = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if decimal_comma and token.count(",") == 1 and "." not in token:
            token = token.replace(",", ".")
        if "," in token:
            raise CellError(
                f"{shown(value)} is not a number: use a dot as decimal separator and no thousands separators."
            )
        if token.startswith("="):
            raise CellError(f"{shown(value)} is a formula; enter the value itself.")
        if not _NUMBER.match(token):
            raise CellError(f"{shown(value)} is not a number.")
        number = Decimal(token)
    if not number.is_finite():
        raise CellError(f"{shown(value)} is not a finite number.")
    return number


def _integer(value, decimal_comma: bool) -> int:
    number = _decimal(value, decimal_comma)
    if number != number.to_integral_value():
        raise CellError(f"{shown(value)} is not a whole number.")
    return int(number)


def _datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        token = str(value).strip()
        if not (_ISO_DATE.match(token) or _ISO_DATETIME.match(token)):
            raise CellError(f"{shown(value)} is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM.")
        try:
            moment = dt.datetime.fromisoformat(token.replace("Z", "+00:00"))
        except ValueError:
            raise CellError(f"{shown(value)} is not a real date or time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    token = _text(value).lower()
    if token in _TRUE:
        return True
    if token in _FALSE:
        return False
    raise CellError(f"{shown(value)} is not yes or no.")


def _choice(value, column: Column) -> str:
    token = _text(value).lower()
    for code, label in column.choices:
        if token in (code.lower(), label.lower()):
            return code
    # The labels (what the forms show) are accepted as well as the codes, so the message names the labels.
    allowed = ", ".join(label for _, label in column.choices)
    raise CellError(f"{shown(value)} is not an allowed value; use one of: {allowed}.")


def _check_bounds(number, value, column: Column) -> None:
    low = column.minimum
    if low is not None and (number < low or (column.minimum_exclusive and number == low)):
        relation = "more than" if column.minimum_exclusive else "at least"
        raise CellError(f"{shown(value)} is out of range: must be {relation} {low}{_unit(column)}.")
    if column.maximum is not None and number > column.maximum:
        raise CellError(f"{shown(value)} is out of range: must be at most {column.maximum}{_unit(column)}.")


def _unit(column: Column) -> str:
    return f" {column.unit}" if column.unit else ""


def _model_validators(typed, column: Column, raw) -> None:
    if not column.model_field:
        return
    try:
        Sample._meta.get_field(column.model_field).run_validators(typed)
    except ValidationError as error:
        raise CellError(f"{shown(raw)}: {' '.join(error.messages)}")


def parse_cell(column: Column, value, *, decimal_comma: bool = False):
    """The typed value of one non-blank cell, or CellError. Text is never evaluated, whatever it starts with."""
    if column.kind == "text":
        typed = _text(value)
        if _CONTROL.search(typed):
            raise CellError(f"{shown(value)} contains control characters; retype the value.")
        if column.name == "donor_code" and len(typed) > DONOR_CODE_MAX_LENGTH:
            raise CellError(f"{shown(value)} is longer than {DONOR_CODE_MAX_LENGTH} characters.")
        if column.name == "barcode" and not _BARCODE.match(typed):
            raise CellError(
                f"{shown(value)} is not a usable barcode: letters, digits and . _ / - only, starting with a "
                "letter or digit."
            )
        if column.name == "cell_line_cellosaurus" and not _CELLOSAURUS.match(typed):
            raise CellError(f"{shown(value)} is not a Cellosaurus accession like CVCL_0030.")
    elif column.kind in ("decimal", "integer"):
        typed = _integer(value, decimal_comma) if column.kind == "integer" else _decimal(value, decimal_comma)
        _check_bounds(typed, value, column)
    elif column.kind == "datetime":
        typed = _datetime(value)
    elif column.kind == "boolean":
        typed = _boolean(value)
    else:
        typed = _choice(value, column)
    _model_validators(typed, column, value)
    return typed
