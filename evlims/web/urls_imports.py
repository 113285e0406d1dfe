"""Pages of bulk sample import from manifest files (mounted at /imports/)."""

from django.urls import path, re_path

from .views import imports

urlpatterns = [
    path("", imports.import_list, name="import-list"),
    path("new/", imports.import_upload, name="import-upload"),
    re_path(r"^template\.(?P<file_format>csv|xlsx)$", imports.import_template, name="import-template"),
    path("<int:pk>/", imports.import_detail, name="import-detail"),
    path("<int:pk>/status/", imports.import_status, name="import-status"),
    path("<int:pk>/commit/", imports.import_commit, name="import-commit"),
    path("<int:pk>/problems.csv", imports.import_problems, name="import-problems"),
    path("<int:pk>/file/", imports.import_file, name="import-file"),
]
