"""A small ZPL II reader for the tests: splits the formats (^XA…^XZ) and, in each, the fields with their origin
(^FO), the barcode command in force (^BX / ^BQ with its parameters), the font (^A0), the field block (^FB) and
the field data (^FD, ^FH hexadecimal escapes decoded), so a test checks what a printer would print, not the text
of the writer."""

import re
from dataclasses import dataclass, field

COMMAND = re.compile(r"\^([A-Z][A-Z0-9@])")


@dataclass
class Field:
    x: int
    y: int
    data: str
    barcode: str | None = None  # "BX" or "BQ"
    barcode_params: list[str] = field(default_factory=list)
    font_height: int | None = None
    block_width: int | None = None


@dataclass
class Format:
    width: int | None = None
    length: int | None = None
    utf8: bool = False
    fields: list[Field] = field(default_factory=list)

    @property
    def symbols(self) -> list[Field]:
        return [f for f in self.fields if f.barcode]

    @property
    def texts(self) -> list[Field]:
        return [f for f in self.fields if not f.barcode]


def _unhex(data: str, escape: str = "_") -> str:
    raw, index = bytearray(), 0
    while index < len(data):
        if data[index] == escape:
            raw.append(int(data[index + 1 : index + 3], 16))
            index += 3
        else:
            raw.extend(data[index].encode("ascii"))
            index += 1
    return raw.decode("utf-8")


def _commands(body: str):
    """(command, parameters text) in order; ^FD's data runs up to the next ^FS."""
    index = 0
    while True:
        match = COMMAND.search(body, index)
        if match is None:
            return
        name, start = match.group(1), match.end()
        if name == "FD":
            end = body.index("^FS", start)
            yield name, body[start:end]
            index = end
            continue
        nxt = body.find("^", start)
        nxt = len(body) if nxt == -1 else nxt
        yield name, body[start:nxt].strip()
        index = nxt


def parse(text: str) -> list[Format]:
    formats = []
    for body in re.findall(r"\^XA(.*?)\^XZ", text, flags=re.S):
        current = Format()
        origin, barcode, params, hexed, font, block = None, None, [], False, None, None
        for name, value in _commands(body):
            if name == "PW":
                current.width = int(value)
            elif name == "LL":
                current.length = int(value)
            elif name == "CI":
                current.utf8 = value == "28"
            elif name == "FO":
                origin = tuple(int(v) for v in value.split(","))
            elif name in ("BX", "BQ"):
                barcode, params = name, value.split(",")
            elif name == "A0":
                font = int(value.split(",")[1])
            elif name == "FB":
                block = int(value.split(",")[0])
            elif name == "FH":
                hexed = True
            elif name == "FD":
                assert origin is not None, "field data without ^FO"
                data = _unhex(value) if hexed else value
                if barcode == "BX":  # the ECC 200 escape character (~ by default): ~dNNN is the character NNN
                    data = re.sub(r"~d(\d{3})", lambda m: chr(int(m.group(1))), data)
                current.fields.append(Field(origin[0], origin[1], data, barcode, params, font, block))
            elif name == "FS":
                origin, barcode, params, hexed, font, block = None, None, [], False, None, None
        formats.append(current)
    return formats


def symbol_dots(symbol: Field, modules: int) -> int:
    """The side of a symbol in dots: module size × modules (a Data Matrix names its modules; a QR code's come
    from its version, given by the caller)."""
    size = int(symbol.barcode_params[1] if symbol.barcode == "BX" else symbol.barcode_params[2])
    return size * modules
