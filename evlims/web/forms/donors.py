"""Donor search, registration and edit forms. Forms validate input only; services do the writing."""

from django import forms

from ...core.models import Lab
from ...core.tenancy import WRITER_ROLES, labs_where
from ...samples import selectors
from ...samples.models import Donor

DONOR_FIELDS = ("project", "code", "sex", "age_band", "diagnosis", "diagnosis_ontology_id", "consent_status")


class DonorSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Donor code"}))


class DonorForm(forms.ModelForm):
    class Meta:
        model = Donor
        fields = DONOR_FIELDS

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.writable_labs = labs_where(user, WRITER_ROLES)
        self.fields["project"].queryset = selectors.projects_for(user).filter(lab_id__in=self.writable_labs)
        self.fields["project"].empty_label = "No project"


class DonorCreateForm(DonorForm):
    # Not a model field of the form: the code is unique per lab, and that rule is the service's (a ModelForm
    # check on (lab, code) would report it as an error of the whole form instead of the code).
    lab = forms.ModelChoiceField(queryset=None, help_text="The lab whose donor this is.")

    field_order = ("lab", *DONOR_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = Lab.objects.filter(pk__in=self.writable_labs)
        if len(self.writable_labs) == 1:
            self.fields["lab"].initial = self.writable_labs[0]

    def record(self) -> dict:
        """The donor's fields as donor_create takes them."""
        return {name: self.cleaned_data[name] for name in DONOR_FIELDS}


class DonorEditForm(DonorForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the record is being changed.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A donor's project is one of its own lab's.
        self.fields["project"].queryset = self.fields["project"].queryset.filter(lab_id=self.instance.lab_id)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in DONOR_FIELDS if name in self.changed_data}
