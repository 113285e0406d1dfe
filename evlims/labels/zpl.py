"""ZPL II for Zebra-type thermal printers: one label per aliquot, a 2D symbol (Data Matrix or QR) and the
human-readable lines beside or below it, laid out for the common cryo label stocks.

Pure Python (no Django): the web page, the API and the printer service all print what ``zpl_labels`` writes.

Sizes are exact: every position is in printer dots (203 dpi = 8 dots/mm, 300 dpi = 12 dots/mm). The symbol's
size is fixed here, not left to the printer: a Data Matrix gets its rows and columns (``^BX…,c,r``) from the
ECC 200 capacity table, a QR code its version from segno (the same encoder as the A4 sheets), so the layout
knows how many dots the symbol takes and keeps it, and every text line, inside the label. A code that cannot be
printed at one dot per module at least is refused with the reason, never printed unreadable.

Text goes through ``^FH`` hexadecimal escapes (``_5E`` for ``^``), so a code or a sample type cannot end the
field early or inject commands, and ``^CI28`` reads the field data as UTF-8 (µ prints as µ).
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

DATAMATRIX = "datamatrix"
QR = "qr"
SYMBOLOGIES = {DATAMATRIX: "Data Matrix", QR: "QR code"}
DPIS = (203, 300)
MAX_LINES = 4


@dataclass(frozen=True)
class LabelSize:
    key: str
    name: str
    width_in: float
    height_in: float

    def dots(self, dpi: int) -> tuple[int, int]:
        return round(self.width_in * dpi), round(self.height_in * dpi)


SIZES = {
    size.key: size
    for size in (
        LabelSize("cryo-1.28x0.5", "Cryo tube label 1.28 × 0.5 in (32.5 × 12.7 mm)", 1.28, 0.5),
        LabelSize("cryo-1.05x0.5", "Small cryo tube label 1.05 × 0.5 in (26.7 × 12.7 mm)", 1.05, 0.5),
        LabelSize("cap-1x1", "Cap or box-top label 1 × 1 in (25.4 × 25.4 mm)", 1.0, 1.0),
        LabelSize("rack-2x1", "Rack or box label 2 × 1 in (50.8 × 25.4 mm)", 2.0, 1.0),
    )
}

# ECC 200 square symbols: (modules per side, data codewords).
DATAMATRIX_SQUARES = (
    (10, 3),
    (12, 5),
    (14, 8),
    (16, 12),
    (18, 18),
    (20, 22),
    (22, 30),
    (24, 36),
    (26, 44),
    (32, 62),
    (36, 86),
    (40, 114),
    (44, 144),
)


class LabelDoesNotFit(ValueError):
    """The code cannot be printed readably on this label at this resolution."""


@dataclass(frozen=True)
class LabelContent:
    code: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layout:
    """Where everything goes on one label, in dots."""

    width: int
    height: int
    symbol_x: int
    symbol_y: int
    module: int
    modules: int
    text_x: int
    text_y: int
    text_width: int
    line_height: int

    @property
    def symbol_size(self) -> int:
        return self.module * self.modules


def ascii_codewords(text: str) -> int:
    """Data Matrix codewords of ``text`` in ASCII encodation (two digits share one; a byte above 127 takes two):
    an upper bound, as the printer may choose a denser encodation, never a longer one."""
    data = text.encode("utf-8")
    count, index = 0, 0
    while index < len(data):
        if data[index : index + 2].isdigit() and index + 1 < len(data):
            index += 2
        else:
            index += 1
        count += 1 if data[index - 1] <= 127 else 2
    return count


def datamatrix_modules(code: str) -> int:
    needed = ascii_codewords(code)
    for side, capacity in DATAMATRIX_SQUARES:
        if needed <= capacity:
            return side
    raise LabelDoesNotFit(f"“{code}” is too long for a Data Matrix on a cryo label ({needed} codewords).")


def qr_modules(code: str) -> int:
    return segno.make(code, micro=False, error="m").symbol_size(border=0)[0]


def symbol_modules(code: str, symbology: str) -> int:
    return datamatrix_modules(code) if symbology == DATAMATRIX else qr_modules(code)


def layout(size: LabelSize, dpi: int, code: str, symbology: str, lines: int) -> Layout:
    """Symbol at the left of a wide label with the text beside it; on a square label, the text below it."""
    width, height = size.dots(dpi)
    margin = round(dpi * 0.04)  # 1 mm: the printer's registration tolerance and the symbol's quiet zone
    modules = symbol_modules(code, symbology)
    wide = width >= 1.8 * height
    room = height - 2 * margin if wide else round((height - 2 * margin) * 0.55)
    module = room // modules
    if module < 1:
        raise LabelDoesNotFit(
            f"“{code}” needs {modules} × {modules} modules; {size.name} at {dpi} dpi has room for {room} dots."
        )
    symbol = module * modules
    if wide:
        text_x, text_y = margin + symbol + margin, margin
        text_height = height - 2 * margin
    else:
        text_x, text_y = margin, margin + symbol + margin // 2
        text_height = height - margin - text_y
    shown = max(1, min(lines, MAX_LINES))
    line_height = max(12, min(round(dpi * 0.11), text_height // shown))
    return Layout(
        width=width,
        height=height,
        symbol_x=margin,
        symbol_y=margin,
        module=module,
        modules=modules,
        text_x=text_x,
        text_y=text_y,
        text_width=width - margin - text_x,
        line_height=line_height,
    )


def field_data(text: str) -> str:
    """``text`` for ``^FH^FD``: ``^``, ``~`` and the escape ``_`` itself, control characters and non-ASCII
    bytes as _XX (the bytes of UTF-8, read back as UTF-8 under ^CI28)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if byte < 32 or byte > 126 or char in "^~_":
            out.append(f"_{byte:02X}")
        else:
            out.append(char)
    return "".join(out)


