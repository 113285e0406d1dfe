"""Isolation run forms: list filters, planning (aliquots and volumes), completion, abort. The form of a step
record is in ``run_steps``.

Forms read and check input; the isolation services do every write and have the last word.
"""

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

import protocols as protocol_library
from protocols import UnitParseError

from ...core.ids import parse_id
from ...core.tenancy import WRITER_ROLES, labs_where, visible_lab_ids
from ...isolation import selectors as isolation_selectors
from ...isolation.models import IsolationRun
from ...samples import selectors as sample_selectors
from ...samples.models import Aliquot
from .run_steps import shown_value

# Aliquots listed for ticking on the plan page; more than this and the user narrows the filter.
PICKER_LIMIT = 100


def version_label(version) -> str:
    return f"{version.protocol.title} — v{version.version} ({version.protocol.slug})"


class RunFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Run code, protocol or operator"}),
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *IsolationRun.Status.choices])
    protocol = forms.ModelChoiceField(required=False, queryset=None, empty_label="Any protocol")
    operator = forms.ModelChoiceField(required=False, queryset=None, empty_label="Any operator")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = isolation_selectors.protocols_for(user).prefetch_related(None)
        self.fields["protocol"].label_from_instance = lambda protocol: f"{protocol.title} ({protocol.slug})"
        self.fields["operator"].queryset = (
            get_user_model()
            .objects.filter(evlims_memberships__lab_id__in=visible_lab_ids(user))
            .distinct()
            .order_by("username")
        )
        self.fields["operator"].label_from_instance = lambda person: person.get_full_name() or person.get_username()


def parse_volume(text: str) -> Decimal:
    """'500', '500 µL' or '0.5 mL' → µL, rounded to the 0.1 µL aliquots are kept in."""
    try:
        value = protocol_library.parse_quantity(text.strip(), "µL").value
    except UnitParseError:
        raise forms.ValidationError(f"'{text}' is not a volume (write e.g. 500, 500 µL or 0.5 mL).")
    volume = Decimal(str(value)).quantize(Decimal("0.1"))
    if volume <= 0:
        raise forms.ValidationError(f"'{text}': a volume must be more than 0 µL.")
    return volume


class AliquotFilterForm(forms.Form):
    """Narrows the list of available aliquots shown for ticking."""

    q = forms.CharField(required=False, label="Find aliquots", max_length=80)
    project = forms.ModelChoiceField(
        required=False, queryset=None, empty_label="All projects", label="Project of the samples"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = sample_selectors.projects_for(user)
        self.fields["q"].widget.attrs["placeholder"] = "Aliquot or sample barcode"

    def aliquots(self, user):
        aliquots = sample_selectors.aliquots_for(user).filter(
            status=Aliquot.Status.AVAILABLE, volume_ul__gt=0, lab_id__in=labs_where(user, WRITER_ROLES)
        )
        if self.is_valid():
            term = self.cleaned_data["q"].strip()
            if term:
                aliquots = aliquots.filter(Q(barcode__icontains=term) | Q(sample__barcode__icontains=term))
            if self.cleaned_data["project"]:
                aliquots = aliquots.filter(sample__project=self.cleaned_data["project"])
        return aliquots.order_by("sample__barcode", "barcode")[:PICKER_LIMIT]


class RunPlanForm(forms.Form):
    """Protocol version, project and input aliquots of a new run.

    Aliquots come from the scanned lines (``BARCODE [volume]``) and from the ticked rows of the aliquot list
    (``aliquot`` = id, ``volume_<id>`` = volume); a line without a volume takes the default volume, or the
    whole aliquot when there is none.
    """

    protocol_version = forms.ModelChoiceField(queryset=None, empty_label="Choose an approved protocol version")
    project = forms.ModelChoiceField(queryset=None, empty_label="Choose a project")
    barcodes = forms.CharField(
        required=False,
        label="Scanned aliquots",
        widget=forms.Textarea(
            attrs={"rows": 5, "class": "font-monospace", "placeholder": "EVA-0000001 500\nEVA-0000002"}
        ),
        help_text="One aliquot barcode per line, optionally followed by the volume to use (µL, or with a unit).",
    )
    default_volume = forms.CharField(
        required=False,
        label="Default input volume",
        help_text="For lines and ticked aliquots without a volume; leave empty to use the whole aliquot.",
    )
    equipment = forms.CharField(required=False, max_length=200, help_text="Rotor, column lot, kit lot.")
    reason = forms.CharField(required=False, max_length=500, label="Note")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        writable = labs_where(user, WRITER_ROLES)
        self.fields["protocol_version"].queryset = isolation_selectors.approved_versions_for(user).order_by(
            "protocol__title", "created_at"
        )
        self.fields["protocol_version"].label_from_instance = version_label
        self.fields["project"].queryset = sample_selectors.projects_for(user).filter(lab_id__in=writable)

    def ticked(self) -> list[tuple[str, str]]:
        """[(aliquot id, volume text)] of the ticked rows, as posted."""
        if not self.is_bound:
            return []
        return [(pk, self.data.get(f"volume_{pk}", "").strip()) for pk in self.data.getlist("aliquot")]

    def clean_default_volume(self):
        text = self.cleaned_data["default_volume"].strip()
        return parse_volume(text) if text else None

    def _scanned_lines(self) -> list[tuple[int, str, str]]:
        lines = []
        for number, line in enumerate(self.cleaned_data.get("barcodes", "").splitlines(), start=1):
            parts = line.strip().split(None, 1)
            if parts:
                lines.append((number, parts[0], parts[1] if len(parts) > 1 else ""))
        return lines

    def clean(self):
        cleaned = super().clean()
        if "default_volume" not in cleaned:
            return cleaned
        scanned = self._scanned_lines()
        ticked = self.ticked()
        available = sample_selectors.aliquots_for(self.user)
        # A barcode is unique within a lab only: of the user's labs, the project's lab is the one meant.
        project = cleaned.get("project")
        by_barcode = sample_selectors.aliquots_by_barcode(self.user, [barcode for _, barcode, _ in scanned])
        ticked_ids = [pk for pk in (parse_id(pk) for pk, _ in ticked) if pk is not None]
        by_id = {a.pk: a for a in available.filter(pk__in=ticked_ids)} if ticked_ids else {}
        inputs, line_errors, ticked_errors, seen = [], [], [], {}
        for number, barcode, volume_text in scanned:
            found = by_barcode.get(barcode.upper(), [])
            meant = sample_selectors.narrowed_by_lab(found, barcode, project.lab_id if project else None)
            where = f"Line {number} ({barcode})"
            if not meant:
                line_errors.append(f"{where}: no aliquot with this barcode in your labs.")
                continue
            if len(meant) > 1:
                labs = ", ".join(sorted({aliquot.lab.name for aliquot in meant}))
                line_errors.append(
                    f"{where}: aliquots of several of your labs have this barcode ({labs}); choose the project "
                    "of the lab you mean, or tick the aliquot in the list."
                )
                continue
            aliquot = meant[0]
            problem, volume = self._input(aliquot, volume_text, cleaned["default_volume"], seen)
            (line_errors.append(f"{where}: {problem}") if problem else inputs.append((aliquot, volume)))
        for pk, volume_text in ticked:
            aliquot = by_id.get(parse_id(pk))
            if aliquot is None:
                ticked_errors.append(f"Ticked aliquot {pk} is not in your labs.")
                continue
            problem, volume = self._input(aliquot, volume_text, cleaned["default_volume"], seen)
            (ticked_errors.append(f"{aliquot.barcode}: {problem}") if problem else inputs.append((aliquot, volume)))
        for message in line_errors:
            self.add_error("barcodes", message)
        for message in ticked_errors:
            self.add_error(None, message)
        if not scanned and not ticked:
            self.add_error("barcodes", "Scan or tick at least one aliquot.")
        cleaned["inputs"] = inputs
        return cleaned

    def _input(self, aliquot, volume_text, default_volume, seen) -> tuple[str | None, Decimal | None]:
        """(problem, volume) for one chosen aliquot."""
        if aliquot.pk in seen:
            return "listed twice.", None
        seen[aliquot.pk] = True
        if aliquot.status != Aliquot.Status.AVAILABLE:
            return f"is {aliquot.get_status_display().lower()}, not available.", None
        try:
            volume = parse_volume(volume_text) if volume_text else (default_volume or aliquot.volume_ul)
        except forms.ValidationError as error:
            return error.messages[0], None
        if volume > aliquot.volume_ul:
            return f"holds {aliquot.volume_ul} µL; {volume} µL requested.", None
        return None, volume


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}), label="Reason")


