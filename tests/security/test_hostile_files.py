"""The hostile-file corpus (tests/fixtures/hostile, built by its make_corpus.py) fed to everything that reads an
uploaded file: the instrument parsers, the file-upload service, the manifest import, and the upload endpoints
of the web pages and the API. Each file is refused with a named problem (or, for a damaged export that still
reads, previewed) — never another exception, never a server error, never a result or sample written.

Reading is bounded: every manifest read runs under a budget of cell visits, so a workbook that would keep
the reader busy for hours fails here in milliseconds instead of hanging the suite.
"""

import csv
import io
import json
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from evlims.characterization.models import Measurement
from evlims.core.models import AuditEvent, Role
from evlims.instruments.models import Ingestion, RawFile
from evlims.instruments.parsers import ParseError, parse_bytes
from evlims.instruments.services import file_ingestion
from evlims.samples import import_files, imports
from evlims.samples.models import Donor, ManifestImport, Sample
from evlims.samples.services import manifests
from tests.factories import LabFactory, ProjectFactory, member

CORPUS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
CORPUS = json.loads((CORPUS_DIR / "corpus.json").read_text())
NAMES = [entry["file"] for entry in CORPUS]
BY_NAME = {entry["file"]: entry for entry in CORPUS}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Cells a manifest read may visit: the row limit times a generous number of columns.
CELL_BUDGET = 2_500_000
# Formula-like text in free-text columns is data, not an attack on us: it is warned about, stored exactly as typed
# and every export neutralises it (docs/bulk-import.md, docs/security.md). Only its DDE row makes the file invalid.
FORMULA_TEXT_MANIFEST = "manifest-formula-injection.csv"


def data_of(name: str) -> bytes:
    return (CORPUS_DIR / name).read_bytes()


class ReadingUnbounded(Exception):
    pass


@pytest.fixture
def cell_budget(monkeypatch):
    """Counts the cells the manifest reader looks at; past the budget the read is stopped."""
    original = import_files.is_blank
    seen = [0]

    def counted(value):
        seen[0] += 1
        if seen[0] > CELL_BUDGET:
            raise ReadingUnbounded(f"more than {CELL_BUDGET:,} cells visited")
        return original(value)

    monkeypatch.setattr(import_files, "is_blank", counted)
    return seen


def manifest_params(names=NAMES):
    return list(names)


def test_the_corpus_is_complete():
    assert len(CORPUS) >= 50
    assert {path.name for path in CORPUS_DIR.iterdir()} >= set(NAMES)
    kinds = " ".join(entry["what"] for entry in CORPUS)
    for needle in ("cut", "NUL", "UTF-16", "random bytes", "compressed", "formula", "1e309", "twice", "empty"):
        assert needle in kinds, needle


