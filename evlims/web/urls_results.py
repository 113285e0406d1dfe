"""Results: instrument file uploads and their preview, the ingestion list, raw files, results typed by hand, and a
result's page with its versions, its correction and its voiding; a western blot entered as one form, and results
pasted from a spreadsheet."""

from django.urls import path

from .views import blots, result_changes, result_paste, results

urlpatterns = [
    path("", results.ingestion_list, name="ingestion-list"),
    path("upload/", results.result_upload, name="result-upload"),
    path("ingestions/<int:pk>/", results.ingestion_detail, name="ingestion-detail"),
    path("raw-files/<int:pk>/", results.raw_file_download, name="raw-file"),
    path("preparations/<int:pk>/<slug:kind>/", results.result_new, name="result-new"),
    path("measurements/<int:pk>/", result_changes.result_detail, name="result-detail"),
    path("measurements/<int:pk>/correct/", result_changes.result_correct_view, name="result-correct"),
    path("measurements/<int:pk>/void/", result_changes.result_void_view, name="result-void"),
    path("blots/new/", blots.blot_new, name="blot-new"),
    path("paste/", result_paste.result_paste, name="result-paste"),
]
