"""Decompression bombs and XML/YAML expansion through every path that reads an uploaded workbook or protocol.

The workbooks are built here in memory (never written to disk): a shared-strings part inflating to 200 MB from
a few hundred kilobytes, the same part behind a zip header that lies about its size, zips declaring more than the
limits, and a workbook whose XML carries a DTD with entities. Each is refused with a named problem — a 400 from
the API, a form error or an invalid import on the pages — within seconds and a bounded amount of memory, before
openpyxl reads a single row. The YAML alias bomb is refused at its first anchor, and no answer echoes its value.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import uuid
import zipfile
from contextlib import contextmanager

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from evlims.core import spreadsheets
from evlims.core.models import Role
from evlims.core.spreadsheets import UnsafeWorkbook, check_xlsx
from evlims.instruments.models import Ingestion, RawFile
from evlims.instruments.parsers import ParseError, parse_bytes
from evlims.samples import import_files
from evlims.samples.models import ManifestImport, Sample
from protocols import ProtocolValidationError
from protocols.errors import MAX_MESSAGE_CHARS, issue
from protocols.loader import load_protocol_file
from tests.factories import LabFactory, ProjectFactory, member
from tests.fixtures.hostile.make_corpus import SHEET_OPEN, _billion_laughs, _xlsx

MAX_SECONDS = 5
MAX_PEAK_BYTES = 64 * 1024 * 1024
BOMB_BYTES = 200 * 1024 * 1024
SHEET = SHEET_OPEN + b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
DATED = (2020, 1, 1, 0, 0, 0)


def _shared_strings_bomb(size: int = BOMB_BYTES, *, zip64: bool = True) -> bytes:
    """A workbook whose shared strings are one string of ``size`` bytes, written to the zip a megabyte at a time."""
    small = _xlsx(SHEET, shared_strings=b"<sst/>")
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(small)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb,
    ):
        for part in source.infolist():
            if part.filename != "xl/sharedStrings.xml":
                bomb.writestr(part, source.read(part))
        head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
        tail = b"</t></si></sst>"
        info = zipfile.ZipInfo("xl/sharedStrings.xml", date_time=DATED)
        info.compress_type = zipfile.ZIP_DEFLATED
        with bomb.open(info, "w", force_zip64=zip64) as stream:
            stream.write(head)
            chunk, left = b"A" * (1024 * 1024), size - len(head) - len(tail)
            while left > 0:
                stream.write(chunk[:left])
                left -= len(chunk)
            stream.write(tail)
    return buffer.getvalue()


def _declaring(data: bytes, name: str, size: int) -> bytes:
    """``data`` with the uncompressed size of part ``name`` rewritten in its local and central headers."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    patched = bytearray(data)
    central = patched.find(b"PK\x01\x02")
    while patched[central + 46 : central + 46 + struct.unpack_from("<H", patched, central + 28)[0]] != name.encode():
        central = patched.find(b"PK\x01\x02", central + 4)
    for offset, field in ((local, 22), (central, 24)):
        assert struct.unpack_from("<I", patched, offset + field)[0] != 0xFFFFFFFF, "zip64 sizes are not patched"
        struct.pack_into("<I", patched, offset + field, size)
    return bytes(patched)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = _shared_strings_bomb()
    assert len(data) < 1024 * 1024, len(data)
    return data


@pytest.fixture(scope="module")
def lying_bomb() -> bytes:
    """150 MB of shared strings behind headers claiming 1 kB (without zip64, so the 32-bit size can be patched)."""
    return _declaring(_shared_strings_bomb(150 * 1024 * 1024, zip64=False), "xl/sharedStrings.xml", 1024)


def _dtd_workbook() -> bytes:
    """A workbook whose shared strings declare entities (the billion laughs)."""
    laughs = _billion_laughs().replace(b"<lolz>&lol9;</lolz>", b"<sst><si><t>&lol9;</t></si></sst>")
    return _xlsx(SHEET, shared_strings=laughs.replace(b"lolz", b"sst", 1))


@contextmanager
def bounded():
    """Asserts the block runs within MAX_SECONDS and allocates at most MAX_PEAK_BYTES at its peak.

    openpyxl is imported and the URLs resolved before (tracemalloc slows imports and counts what they allocate).
    """
    reverse("evlims:api:files")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert peak < MAX_PEAK_BYTES, f"{peak / 2**20:.0f} MB at the peak"


@pytest.fixture
def lab_staff(db):
    lab = LabFactory(name="Bomb Lab", slug="bomb-lab")
    return lab, member(lab, Role.LAB_STAFF, username="bomber")


