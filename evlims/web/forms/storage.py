"""Creating sites, freezers, racks and boxes."""

from django import forms

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...samples import selectors
from ...samples.models import StorageUnit


class StorageUnitForm(forms.Form):
    kind = forms.ChoiceField(choices=StorageUnit.Kind.choices)
    name = forms.CharField(max_length=80)
    parent = forms.ModelChoiceField(
        required=False, queryset=None, help_text="A freezer is in a site, a rack in a freezer, a box in a rack."
    )
    lab = forms.ModelChoiceField(queryset=None, required=False, help_text="Only needed for a new site.")
    temperature_c = forms.DecimalField(required=False, max_digits=5, decimal_places=1, label="Temperature (°C)")
    rows = forms.IntegerField(required=False, min_value=1, max_value=26, help_text="Boxes only (A–Z).")
    columns = forms.IntegerField(required=False, min_value=1, max_value=50, help_text="Boxes only.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        writable = labs_where(user, WRITER_ROLES)
        self.fields["parent"].queryset = (
            selectors.storage_units_for(user).filter(lab_id__in=writable).exclude(kind=StorageUnit.Kind.BOX)
        )
        self.fields["parent"].label_from_instance = lambda unit: f"{unit.path} ({unit.get_kind_display().lower()})"
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=writable)
        if len(writable) == 1:
            self.fields["lab"].initial = writable[0]

    def clean(self):
        cleaned = super().clean()
        parent, kind = cleaned.get("parent"), cleaned.get("kind")
        if parent is not None:
            cleaned["lab"] = parent.lab
        elif kind in StorageUnit.PARENT_KIND:
            self.add_error("parent", f"A {kind} belongs in a {StorageUnit.PARENT_KIND[kind]}.")
        elif not cleaned.get("lab") and "lab" not in self.errors:
            self.add_error("lab", "Choose the lab this site belongs to.")
        return cleaned
