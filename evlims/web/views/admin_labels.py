"""The lab's label template for thermal printers, for its admins: size, resolution, symbol, printed lines and
the printer's address, with a preview of a label of the lab's as the ZPL the printer gets."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...labels import services
from ...labels.models import LabelTemplate
from ..forms.labels import LabelTemplateForm
from .common import member_view, run_service
from .lab_admin import admin_lab

EDITABLE = ("size", "dpi", "symbology", "fields", "printer_host", "printer_port")


def _preview(lab, template) -> str:
    aliquot = lab.aliquots.select_related("sample", "box").order_by("-pk").first()
    if aliquot is None:
        return ""
    try:
        return services.labels_zpl(template=template, aliquots=[aliquot])
    except Exception:
        return ""


@member_view
def label_template(request, lab_pk):
    lab = admin_lab(request.user, lab_pk)
    template = services.template_for(lab)
    initial = {name: getattr(template, name) for name in EDITABLE}
    form = LabelTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        saved = run_service(
            form,
            lambda: services.label_template_save(actor=request.user, lab=lab, changes=data, reason=reason),
        )
        if saved is not None:
            messages.success(request, f"Label template of {lab.name} saved.")
            return redirect("evlims:lab-admin-labels", lab_pk=lab.pk)
    context = {
        "lab": lab,
        "form": form,
        "template": template,
        "fields": [LabelTemplate.FIELDS[name] for name in template.fields],
        "preview": _preview(lab, template),
        "section": "labels",
    }
    return render(request, "evlims/lab_admin/labels.html", context, status=400 if form.errors else 200)