def _api_upload(lab, user, name: str, data: bytes):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        reverse("evlims:api:files"),
        {"file": SimpleUploadedFile(name, data), "lab": lab.pk},
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )


def _web_manifest_upload(lab, user, name: str, data: bytes):
    project = ProjectFactory(lab=lab, code="BOMB")
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client.post(reverse("evlims:import-upload"), {"project": project.pk, "file": SimpleUploadedFile(name, data)})


# The checks on their own ---------------------------------------------------------------------------------------


def test_the_bombs_are_what_they_claim(bomb, lying_bomb):
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == BOMB_BYTES
    with zipfile.ZipFile(io.BytesIO(lying_bomb)) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == 1024
    assert len(lying_bomb) < 1024 * 1024


def test_a_declared_bomb_is_refused_from_its_header(bomb):
    with bounded(), pytest.raises(UnsafeWorkbook, match=r"xl/sharedStrings.xml inflates to 200 MB; the limit is 8 MB"):
        check_xlsx(bomb)


def test_a_lying_header_is_caught_while_inflating(lying_bomb):
    with bounded(), pytest.raises(UnsafeWorkbook, match=r"xl/sharedStrings.xml"):
        check_xlsx(lying_bomb)


def test_bytes_are_counted_even_when_the_zip_reader_trusts_a_header():
    """Python's zip reader stops at the declared size; the count is the check that does not depend on it."""

    class Overflowing:
        def open(self, part):
            return io.BytesIO(b"A" * 10_000)

    part = zipfile.ZipInfo("xl/sharedStrings.xml")
    part.file_size = 1_000
    with pytest.raises(UnsafeWorkbook, match="larger than its zip header says"):
        spreadsheets._inflate(Overflowing(), part)


def test_the_total_and_the_number_of_parts_are_limited():
    parts = _xlsx(SHEET, shared_strings=b"<sst/>")
    sheets = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(parts)) as source, zipfile.ZipFile(sheets, "w", zipfile.ZIP_DEFLATED) as out:
        for part in source.infolist():
            out.writestr(part, source.read(part))
        for number in range(2, 5):
            out.writestr(zipfile.ZipInfo(f"xl/worksheets/sheet{number}.xml", date_time=DATED), SHEET)
    data = sheets.getvalue()
    for number in range(1, 5):  # four worksheets of 30 MB each: each allowed, together above the total
        data = _declaring(data, f"xl/worksheets/sheet{number}.xml", 30 * 1024 * 1024)
    with pytest.raises(UnsafeWorkbook, match=r"The workbook inflates to 120 MB; the limit is 64 MB"):
        check_xlsx(data)
    crowded = io.BytesIO()
    with zipfile.ZipFile(crowded, "w") as out:
        for number in range(spreadsheets.XLSX_MAX_PARTS + 1):
            out.writestr(f"part{number}.xml", b"")
    with pytest.raises(UnsafeWorkbook, match="parts; at most 500"):
        check_xlsx(crowded.getvalue())


def test_a_sheet_may_be_larger_than_the_other_parts():
    check_xlsx(_declaring(_xlsx(SHEET), "xl/worksheets/sheet1.xml", 20 * 1024 * 1024))  # declaring more is harmless
    data = _declaring(_xlsx(SHEET), "xl/worksheets/sheet1.xml", 40 * 1024 * 1024)
    with pytest.raises(UnsafeWorkbook, match="inflates to 40 MB; the limit is 32 MB"):
        check_xlsx(data)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_dtd_is_refused_in_any_part(codec):
    laughs = _billion_laughs().decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{codec}"?>')
    data = _xlsx(SHEET, shared_strings=laughs.encode(codec))
    with pytest.raises(UnsafeWorkbook, match="declares a DTD or XML entities"):
        check_xlsx(data)


def test_ordinary_workbooks_pass():
    check_xlsx(_xlsx(SHEET, shared_strings=b"<sst><si><t>plasma</t></si></sst>"))


# Through the parsers and the upload paths --------------------------------------------------------------------


def test_the_instrument_parser_refuses_the_bomb_within_bounds(bomb):
    with bounded(), pytest.raises(ParseError, match="inflates to 200 MB"):
        parse_bytes(bomb)


def test_the_manifest_reader_refuses_the_bomb_within_bounds(bomb):
    with bounded(), pytest.raises(import_files.ManifestFileError, match="inflates to 200 MB"):
        import_files.read_manifest(bomb, max_rows=50_000)


