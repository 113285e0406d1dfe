"""Web pages, one URL module per feature area so each stays small."""

from django.urls import include, path

from .views import home, search

urlpatterns = [
    path("", home.home, name="home"),
    path("search/", search.search_page, name="search"),
    path("", include("evlims.web.urls_samples")),
    path("imports/", include("evlims.web.urls_imports")),
    path("protocols/", include("evlims.web.urls_protocols")),
    path("runs/", include("evlims.web.urls_runs")),
    path("compliance/", include("evlims.web.urls_compliance")),
    path("results/", include("evlims.web.urls_results")),
    path("preparations/", include("evlims.web.urls_preparations")),
    path("dashboard/", include("evlims.web.urls_dashboards")),
    path("lab-admin/", include("evlims.web.urls_lab_admin")),
    path("plate-layouts/", include("evlims.web.urls_plate_layouts")),
    path("flow/", include("evlims.web.urls_flow")),
    path("standards/", include("evlims.web.urls_standards")),
    path("notifications/", include("evlims.web.urls_notifications")),
    path("", include("evlims.web.urls_interlab")),
    path("sso/", include("evlims.web.urls_sso")),
]