class PreparationOutputForm(forms.Form):
    """Final volume, buffer and storage of one EV preparation at completion."""

    final_volume = forms.CharField(required=False, label="Final volume", help_text="µL, or with a unit.")
    buffer = forms.CharField(required=False, max_length=80, label="Storage buffer", help_text="e.g. PBS")
    storage_container = forms.CharField(
        required=False, max_length=120, label="Container", help_text="e.g. 0.5 mL low-binding polypropylene tube"
    )
    storage_temperature_c = forms.DecimalField(
        required=False, max_digits=5, decimal_places=1, label="Storage temperature (°C)", help_text="e.g. -80"
    )
    storage = forms.CharField(
        required=False, max_length=200, label="Storage location", help_text="Freezer, box and position."
    )

    def clean_final_volume(self):
        text = self.cleaned_data["final_volume"].strip()
        return parse_volume(text) if text else None

    def output(self) -> dict:
        data = self.cleaned_data
        values = {
            "buffer": data["buffer"].strip(),
            "storage": data["storage"].strip(),
            "storage_container": data["storage_container"].strip(),
            "storage_temperature_c": data["storage_temperature_c"],
        }
        if data["final_volume"] is not None:
            values["final_volume_ul"] = data["final_volume"]
        return values


def suggested_output(definition: dict) -> dict:
    """Buffer and volume the protocol's last step leaves the EVs in, as starting values of the completion form."""
    steps = definition.get("steps") or []
    if not steps:
        return {}
    params = steps[-1].get("params", {})
    suggestion = {}
    buffer = params.get("buffer") or params.get("resuspension_buffer")
    if buffer:
        suggestion["buffer"] = buffer
    pooled, fraction_ml = params.get("fractions_pooled"), params.get("fraction_volume_ml")
    if isinstance(pooled, list) and isinstance(fraction_ml, int | float):
        suggestion["final_volume"] = shown_value(round(len(pooled) * fraction_ml * 1000, 1))
    elif isinstance(params.get("resuspension_volume_ul"), int | float):
        suggestion["final_volume"] = shown_value(params["resuspension_volume_ul"])
    return suggestion


class RunEditForm(forms.ModelForm):
    """Corrections of a run's record: equipment, when it started and when it was completed."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record is being changed.",
    )

    class Meta:
        model = IsolationRun
        fields = ("equipment", "started_at", "completed_at")
        labels = {
            "equipment": "Equipment (rotor, column lot, kit lot)",
            "started_at": "Started",
            "completed_at": "Completed",
        }
        help_texts = {"started_at": "Date and time, e.g. 2025-03-14 09:30.", "completed_at": "Date and time."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version
        if self.instance.status == IsolationRun.Status.PLANNED:
            del self.fields["started_at"]
        if self.instance.status != IsolationRun.Status.COMPLETED:
            del self.fields["completed_at"]

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.changed_data}
