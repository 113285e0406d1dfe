"""Flow cytometry: FCS files, their gates and counts, and bead calibrations."""

from django.urls import path

from .views import flow

urlpatterns = [
    path("", flow.flow_list, name="flow-list"),
    path("acquisitions/<int:pk>/", flow.flow_detail, name="flow-detail"),
    path("calibrations/", flow.calibration_list, name="flow-calibrations"),
]