@pytest.mark.parametrize("path", ["api", "manifest page"])
@pytest.mark.parametrize("which", ["bomb", "lying_bomb"])
def test_uploads_refuse_a_bomb_within_bounds_and_record_why(lab_staff, request, which, path):
    """``POST /api/v1/files/`` answers 400 and keeps the file with a failed ingestion; a manifest is invalid."""
    lab, user = lab_staff
    data = request.getfixturevalue(which)
    upload = _api_upload if path == "api" else _web_manifest_upload
    with bounded():
        response = upload(lab, user, "upload.xlsx", data)
    if path == "api":
        assert response.status_code == 400, response.content[:300]
        assert b"xl/sharedStrings.xml" in response.content
        ingestion = Ingestion.objects.get()
        assert ingestion.status == Ingestion.Status.FAILED and "sharedStrings" in ingestion.error
        assert RawFile.objects.count() == 1
    else:
        assert response.status_code in (200, 302)
        manifest = ManifestImport.objects.get()
        assert manifest.status == ManifestImport.Status.INVALID
        assert "xl/sharedStrings.xml" in str(manifest.errors)
        assert not Sample.objects.exists()


def test_dtd_workbook_through_the_instrument_api_and_page_is_a_clean_refusal(lab_staff):
    lab, user = lab_staff
    data = _dtd_workbook()
    response = _api_upload(lab, user, "entities.xlsx", data)
    assert response.status_code == 400, response.content[:300]
    assert b"DTD" in response.content
    client = Client(raise_request_exception=True)
    client.force_login(user)
    page = client.post(
        reverse("evlims:result-upload"),
        {
            "lab": lab.pk,
            "file_format": "auto",
            "upload_token": uuid.uuid4().hex,
            "file": SimpleUploadedFile("e.xlsx", data),
        },
    )
    assert page.status_code in (200, 302)
    assert Ingestion.objects.count() == 2, "each upload keeps its file with a failed ingestion"
    assert all(i.status == Ingestion.Status.FAILED and "DTD" in i.error for i in Ingestion.objects.all())
    raw = RawFile.objects.get()  # the same bytes are kept once
    assert all(i.raw_file_id == raw.pk for i in Ingestion.objects.all())


def test_dtd_workbook_through_the_manifest_import_is_an_invalid_import(lab_staff):
    lab, user = lab_staff
    response = _web_manifest_upload(lab, user, "entities.xlsx", _dtd_workbook())
    assert response.status_code in (200, 302)
    manifest = ManifestImport.objects.get()
    assert manifest.status == ManifestImport.Status.INVALID and "DTD" in str(manifest.errors)


def test_openpyxl_parses_with_defusedxml():
    """Behind the DTD check, openpyxl itself refuses entities when defusedxml is installed (it is a dependency)."""
    assert openpyxl.DEFUSEDXML


# The YAML alias bomb ------------------------------------------------------------------------------------------

ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{name}: &{name} [{','.join(['*' + prev] * 9)}]" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)]
)


def test_the_alias_bomb_is_small():
    assert len(ALIAS_BOMB) < 400


def test_api_refuses_yaml_aliases_naming_the_line_with_a_small_answer(lab_staff):
    lab, user = lab_staff
    client = APIClient()
    client.force_authenticate(user)
    with bounded():
        response = client.post(
            reverse("evlims:api:protocol-version-list"), {"lab": lab.pk, "source_text": ALIAS_BOMB}, format="json"
        )
    assert response.status_code == 400
    assert len(response.content) < 10_000
    assert b"line 1" in response.content and b"anchors and aliases" in response.content


def test_validate_page_refuses_yaml_aliases_with_a_small_answer(lab_staff):
    lab, user = lab_staff
    client = Client(raise_request_exception=True)
    client.force_login(user)
    with bounded():
        response = client.post(reverse("evlims:protocol-validate"), {"lab": lab.pk, "source_text": ALIAS_BOMB})
    assert response.status_code in (200, 400)
    assert len(response.content) < 10_000
    assert b"anchors and aliases" in response.content


def test_protocol_files_refuse_aliases_too(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(ProtocolValidationError, match=r"invalid YAML at line 1, column 4: anchors and aliases"):
        load_protocol_file(path)


def test_validation_messages_are_bounded():
    error = ProtocolValidationError([issue(None, None, "title", "x" * 100_000)] * 1000)
    assert len(error.errors[0]["message"]) == MAX_MESSAGE_CHARS
    assert len(str(error)) < 10_000 and "980 more problems" in str(error)
