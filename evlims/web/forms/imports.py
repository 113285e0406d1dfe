"""Upload of a sample manifest. The form checks input only; the import services do the writing."""

from django import forms

from ...conf import evlims_settings
from ...core.tenancy import WRITER_ROLES, labs_where
from ...samples import selectors


class ManifestUploadForm(forms.Form):
    project = forms.ModelChoiceField(queryset=None, help_text="Every sample of the file is registered in it.")
    file = forms.FileField(
        label="Manifest file",
        help_text="CSV (comma, semicolon or tab separated; UTF-8 or Windows encoding) or Excel .xlsx.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = selectors.projects_for(user).filter(lab_id__in=labs_where(user, WRITER_ROLES))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = evlims_settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the largest accepted is {limit:,} bytes. "
                "Split it into smaller files."
            )
        return upload
