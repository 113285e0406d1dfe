"""The lab's label template for thermal cryo-label printers, as its admins fill it in."""

from django import forms

from ...labels import zpl
from ...labels.models import LabelTemplate
from .lab_admin import reason_field


class LabelTemplateForm(forms.Form):
    size = forms.ChoiceField(label="Label size", choices=LabelTemplate.SIZE_CHOICES)
    dpi = forms.TypedChoiceField(
        label="Printer resolution", choices=LabelTemplate.Dpi.choices, coerce=int, help_text="On the printer's plate."
    )
    symbology = forms.ChoiceField(
        label="Symbol",
        choices=LabelTemplate.Symbology.choices,
        help_text="Data Matrix is the smaller symbol for the same code: the usual choice on tube labels.",
    )
    fields = forms.MultipleChoiceField(
        label="Printed lines",
        choices=list(LabelTemplate.FIELDS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {zpl.MAX_LINES}, printed in this order beside or below the symbol.",
    )
    printer_host = forms.CharField(
        label="Printer address (optional)",
        required=False,
        max_length=253,
        help_text="Host name or IP address of the network printer, to send labels to it from the label page.",
    )
    printer_port = forms.IntegerField(
        label="Printer port", min_value=9100, max_value=9109, initial=9100, help_text="Raw printing: 9100 as a rule."
    )
    reason = reason_field(required=False)

    def clean_fields(self):
        chosen = self.cleaned_data["fields"]
        return [name for name in LabelTemplate.FIELDS if name in chosen]
