"""Aliquot labels: the symbols, the SVG sheet and the PDF."""

import base64
import re
import zlib

import segno
from django.urls import reverse

from evlims.web.labels import CODE128_QUIET_ZONE, QR_QUIET_ZONE, Label, bar_runs, code128_svg, labels_pdf, qr_svg

LABEL = Label(barcode="EVA-0000042", lines=("EVS-0000007 · Blood plasma", "250 µL"))

CODE128_STARTS = {"11010000100", "11010010000", "11010011100"}  # start codes A, B and C
CODE128_STOP = "1100011101011"


def pdf_text(pdf: bytes) -> str:
    """Content of a PDF's streams, undoing the ASCII85 + Flate encoding reportlab applies."""
    chunks = []
    for header, stream in re.findall(rb"<<([^>]*?)>>\s*stream\r?\n(.*?)\s*endstream", pdf, re.S):
        if b"/ASCII85Decode" in header:
            stream = base64.a85decode(b"<~" + stream.strip(), adobe=True)
        if b"/FlateDecode" in header:
            stream = zlib.decompress(stream)
        chunks.append(stream.decode("latin-1"))
    return "\n".join(chunks)


def test_code128_pattern_is_a_complete_symbol():
    modules = LABEL.code128_modules
    assert modules[:11] in CODE128_STARTS and modules.endswith(CODE128_STOP)
    body = modules[: -len(CODE128_STOP)]
    symbols = [body[i : i + 11] for i in range(0, len(body), 11)]
    assert len(body) % 11 == 0 and len(symbols) >= 3  # start, data, checksum
    # Every Code 128 symbol is three bars and three spaces, starting with a bar and ending with a space.
    assert all(re.fullmatch(r"(1+0+){3}", symbol) for symbol in symbols)


def test_bar_runs_merge_adjacent_modules():
    assert bar_runs("1101000111") == [(0, 2), (3, 1), (7, 3)]
    assert bar_runs("000") == []


def test_qr_svg_draws_the_segno_matrix():
    svg = qr_svg(LABEL)
    matrix = segno.make(LABEL.barcode, micro=False, error="m").matrix
    size = len(matrix) + 2 * QR_QUIET_ZONE
    assert f'viewBox="0 0 {size} {size}"' in svg
    dark = sum(cell for row in matrix for cell in row)
    assert svg.count("h1v1h-1z") == dark
    assert f"M{QR_QUIET_ZONE} {QR_QUIET_ZONE}h1v1h-1z" in svg  # the finder pattern's corner


def test_code128_svg_draws_every_bar():
    svg = code128_svg(LABEL)
    runs = bar_runs(LABEL.code128_modules)
    assert svg.count('<rect x="') == len(runs)
    first_start, first_width = runs[0]
    assert f'<rect x="{first_start + CODE128_QUIET_ZONE}" y="0" width="{first_width}"' in svg


def test_svg_escapes_the_barcode_text():
    svg = qr_svg(Label(barcode='A"<b>', lines=()))
    assert 'aria-label="QR code A&quot;&lt;b&gt;"' in svg


def test_pdf_holds_every_label_and_paginates():
    labels = [Label(barcode=f"EVA-{n:07d}", lines=("line",)) for n in range(1, 27)]
    pdf = labels_pdf(labels)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 2  # 24 labels a sheet
    text = pdf_text(pdf)
    for label in labels:
        assert f"({label.barcode}) Tj" in text


def test_pdf_shortens_lines_that_would_overflow():
    long_line = "Cell-culture conditioned medium from a very long named cell line"
    text = pdf_text(labels_pdf([Label(barcode="EVA-1", lines=(long_line, "short"))]))
    assert "(short) Tj" in text and long_line not in text
    shortened = re.search(r"\((Cell-culture[^)]*)\) Tj", text).group(1)
    assert shortened.endswith("\\205")  # the ellipsis, written as its WinAnsi code


def test_pdf_draws_the_symbols():
    text = pdf_text(labels_pdf([LABEL]))
    rectangles = text.count(" re")
    dark_qr_modules = sum(sum(row) for row in LABEL.qr_matrix)
    assert rectangles == dark_qr_modules + len(bar_runs(LABEL.code128_modules))


def test_label_sheet_page(member_client, sample):
    aliquots = list(sample.aliquots.order_by("id"))
    response = member_client.get(reverse("evlims:labels"), {"aliquot": [a.pk for a in aliquots]})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="label-qr"') == 2 and html.count('class="label-code128"') == 2
    for aliquot in aliquots:
        assert f"QR code {aliquot.barcode}" in html
    assert f'<div class="label-line">{sample.barcode}</div>' in html
    assert '<div class="label-line">Blood plasma</div>' in html
    assert f"500 µL · {aliquots[0].box.name} A1" in html
    assert "@media print" not in html  # print rules live in the stylesheet
    assert "evlims/css/evlims.css" in html


def test_label_pdf_download(member_client, sample):
    aliquots = list(sample.aliquots.order_by("id"))
    response = member_client.get(reverse("evlims:labels"), {"aliquot": [a.pk for a in aliquots], "format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for aliquot in aliquots:
        assert f"({aliquot.barcode}) Tj" in text


def test_no_selection_explains_itself(member_client, sample):
    response = member_client.get(reverse("evlims:labels"), {"format": "pdf"})
    assert response.status_code == 400
    assert "Select at least one aliquot" in response.content.decode()


def test_malformed_ids_are_reported(member_client, sample):
    aliquot = sample.aliquots.order_by("id").first()
    response = member_client.get(reverse("evlims:labels"), {"aliquot": [aliquot.pk, "x1"]})
    assert response.status_code == 200
    assert "not valid and were left out" in response.content.decode()
    assert len(response.context["sheet"]) == 1


def test_labels_of_another_lab_are_not_found(member_client, sample, foreign_sample):
    mine = sample.aliquots.order_by("id").first()
    theirs = foreign_sample.aliquots.get()
    response = member_client.get(reverse("evlims:labels"), {"aliquot": [mine.pk, theirs.pk], "format": "pdf"})
    assert response.status_code == 404