def fitted(text: str, width: int, char_height: int) -> str:
    """``text`` cut to what font 0 fits in ``width`` dots (its characters are at most about 0.6 of their height
    wide), with an ellipsis when cut."""
    room = max(1, int(width / (char_height * 0.6)))
    return text if len(text) <= room else text[: max(0, room - 1)] + "…"


def _symbol(code: str, symbology: str, spot: Layout) -> list[str]:
    where = f"^FO{spot.symbol_x},{spot.symbol_y}"
    if symbology == DATAMATRIX:
        # ^BX orientation, module height, quality 200 (ECC 200), columns, rows, format 6 (8-bit), escape ~
        command = f"^BXN,{spot.module},200,{spot.modules},{spot.modules},6,~"
        # Under ECC 200 the printer reads ~ as its escape (~1 is FNC1): a literal one is written ~d126.
        return [where, command, f"^FH^FD{field_data(code.replace('~', '~d126'))}^FS"]
    # ^BQ orientation, model 2, magnification; data "MA," = error correction M, automatic input mode.
    return [where, f"^BQN,2,{spot.module}", f"^FH^FDMA,{field_data(code)}^FS"]


def zpl_label(content: LabelContent, *, size: LabelSize, dpi: int, symbology: str) -> str:
    lines = content.lines[:MAX_LINES]
    spot = layout(size, dpi, content.code, symbology, len(lines))
    out = ["^XA", "^CI28", f"^PW{spot.width}", f"^LL{spot.height}", "^LH0,0", *_symbol(content.code, symbology, spot)]
    bottom = spot.height - round(dpi * 0.04)
    for index, line in enumerate(lines):
        y = spot.text_y + index * spot.line_height
        char = max(10, round(spot.line_height * 0.85))
        if y + char > bottom:
            break  # no room for another line: the label keeps the lines that fit, first ones first
        text = fitted(line, spot.text_width, char)
        out.append(f"^FO{spot.text_x},{y}^A0N,{char},{char}^FB{spot.text_width},1,0,L^FH^FD{field_data(text)}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def zpl_labels(contents, *, size: LabelSize, dpi: int, symbology: str) -> str:
    """One ``^XA…^XZ`` format per label, in order."""
    if dpi not in DPIS:
        raise LabelDoesNotFit(f"Printers print at {' or '.join(map(str, DPIS))} dpi, not {dpi}.")
    return "".join(zpl_label(content, size=size, dpi=dpi, symbology=symbology) for content in contents)
