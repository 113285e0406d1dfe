"""Printable aliquot labels: a QR code (segno) and a Code128 barcode (python-barcode) per tube.

The libraries compute the symbols; this module draws their modules itself, so the HTML sheet (inline
SVG) and the PDF sheet (reportlab) show exactly the same symbols at the same proportions.
"""

import io
from dataclasses import dataclass
from functools import cached_property
from html import escape

import barcode
import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

# Quiet zones in modules, as the symbologies require for reliable scanning.
QR_QUIET_ZONE = 4
CODE128_QUIET_ZONE = 10

# PDF sheet: A4 with 3 × 8 labels of 63.5 × 33.9 mm (the common L7160 layout).
SHEET_COLUMNS, SHEET_ROWS = 3, 8
LABEL_WIDTH, LABEL_HEIGHT = 63.5 * mm, 33.9 * mm
SHEET_LEFT, SHEET_TOP = 7.2 * mm, 15.1 * mm
COLUMN_PITCH = 66.0 * mm


@dataclass(frozen=True)
class Label:
    barcode: str
    lines: tuple[str, ...]

    @cached_property
    def qr_matrix(self) -> list[list[bool]]:
        qr = segno.make(self.barcode, micro=False, error="m")
        return [[bool(cell) for cell in row] for row in qr.matrix]

    @cached_property
    def code128_modules(self) -> str:
        """The bar pattern as '1' (bar) and '0' (space) per module, without quiet zones."""
        return barcode.get("code128", self.barcode).build()[0]


def label_for(aliquot) -> Label:
    sample = aliquot.sample
    where = f" · {aliquot.box.name} {aliquot.position_label}" if aliquot.box_id else ""
    lines = [sample.barcode, sample.get_biofluid_display(), f"{aliquot.volume_ul.normalize():f} µL{where}"]
    return Label(barcode=aliquot.barcode, lines=tuple(lines))


def bar_runs(modules: str) -> list[tuple[int, int]]:
    """(start, width) of each bar: consecutive dark modules are drawn as one rectangle."""
    runs, start = [], None
    for index, module in enumerate(modules + "0"):
        if module == "1" and start is None:
            start = index
        elif module == "0" and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def qr_svg(label: Label) -> str:
    size = len(label.qr_matrix) + 2 * QR_QUIET_ZONE
    cells = "".join(
        f"M{x + QR_QUIET_ZONE} {y + QR_QUIET_ZONE}h1v1h-1z"
        for y, row in enumerate(label.qr_matrix)
        for x, dark in enumerate(row)
        if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="label-qr" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" role="img" aria-label="QR code {escape(label.barcode)}">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{cells}"/></svg>'
    )


def code128_svg(label: Label, height: int = 30) -> str:
    modules = label.code128_modules
    width = len(modules) + 2 * CODE128_QUIET_ZONE
    bars = "".join(
        f'<rect x="{start + CODE128_QUIET_ZONE}" y="0" width="{run}" height="{height}"/>'
        for start, run in bar_runs(modules)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="label-code128" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" role="img" '
        f'aria-label="Code 128 barcode {escape(label.barcode)}">'
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{bars}</g></svg>'
    )


def _fitted(pdf: canvas.Canvas, text: str, font: str, size: float, width: float) -> str:
    """The text, shortened with an ellipsis if it would run past the label's edge."""
    if pdf.stringWidth(text, font, size) <= width:
        return text
    while text and pdf.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_label(pdf: canvas.Canvas, label: Label, left: float, bottom: float) -> None:
    padding = 2 * mm
    qr_size = LABEL_HEIGHT - 2 * padding
    qr_modules = len(label.qr_matrix) + 2 * QR_QUIET_ZONE
    module = qr_size / qr_modules
    qr_left, qr_top = left + padding, bottom + padding + qr_size
    for y, row in enumerate(label.qr_matrix):
        for x, dark in enumerate(row):
            if dark:
                pdf.rect(
                    qr_left + (x + QR_QUIET_ZONE) * module,
                    qr_top - (y + QR_QUIET_ZONE + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )
    text_left = qr_left + qr_size + 1 * mm
    text_width = left + LABEL_WIDTH - padding - text_left
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawString(text_left, bottom + LABEL_HEIGHT - padding - 7, label.barcode)
    pdf.setFont("Helvetica", 6)
    for index, line in enumerate(label.lines):
        fitted = _fitted(pdf, line, "Helvetica", 6, text_width)
        pdf.drawString(text_left, bottom + LABEL_HEIGHT - padding - 15 - index * 7, fitted)
    modules = label.code128_modules
    bar_module = text_width / (len(modules) + 2 * CODE128_QUIET_ZONE)
    bar_bottom, bar_height = bottom + padding, 9 * mm
    for start, run in bar_runs(modules):
        pdf.rect(
            text_left + (start + CODE128_QUIET_ZONE) * bar_module,
            bar_bottom,
            run * bar_module,
            bar_height,
            stroke=0,
            fill=1,
        )


def labels_pdf(labels: list[Label], *, title: str = "Aliquot labels") -> bytes:
    """A4 sheets of labels, filled row by row; one page per 24 labels."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(title)
    page_height = A4[1]
    per_page = SHEET_COLUMNS * SHEET_ROWS
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            pdf.showPage()
        slot = index % per_page
        row, column = divmod(slot, SHEET_COLUMNS)
        left = SHEET_LEFT + column * COLUMN_PITCH
        bottom = page_height - SHEET_TOP - (row + 1) * LABEL_HEIGHT
        _draw_label(pdf, label, left, bottom)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
