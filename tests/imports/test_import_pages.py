"""The import pages: thin views over the import services, scoped to the user's labs."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evlims.samples.models import ManifestImport, Sample
from evlims.samples.services import manifests

from .conftest import csv_bytes, manifest_bytes, upload

Status = ManifestImport.Status


def url(name, *args, **kwargs):
    return reverse(f"evlims:{name}", args=args, kwargs=kwargs)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def post_upload(client, project, data, name="manifest.csv"):
    return client.post(url("import-upload"), {"project": project.pk, "file": SimpleUploadedFile(name, data)})


def test_upload_check_preview_and_commit(staff_client, project):
    assert staff_client.get(url("import-upload")).status_code == 200
    response = post_upload(staff_client, project, manifest_bytes("good.csv"))
    manifest = ManifestImport.objects.get()
    assert response.status_code == 302 and response["Location"] == url("import-detail", manifest.pk)

    page = staff_client.get(url("import-detail", manifest.pk)).content.decode()
    assert 'id="import-preview"' in page
    assert "4 samples" in page and "5 aliquots" in page and "1 barcode to issue" in page
    assert "2 new and 0 existing donors" in page
    assert "Commit 4 samples" in page and "issued at commit" in page
    assert not Sample.objects.exists()

    response = staff_client.post(url("import-commit", manifest.pk))
    assert response.status_code == 302 and response["Location"] == url("import-detail", manifest.pk)
    assert Sample.objects.count() == 4
    page = staff_client.get(url("import-detail", manifest.pk)).content.decode()
    assert 'id="import-committed"' in page and "4 samples registered" in page

    staff_client.post(url("import-commit", manifest.pk))
    assert Sample.objects.count() == 4


def test_bad_file_page_lists_every_problem_and_offers_the_report(staff_client, project):
    post_upload(staff_client, project, manifest_bytes("bad.csv"))
    manifest = ManifestImport.objects.get()
    page = staff_client.get(url("import-detail", manifest.pk)).content.decode()
    assert "14 errors, 1 warning" in page and "nothing was registered" in page
    assert "&#x27;01/03/2024&#x27; is not a date" in page
    assert "Commit" not in page and 'id="import-preview"' not in page

    response = staff_client.get(url("import-problems", manifest.pk))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{manifest.pk}-problems.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "severity", "message"]
    assert rows[1] == ["1", "colour", "warning", "Not a manifest column; its values are ignored."]
    assert ["5", "volume_ml", "error", "'0' is out of range: must be more than 0 mL."] in rows
    assert len(rows) == 16

    response = staff_client.post(url("import-commit", manifest.pk), follow=True)
    assert "Only a checked import without errors can be committed (this one: has errors)." in response.content.decode()
    assert not Sample.objects.exists()


def test_report_neutralises_formula_injection(staff_client, project):
    data = csv_bytes([["biofluid", "volume_ml", '=HYPERLINK("http://evil")', "@cmd"], ["urine", "=1+1", "x", "y"]])
    post_upload(staff_client, project, data)
    manifest = ManifestImport.objects.get()
    rows = list(
        csv.reader(io.StringIO(staff_client.get(url("import-problems", manifest.pk)).content.decode("utf-8-sig")))
    )
    assert rows[1:] == [
        ["1", '\'=HYPERLINK("http://evil")', "warning", "Not a manifest column; its values are ignored."],
        ["1", "'@cmd", "warning", "Not a manifest column; its values are ignored."],
        ["2", "volume_ml", "error", "'=1+1' is a formula; enter the value itself."],
    ]


def test_excel_upload(staff_client, project):
    workbook = openpyxl.Workbook()
    workbook.active.append(["biofluid", "volume_ml", "aliquot_count", "aliquot_volume_ul"])
    workbook.active.append(["serum", 2, 4, 250])
    buffer = io.BytesIO()
    workbook.save(buffer)
    post_upload(staff_client, project, buffer.getvalue(), name="m.xlsx")
    manifest = ManifestImport.objects.get()
    assert manifest.status == Status.VALID
    staff_client.post(url("import-commit", manifest.pk))
    assert Sample.objects.get().aliquots.count() == 4


def test_list_shows_only_the_users_labs(staff_client, client, staff, outsider, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"), name="mine.csv")
    page = staff_client.get(url("import-list")).content.decode()
    assert "mine.csv" in page and url("import-detail", manifest.pk) in page
    client.force_login(outsider)
    assert "mine.csv" not in client.get(url("import-list")).content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("import-detail", "get"),
        ("import-status", "get"),
        ("import-problems", "get"),
        ("import-file", "get"),
        ("import-commit", "post"),
    ],
)
def test_another_labs_import_is_a_404(client, staff, outsider, project, name, method):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    client.force_login(outsider)
    assert getattr(client, method)(url(name, manifest.pk)).status_code == 404
    manifest.refresh_from_db()
    assert manifest.status == Status.VALID and not Sample.objects.exists()


def test_qa_manager_can_look_but_not_import(client, qa_manager, staff, project):
    manifest = manifests.manifest_validate(manifest=upload(staff, project, manifest_bytes("good.csv")), actor=staff)
    client.force_login(qa_manager)
    assert client.get(url("import-upload")).status_code == 403
    assert post_upload(client, project, manifest_bytes("good.csv")).status_code == 403
    assert ManifestImport.objects.count() == 1
    page = client.get(url("import-detail", manifest.pk))
    assert page.status_code == 200 and "Commit 4 samples" not in page.content.decode()
    assert client.post(url("import-commit", manifest.pk)).status_code == 403
    assert not Sample.objects.exists()


def test_status_endpoint(staff_client, staff, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    assert staff_client.get(url("import-status", manifest.pk)).json() == {
        "status": "uploaded",
        "status_label": "Uploaded",
        "row_count": 0,
        "rows_processed": 0,
        "percent": 0,
        "finished": False,
        "error_count": 0,
        "warning_count": 0,
        "samples_created": 0,
    }
    page = staff_client.get(url("import-detail", manifest.pk)).content.decode()
    assert 'id="import-progress"' in page and url("import-status", manifest.pk) in page
    manifests.manifest_validate(manifest=manifest, actor=staff)
    state = staff_client.get(url("import-status", manifest.pk)).json()
    assert (state["status"], state["rows_processed"], state["percent"], state["finished"]) == ("valid", 4, 100, True)


def test_oversized_file_is_refused_on_the_form(staff_client, project, settings):
    settings.EVLIMS = {"IMPORT_MAX_BYTES": 10}
    response = post_upload(staff_client, project, manifest_bytes("good.csv"))
    assert response.status_code == 200
    assert "The file is 614 bytes; the largest accepted is 10 bytes." in response.content.decode()
    assert not ManifestImport.objects.exists()


def test_project_of_another_lab_cannot_be_chosen(staff_client, other_lab):
    from tests.factories import ProjectFactory

    foreign = ProjectFactory(lab=other_lab)
    response = post_upload(staff_client, foreign, manifest_bytes("good.csv"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ManifestImport.objects.exists()


def test_original_file_download_is_byte_for_byte(staff_client, staff, project):
    data = manifest_bytes("bad.csv")
    manifest = upload(staff, project, data, name="site A.csv")
    response = staff_client.get(url("import-file", manifest.pk))
    assert b"".join(response.streaming_content) == data
    assert 'filename="site A.csv"' in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [("csv", "text/csv; charset=utf-8"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
)
def test_templates_download(staff_client, file_format, content_type):
    response = staff_client.get(url("import-template", file_format=file_format))
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="sample-manifest-template.{file_format}"'
    assert staff_client.get("/imports/template.pdf").status_code == 404


def test_pages_need_a_login(client, staff, project):
    manifest = upload(staff, project, manifest_bytes("good.csv"))
    for address in (url("import-list"), url("import-detail", manifest.pk), url("import-status", manifest.pk)):
        response = client.get(address)
        assert response.status_code == 302 and response["Location"].startswith(url("login"))
