"""Sample manifest imports: templates, upload, the dry-run report, progress, commit."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ...core.tenancy import WRITER_ROLES, role_in
from ...samples import imports
from ...samples.import_files import problems_csv, template_csv, template_xlsx
from ...samples.models import ManifestImport
from ...samples.services import manifests
from ...samples.tasks import queue_check, queue_commit
from ..forms.imports import ManifestUploadForm
from . import list_specs
from .common import ensure_writer, member_view, run_service
from .lists import list_response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATES = {
    "csv": (template_csv, "text/csv; charset=utf-8"),
    "xlsx": (template_xlsx, XLSX_TYPE),
}


@member_view
def import_list(request):
    return list_response(request, list_specs.IMPORTS, imports.imports_for(request.user), "evlims/imports/list.html", {})


@require_GET
@member_view
def import_template(request, file_format):
    build, content_type = TEMPLATES[file_format]
    response = HttpResponse(build(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="sample-manifest-template.{file_format}"'
    return response


@member_view
def import_upload(request):
    ensure_writer(request.user)
    form = ManifestUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        manifest = run_service(
            form,
            lambda: manifests.manifest_upload(
                actor=request.user, project=form.cleaned_data["project"], uploaded_file=form.cleaned_data["file"]
            ),
        )
        if manifest is not None:
            # The import is saved (its transaction committed); an unreachable broker only delays the check.
            if not queue_check(manifest):
                messages.info(request, "The file is saved. Its check will run shortly; this page shows it when done.")
            return redirect("evlims:import-detail", pk=manifest.pk)
    return render(request, "evlims/imports/upload.html", {"form": form})


@member_view
def import_detail(request, pk):
    manifest = imports.import_get(request.user, pk)
    problems = manifest.errors
    preview = None
    if manifest.status == ManifestImport.Status.VALID:
        try:
            preview = imports.manifest_preview(manifest)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
    context = {
        "manifest": manifest,
        "progress": imports.import_status(manifest),
        "errors": [p for p in problems if p.get("severity") == "error"],
        "warnings": [p for p in problems if p.get("severity") == "warning"],
        "can_write": role_in(request.user, manifest.lab_id) in WRITER_ROLES,
        "preview": preview,
    }
    return render(request, "evlims/imports/detail.html", context)


@require_GET
@member_view
def import_status(request, pk):
    return JsonResponse(imports.import_status(imports.import_get(request.user, pk)))


@require_POST
@member_view
def import_commit(request, pk):
    manifest = imports.import_get(request.user, pk)
    try:
        if manifests.manifest_queue_commit(manifest=manifest, actor=request.user) and not queue_commit(
            manifest, request.user
        ):
            messages.info(request, "The commit will run shortly; this page shows it when done.")
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    return redirect("evlims:import-detail", pk=manifest.pk)


@require_GET
@member_view
def import_problems(request, pk):
    manifest = imports.import_get(request.user, pk)
    response = HttpResponse(problems_csv(manifest.errors), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{manifest.pk}-problems.csv"'
    return response


@require_GET
@member_view
def import_file(request, pk):
    """The file exactly as uploaded (its sha256 is on the import page)."""
    manifest = imports.import_get(request.user, pk)
    return FileResponse(
        manifest.file.open("rb"),
        as_attachment=True,
        filename=manifest.original_name,
        content_type="application/octet-stream",
    )
