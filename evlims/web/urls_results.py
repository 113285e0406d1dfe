"""Results: instrument file uploads and their preview, the ingestion list, raw files, results typed by hand."""

from django.urls import path

from .views import results

urlpatterns = [
    path("", results.ingestion_list, name="ingestion-list"),
    path("upload/", results.result_upload, name="result-upload"),
    path("ingestions/<int:pk>/", results.ingestion_detail, name="ingestion-detail"),
    path("raw-files/<int:pk>/", results.raw_file_download, name="raw-file"),
    path("preparations/<int:pk>/<slug:kind>/", results.result_new, name="result-new"),
]
