"""Inter-laboratory comparisons: rounds, their items and results, and their reports."""

from django.urls import path

from .views import interlab
from .views import interlab_reports as reports

urlpatterns = [
    path("comparisons/", interlab.comparison_list, name="comparison-list"),
    path("comparisons/new/", interlab.round_create, name="comparison-round-create"),
    path("comparison-rounds/<int:pk>/", interlab.round_detail, name="comparison-round"),
    path("comparison-rounds/<int:pk>/enrol/", interlab.round_enrol, name="comparison-round-enrol"),
    path("comparison-rounds/<int:pk>/items/", interlab.round_item, name="comparison-round-item"),
    path("comparison-rounds/<int:pk>/checks/", interlab.round_checks, name="comparison-round-checks"),
    path("comparison-rounds/<int:pk>/ship/", interlab.round_ship, name="comparison-round-ship"),
    path("comparison-rounds/<int:pk>/close/", interlab.round_close, name="comparison-round-close"),
    path("comparison-rounds/<int:pk>/report.csv", reports.round_csv, name="comparison-round-csv"),
    path("comparison-rounds/<int:pk>/report.pdf", reports.round_pdf, name="comparison-round-pdf"),
    path("comparison-rounds/<int:pk>/manifest.csv", reports.manifest_csv, name="comparison-round-manifest"),
    path("comparison-items/<int:pk>/result/", interlab.item_result, name="comparison-item-result"),
]
