"""Protocol library, version pages and comparison, the editor (form and YAML tabs) and its checks, reviews."""

from django.urls import path

from .views import protocol_form, protocols

urlpatterns = [
    path("", protocols.protocol_list, name="protocol-list"),
    path("new/", protocols.protocol_editor, name="protocol-new"),
    path("validate/", protocols.protocol_validate, name="protocol-validate"),
    path("form/check/", protocol_form.form_check, name="protocol-form-check"),
    path("form/step/", protocol_form.form_step, name="protocol-form-step"),
    path("versions/<int:pk>/", protocols.version_detail, name="protocol-version"),
    path("versions/<int:pk>/compare/", protocols.version_compare, name="protocol-compare"),
    path("versions/<int:pk>/approve/", protocols.version_approve, name="protocol-approve"),
    path("versions/<int:pk>/retire/", protocols.version_retire, name="protocol-retire"),
]
