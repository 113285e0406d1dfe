"""Reading uploaded text (sample manifests, instrument exports) whose encoding the file does not declare.

A byte-order mark declares the encoding and is obeyed by the callers. Without one a file is UTF-8 when it
decodes as UTF-8. Otherwise it may be in the legacy single-byte encoding of Western Windows PCs and of the
instrument software, Windows-1252 (cp1252; its printable part above 0x9F is Latin-1, which ZetaView writes).
Reading any other file as Windows-1252 never fails: it silently turns Shift-JIS, GB2312, Big5 or EUC text into
mojibake. So a file is read as Windows-1252 only when it decodes cleanly and looks like Western text:

1. Every byte is a Windows-1252 character. The five bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D,
   C1 control characters in Latin-1) never occur in Western text, but are common lead bytes in Shift-JIS, GBK
   and Big5.
2. Every run of two or more adjacent non-ASCII characters has the shape of Western text: letters of one case
   (``üß``, ``ÄÖ``), a capital followed by small letters (``Þó``), optionally flanked by quotes, guillemets,
   dashes or an ellipsis (``l’é``, ``«Ça``). Multi-byte text read as Windows-1252 gives runs that mix symbols,
   cases and quotes (``ŒŒŸ¬``, ``ÑùÄ±``, ``‚È‚µ``). A no-break space or soft hyphen separates runs, and a lone
   non-ASCII character between ASCII ones is always accepted: instrument exports write ², ³, µ, ° (and
   SoftMax's Á) that way.

A file that fails either rule is refused with ``TextEncodingError``, naming the line, so nothing is stored as
mojibake. charset-normalizer was considered and not used: on short Western text, which is what a manifest
holds, its best guess is often a multi-byte encoding ("Süß µL °C" and "Ångström" come out as Big5), so it could
neither accept the legacy files reliably nor refuse the others.

No Django here: the instrument parsers use this module too.
"""

from __future__ import annotations

import re

LEGACY_ENCODING = "cp1252"
REFUSAL = (
    "The file is not UTF-8 and does not decode cleanly as Windows-1252; "
    "save it as UTF-8 (CSV UTF-8) and upload it again."
)

_LOWER = frozenset("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿßšžœ")
_UPPER = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞŠŽŒŸ")
_FLANKING = frozenset("‘’‚“”„«»‹›…–—")  # quotes, guillemets, dashes, ellipsis
# Adjacent non-ASCII characters; a no-break space (U+00A0) and a soft hyphen (U+00AD) separate runs.
_RUN = re.compile(r"[^\x00-\x7f\xa0\xad]{2,}")
# The shape of a run, one letter per character: l(ower), u(pper), f(lanking punctuation), s(ymbol).
_WESTERN_SHAPE = re.compile(r"f*(?:l+|u+|ul+)?f*")
# Share of NUL bytes above which a file without a byte-order mark is UTF-16 text rather than binary data.
_UTF16_NUL_SHARE = 0.2
_SAMPLE = 65536
# Each byte of Windows-1252 text is one character, so a run of ``_RUN`` in the text is a run of bytes that are
# neither ASCII nor 0xA0 nor 0xAD in the data. Marked 1 (the rest 0) by one C-level translate, two adjacent marks
# are found by a C-level search: most exports hold only lone µ, ², ° and need no scan of their text at all.
_RUN_BYTE = bytes(0 if byte < 0x80 or byte in (0xA0, 0xAD) else 1 for byte in range(256))


class TextEncodingError(ValueError):
    """The bytes are not text in an encoding the LIMS can read without guessing; the message says so."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _shape(run: str) -> str:
    return "".join(
        "l" if char in _LOWER else "u" if char in _UPPER else "f" if char in _FLANKING else "s" for char in run
    )


def _line_of(text: str, position: int) -> int:
    before = text[:position]
    return before.count("\n") + (before.count("\r") if "\n" not in before else 0) + 1


def misread_run(text: str) -> tuple[int, str] | None:
    """(line, characters) of the first run of non-ASCII characters that Western text would not hold, or None."""
    for match in _RUN.finditer(text):
        if not _WESTERN_SHAPE.fullmatch(_shape(match.group())):
            return _line_of(text, match.start()), match.group()
    return None


def looks_like_utf16(data: bytes) -> bool:
    """Text saved as UTF-16 without a byte-order mark: NUL bytes in bulk, nearly all on even or all on odd
    positions (the high byte of every ASCII character)."""
    sample = bytes(data[:_SAMPLE])
    nuls = [index % 2 for index, byte in enumerate(sample) if byte == 0]
    if len(sample) < 4 or len(nuls) < _UTF16_NUL_SHARE * len(sample):
        return False
    odd = sum(nuls)
    return max(odd, len(nuls) - odd) >= 0.95 * len(nuls)


def decode_legacy(data: bytes) -> str:
    """``data`` (not UTF-8) as Windows-1252 text, or TextEncodingError when it is not Western text."""
    data = bytes(data)
    try:
        text = data.decode(LEGACY_ENCODING)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TextEncodingError(
            f"{REFUSAL} Byte 0x{data[error.start]:02X} on line {line} is not a Windows-1252 character "
            "(the file is probably in a multi-byte encoding such as Shift-JIS, GB2312 or Big5)."
        )
    found = misread_run(text) if b"\x01\x01" in data.translate(_RUN_BYTE) else None
    if found is not None:
        line, run = found
        shown = run if len(run) <= 12 else run[:11] + "…"
        raise TextEncodingError(
            f"{REFUSAL} Line {line} would read “{shown}”, which is how text in a multi-byte encoding "
            "(such as Shift-JIS, GB2312, Big5 or EUC-KR) looks when read as Windows-1252."
        )
    return text


def utf16_refusal() -> str:
    return f"{REFUSAL} It looks like UTF-16 text without a byte-order mark."
