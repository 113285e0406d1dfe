"""Lab dashboard, method comparison, control materials and their Levey–Jennings charts."""

from django.urls import path

from .views import controls, dashboards

urlpatterns = [
    path("", dashboards.dashboard, name="dashboard"),
    path("recompute/", dashboards.recompute_all, name="dashboard-recompute"),
    path("jobs/<int:pk>/", dashboards.job_status, name="dashboard-job-status"),
    path("comparison/", dashboards.comparison, name="dashboard-comparison"),
    path("controls/", controls.control_list, name="control-list"),
    path("controls/new/", controls.control_create, name="control-create"),
    path("controls/<int:pk>/", controls.control_detail, name="control-detail"),
    path("controls/<int:pk>/edit/", controls.control_edit, name="control-edit"),
    path("controls/<int:pk>/samples/", controls.control_link_samples, name="control-link-samples"),
]
