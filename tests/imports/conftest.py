import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evlims.samples.services import manifests

MANIFESTS = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded manifests go to a per-test folder, never into the project's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


def manifest_bytes(name: str) -> bytes:
    return (MANIFESTS / name).read_bytes()


def csv_bytes(rows, *, delimiter=",", encoding="utf-8") -> bytes:
    return "".join(delimiter.join(row) + "\r\n" for row in rows).encode(encoding)


def xlsx_bytes(rows, *, sheet_title="Manifest") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(actor, project, data: bytes, name: str = "manifest.csv"):
    return manifests.manifest_upload(actor=actor, project=project, uploaded_file=SimpleUploadedFile(name, data))


def checked_upload(actor, project, data: bytes, name: str = "manifest.csv"):
    return manifests.manifest_validate(manifest=upload(actor, project, data, name), actor=actor)


def problem_tuples(manifest_or_problems):
    problems = getattr(manifest_or_problems, "errors", manifest_or_problems)
    return [(p["row"], p["column"], p["severity"], p["message"]) for p in problems]
