"""Compliance pages, the QA review queue and signing, reports and exports."""

from django.urls import path

from .views import compliance, reviews

SUBJECTS = ("preparation", "run", "project")

urlpatterns = [
    path("queue/", reviews.queue, name="qa-queue"),
    path("reviews/<int:pk>/", reviews.review_detail, name="review-detail"),
    path("reviews/<int:pk>/<slug:action>/", reviews.review_sign, name="review-sign"),
    path("preparations/<int:pk>/", compliance.preparation_compliance, name="compliance-preparation"),
    path("runs/<int:pk>/", compliance.run_compliance, name="compliance-run"),
    path("projects/<int:pk>/", compliance.project_compliance, name="compliance-project"),
    path(
        "preparations/<int:pk>/export.json",
        compliance.experiment_json,
        {"kind": "preparation"},
        name="export-preparation-json",
    ),
    path("projects/<int:pk>/export.json", compliance.experiment_json, {"kind": "project"}, name="export-project-json"),
]

for kind in SUBJECTS:
    prefix = f"{kind}s/<int:pk>/"
    urlpatterns += [
        path(f"{prefix}refresh/", compliance.refresh, {"kind": kind}, name=f"compliance-{kind}-refresh"),
        path(f"{prefix}report/", compliance.report, {"kind": kind}, name=f"report-{kind}"),
        path(f"{prefix}report.pdf", compliance.report_pdf, {"kind": kind}, name=f"report-{kind}-pdf"),
        path(f"{prefix}verdicts.csv", compliance.verdicts_csv, {"kind": kind}, name=f"verdicts-{kind}-csv"),
        path(
            f"{prefix}checklist.csv",
            compliance.checklist,
            {"kind": kind, "fmt": "csv"},
            name=f"checklist-{kind}-csv",
        ),
        path(f"{prefix}checklist/", compliance.checklist, {"kind": kind, "fmt": "html"}, name=f"checklist-{kind}"),
    ]

for kind in ("preparation", "run"):
    urlpatterns.append(
        path(f"{kind}s/<int:pk>/submit/", compliance.submit_for_review, {"kind": kind}, name=f"submit-{kind}")
    )