def test_the_corpus_is_what_its_script_builds(tmp_path, monkeypatch):
    """make_corpus.py is deterministic: re-running it reproduces the committed files byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_DIR / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = module.DEFAULT_SOURCE
    if not source.exists():
        pytest.skip(f"the real instrument exports are not at {source}")
    built = module.build(source)
    assert sorted(built) == sorted(NAMES)
    for name, (data, _, _) in built.items():
        assert data == data_of(name), name


# (a) the parsers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_parsers_refuse_with_a_parse_error(name):
    try:
        result = parse_bytes(data_of(name))
    except ParseError as error:
        assert str(error)
        return
    assert BY_NAME[name]["parse"] == "any", f"{name} must be refused, it was read as {type(result).__name__}"
    result.to_dict()


# (b) the upload service -----------------------------------------------------------------------------------


@pytest.fixture
def lab_staff(db):
    lab = LabFactory(name="Hostile Lab", slug="hostile-lab")
    return lab, member(lab, Role.LAB_STAFF, username="uploader")


@pytest.mark.parametrize("name", NAMES)
def test_upload_service_keeps_the_file_and_writes_no_result(lab_staff, name):
    lab, user = lab_staff
    data = data_of(name)
    try:
        ingestion, replayed = file_ingestion.file_upload(actor=user, lab=lab, data=data, name=name)
    except ValidationError as refused:
        assert refused.message_dict["file"]
        ingestion = Ingestion.objects.get()
        assert ingestion.status == Ingestion.Status.FAILED and ingestion.error
    else:
        assert BY_NAME[name]["parse"] == "any", f"{name} was accepted"
        assert ingestion.status == Ingestion.Status.PREVIEW and not replayed
    raw = RawFile.objects.get()
    assert ingestion.raw_file_id == raw.pk
    # Refused or previewed, the upload is audited with the name it came with.
    [event] = AuditEvent.objects.filter(object_type="ingestion", object_id=str(ingestion.pk))
    assert (event.action, event.changes["file"]) == (f"ingestion.{ingestion.status}", name)
    with raw.file.open("rb") as stored:
        assert stored.read() == data, "the raw file is kept byte for byte"
    assert not Measurement.objects.exists()


# (c) the manifest import ----------------------------------------------------------------------------------


@pytest.fixture
def project(lab_staff):
    lab, _ = lab_staff
    return ProjectFactory(lab=lab, code="HOSTILE")


@pytest.mark.parametrize("name", manifest_params([n for n in NAMES if n != FORMULA_TEXT_MANIFEST]))
def test_manifest_import_lists_problems_and_writes_no_sample(lab_staff, project, cell_budget, name):
    _, user = lab_staff
    data = data_of(name)
    checked = imports.check_manifest(data, lab=project.lab)
    assert checked.errors, f"{name} passed the manifest checks"
    assert all(problem["message"] for problem in checked.errors)
    try:
        manifest = manifests.manifest_upload(
            actor=user, project=project, uploaded_file=SimpleUploadedFile(name, data, content_type="text/csv")
        )
    except ValidationError as refused:
        assert not data and refused.messages
    else:
        manifest = manifests.manifest_validate(manifest=manifest, actor=user)
        assert manifest.status == ManifestImport.Status.INVALID
        assert manifest.errors
        checked = AuditEvent.objects.get(action="manifest.checked", object_id=str(manifest.pk))
        assert checked.changes["status"] == "invalid" and checked.changes["errors"] >= 1
        with pytest.raises(ValidationError):
            manifests.manifest_queue_commit(manifest=manifest, actor=user)
    assert not Sample.objects.exists() and not Donor.objects.exists()


def _sheet_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize(
    "name",
    manifest_params(["manifest-formula-injection-semicolon.csv", "manifest-script-tags.csv"]),
)
def test_problem_report_neutralises_formulas(lab_staff, project, cell_budget, name, client):
    _, user = lab_staff
    manifest = manifests.manifest_upload(
        actor=user, project=project, uploaded_file=SimpleUploadedFile(name, data_of(name))
    )
    manifests.manifest_validate(manifest=manifest, actor=user)
    client.force_login(user)
    response = client.get(reverse("evlims:import-problems", args=[manifest.pk]))
    assert response.status_code == 200
    cells = _sheet_cells(response.content.decode("utf-8-sig"))
    assert len(cells) > 4
    assert not [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)], "a cell would run as a formula"


def test_neutralise_quotes_every_formula_trigger():
    for value in ["=cmd|' /C calc'!A0", "+SUM(1,1)", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]:
        assert import_files.neutralise(value) == "'" + value
    assert import_files.neutralise("plasma") == "plasma"
    assert import_files.neutralise(None) == ""


# Through the web pages and the API ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_web_and_api_instrument_uploads_never_fail_with_a_server_error(lab_staff, name):
    lab, user = lab_staff
    client = Client(raise_request_exception=False)
    client.force_login(user)
    data = data_of(name)
    page = client.post(
        reverse("evlims:result-upload"),
        {
            "lab": lab.pk,
            "file_format": "auto",
            "upload_token": uuid.uuid4().hex,
            "file": SimpleUploadedFile(name, data),
        },
    )
    assert page.status_code in (200, 302), page.status_code
    api = client.post(
        reverse("evlims:api:files"),
        {"file": SimpleUploadedFile(name, data), "lab": lab.pk},
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert api.status_code in (200, 201, 400), (api.status_code, api.content[:300])
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("name", manifest_params([n for n in NAMES if n != FORMULA_TEXT_MANIFEST]))
def test_web_manifest_upload_never_fails_with_a_server_error(lab_staff, project, cell_budget, name):
    _, user = lab_staff
    client = Client(raise_request_exception=True)
    client.force_login(user)
    response = client.post(
        reverse("evlims:import-upload"),
        {"project": project.pk, "file": SimpleUploadedFile(name.replace(".bin", ".csv"), data_of(name))},
    )
    if cell_budget[0] > CELL_BUDGET:
        raise ReadingUnbounded("the checking task was stopped by the cell budget")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        detail = client.get(response["Location"])
        assert detail.status_code == 200
        assert ManifestImport.objects.get().status == ManifestImport.Status.INVALID
    assert not Sample.objects.exists()


def test_dde_is_refused_and_other_formula_text_is_warned_stored_as_typed_and_neutralised_on_export(lab_staff, project):
    from evlims.core.spreadsheets import neutralise
    from evlims.samples.models import Sample

    _, user = lab_staff
    data = data_of(FORMULA_TEXT_MANIFEST)
    manifest = manifests.manifest_upload(
        actor=user, project=project, uploaded_file=SimpleUploadedFile(FORMULA_TEXT_MANIFEST, data)
    )
    manifest = manifests.manifest_validate(manifest=manifest, actor=user)
    # The DDE payload (row 2) is refused in both columns holding it; every other formula-like cell is warned
    # about, row by row and column by column, before anything is committed.
    assert manifest.status == ManifestImport.Status.INVALID
    errors = [(p["row"], p["column"]) for p in manifest.errors if p["severity"] == "error"]
    assert errors == [(2, "external_id"), (2, "remarks")]
    assert all("DDE command" in p["message"] for p in manifest.errors if p["severity"] == "error")
    warned = {(p["row"], p["column"]) for p in manifest.errors if p["severity"] == "warning"}
    assert warned == {(row, column) for row in range(3, 10) for column in ("external_id", "remarks")}
    assert not Sample.objects.exists()

    without_dde = b"".join(line for line in data.splitlines(keepends=True) if b"cmd|" not in line)
    manifest = manifests.manifest_upload(
        actor=user, project=project, uploaded_file=SimpleUploadedFile(FORMULA_TEXT_MANIFEST, without_dde)
    )
    manifest = manifests.manifest_validate(manifest=manifest, actor=user)
    assert manifest.status == ManifestImport.Status.VALID, manifest.errors
    assert {p["severity"] for p in manifest.errors} == {"warning"}
    manifests.manifest_commit(manifest=manifest, actor=user)
    stored = [s.external_id for s in Sample.objects.filter(project=project).order_by("barcode") if s.external_id]
    assert stored and any(text.startswith(("=", "+", "@")) for text in stored)
    assert all(not neutralise(text).startswith(("=", "+", "@", "-")) for text in stored)
