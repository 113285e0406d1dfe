"""Aliquot split, move and release forms."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.urls import reverse

from ...samples import selectors
from ...samples.models import CustodyEvent

POSITION_PATTERN = re.compile(r"^\s*([A-Za-z])\s*(\d{1,3})\s*$")


def parse_position(text: str) -> tuple[int, int]:
    """'B3' → (2, 3): rows are letters from A, columns numbers from 1."""
    match = POSITION_PATTERN.match(text or "")
    if not match:
        raise forms.ValidationError("Write the position as a row letter and a column number, e.g. B3.")
    return ord(match.group(1).upper()) - ord("A") + 1, int(match.group(2))


def position_label(row: int, column: int) -> str:
    return f"{chr(ord('A') + row - 1)}{column}"


class BoxChoiceMixin:
    def limit_boxes(self, user):
        self.fields["box"].queryset = selectors.boxes_for(user)
        self.fields["box"].label_from_instance = lambda box: box.path


class AliquotSplitForm(BoxChoiceMixin, forms.Form):
    volumes = forms.CharField(
        label="Volumes of the new aliquots (µL)",
        help_text="One volume per new aliquot, separated by commas or spaces, e.g. 100, 100, 50.",
    )
    box = forms.ModelChoiceField(
        required=False,
        queryset=None,
        empty_label="Not placed yet",
        help_text="New aliquots take its first free positions.",
    )
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_boxes(user)

    def clean_volumes(self) -> list[Decimal]:
        parts = [p for p in re.split(r"[,;\s]+", self.cleaned_data["volumes"]) if p]
        volumes = []
        for part in parts:
            try:
                value = Decimal(part)
            except InvalidOperation:
                raise forms.ValidationError(f"{part!r} is not a number.")
            if not value.is_finite() or value <= 0:
                raise forms.ValidationError(f"{part} µL: every volume must be more than 0.")
            volumes.append(value)
        if not volumes:
            raise forms.ValidationError("Give at least one volume.")
        if len(volumes) > 384:
            raise forms.ValidationError("At most 384 aliquots at a time.")
        return volumes


class AliquotMoveForm(BoxChoiceMixin, forms.Form):
    box = forms.ModelChoiceField(queryset=None, empty_label="Choose a box")
    position = forms.CharField(max_length=4, help_text="Row letter and column number, e.g. B3, or pick a free cell.")
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_boxes(user)
        # Choosing a box loads its grid, so a free cell can be picked instead of typed.
        self.fields["box"].widget.attrs.update(
            {"hx-get": reverse("evlims:box-picker"), "hx-target": "#box-picker", "hx-trigger": "change, load"}
        )

    def clean(self):
        cleaned = super().clean()
        if "position" in cleaned:
            try:
                cleaned["row"], cleaned["column"] = parse_position(cleaned["position"])
            except forms.ValidationError as error:
                self.add_error("position", error)
        return cleaned


class AliquotReleaseForm(forms.Form):
    kind = forms.ChoiceField(
        label="What happens to it",
        choices=[(CustodyEvent.Kind.SHIPPED, "Shipped"), (CustodyEvent.Kind.DISPOSED, "Disposed")],
        widget=forms.RadioSelect,
    )
    destination = forms.CharField(required=False, max_length=400, help_text="For a shipment: recipient and site.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class AliquotThawForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=500,
        label="Reason for the change",
        help_text="Why the tube is thawed (required when an approved preparation was made from it).",
    )
