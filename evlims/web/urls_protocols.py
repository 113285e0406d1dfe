"""Protocol library, version pages and comparison, the YAML editor with its live check, review actions."""

from django.urls import path

from .views import protocols

urlpatterns = [
    path("", protocols.protocol_list, name="protocol-list"),
    path("new/", protocols.protocol_editor, name="protocol-new"),
    path("validate/", protocols.protocol_validate, name="protocol-validate"),
    path("versions/<int:pk>/", protocols.version_detail, name="protocol-version"),
    path("versions/<int:pk>/compare/", protocols.version_compare, name="protocol-compare"),
    path("versions/<int:pk>/approve/", protocols.version_approve, name="protocol-approve"),
    path("versions/<int:pk>/retire/", protocols.version_retire, name="protocol-retire"),
]
