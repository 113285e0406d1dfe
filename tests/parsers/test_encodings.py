"""Undeclared encodings: UTF-8, else Windows-1252 only when the bytes decode cleanly and read as Western text.

The legacy exports (NanoSight cp1252 ² ³, ZetaView Latin-1 µ, SoftMax's Á) keep working; a Shift-JIS, GB2312,
Big5 or EUC-KR export, or UTF-16 without a byte-order mark, is refused instead of read as mojibake.
"""

import codecs

import pytest

from evlims.core.encodings import REFUSAL, TextEncodingError, decode_legacy, looks_like_utf16, misread_run
from evlims.instruments.parsers import ParseError, parse_bytes
from evlims.instruments.parsers.text import decode_text

from .conftest import ALL_IN_REPO, ALL_REAL, export_path, fixture_bytes

EXPORTS = [pytest.param("repo", relative, id=relative) for relative in ALL_IN_REPO] + [
    pytest.param("shared", relative, id=f"real:{relative}") for relative in ALL_REAL
]

# Words a Western lab writes in cp1252, each alone (the hardest case: a run of accented letters, no context).
WESTERN = (
    "Süß µL °C|Größe|café|Zürich|São Paulo|Øresund|smörgåsbord|naïve|l’échantillon|„Größe“|€ 5|Ça va|ÄÖÜ äöü ß|"
    "Ærø|10 µL|señora niño|Crème brûlée|Þórður|–80 °C|•|™|½ tube|Straße|Müller-Lüdenscheidt|Ångström|x²|"
    "«été»|“été”|ações|coleção não hemolisado|Hämolyse|Überstand|Fóðurblöndur|jäääär|Kööpenhamina|œuvre|cœur|"
    "ŒUVRE|Šárka Žižek|µm²|37 °C ±0,5|×10|©2024|§3|…und|Probe\xa0µL|SoftMax 25Á"
).split("|")
# Lab words in Japanese, Chinese and Korean, with the legacy encodings of those locales.
MULTI_BYTE = [
    ("検体1 採血管 溶血なし 冷蔵保存", "shift_jis"),
    ("血漿サンプル 備考", "cp932"),
    ("血漿 検体 なし", "euc_jp"),
    ("样本 采血管 无溶血 冷藏", "gb2312"),
    ("血浆样本 冷冻保存", "gbk"),
    ("血漿 樣本 冷凍", "big5"),
    ("검체 채혈관 용혈 없음", "euc_kr"),
]


@pytest.mark.parametrize(("origin", "relative"), EXPORTS)
def test_every_legacy_export_still_decodes_as_before(origin, relative):
    data = export_path(origin, relative).read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        assert decode_text(data) == data.decode("cp1252")
    parse_bytes(data)


@pytest.mark.parametrize("text", WESTERN)
def test_western_text_is_read_as_windows_1252(text):
    data = f"Sample,{text}\r\n".encode("cp1252")
    assert decode_legacy(data) == data.decode("cp1252")
    assert misread_run(text) is None


@pytest.mark.parametrize(("text", "codec"), MULTI_BYTE, ids=[codec for _, codec in MULTI_BYTE])
def test_multi_byte_text_is_refused_not_read_as_mojibake(text, codec):
    data = f"Sample,Remarks\r\nS-1,{text}\r\n".encode(codec)
    with pytest.raises(TextEncodingError) as refused:
        decode_legacy(data)
    assert refused.value.message.startswith(REFUSAL)
    assert "line 2" in refused.value.message.lower()


def test_the_refusal_names_the_line_and_what_it_would_have_read():
    data = "barcode,remarks\r\nS-1,ok\r\nS-2,样本\r\n".encode("gb2312")
    with pytest.raises(TextEncodingError, match="Line 3 would read “Ñù±¾”"):
        decode_legacy(data)
    with pytest.raises(TextEncodingError, match="Byte 0x81 on line 1 is not a Windows-1252 character"):
        decode_legacy("、".encode("shift_jis"))


def test_utf16_without_a_byte_order_mark_is_recognised():
    text = "barcode,biofluid\r\nS-1,serum\r\n"
    assert looks_like_utf16(text.encode("utf-16-le")) and looks_like_utf16(text.encode("utf-16-be"))
    assert not looks_like_utf16(b"PK\x03\x04" + bytes(range(256)) * 4)
    assert not looks_like_utf16(text.encode("utf-8"))


@pytest.mark.parametrize(("text", "codec"), MULTI_BYTE[:1] + MULTI_BYTE[3:4], ids=["shift_jis", "gb2312"])
def test_an_export_in_a_multi_byte_encoding_is_refused_by_the_parsers(text, codec):
    export = fixture_bytes("nanosight-failed-capture.csv").decode("utf-8")
    export = export.replace("Remarks,,", f"Remarks,{text},").replace("Operator Name,AB,", f"Operator Name,{text},")
    with pytest.raises(ParseError, match="save it as UTF-8"):
        parse_bytes(export.encode(codec))
    # The same export saved as UTF-8, with or without a BOM, is read with its text intact.
    for data in (export.encode("utf-8"), codecs.BOM_UTF8 + export.encode("utf-8")):
        assert parse_bytes(data).metadata["operator"] == text


def test_a_latin1_byte_undefined_in_windows_1252_is_refused():
    """Latin-1 maps 0x80-0x9F to C1 control characters; no text holds them, so no silent Latin-1 fallback."""
    export = fixture_bytes("nanosight-failed-capture.csv").replace(b"Diluent,PBS", b"Diluent,PBS\x90")
    with pytest.raises(ParseError, match="Byte 0x90 on line 11"):
        parse_bytes(export)


def _undefined_in_cp1252(byte: int) -> bool:
    try:
        bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return True
    return False


def test_the_byte_level_check_refuses_exactly_what_the_text_scan_refuses():
    """decode_legacy only scans the text when two adjacent bytes could start a run: for every pair of defined
    bytes, alone, after a no-break space and before a soft hyphen, it refuses exactly when the scan finds a run."""
    defined = [byte for byte in range(256) if not _undefined_in_cp1252(byte)]
    disagreements = []
    for first in defined:
        for second in defined:
            for data in (
                bytes([0x78, first, second, 0x79]),
                bytes([first, 0xA0, second]),
                bytes([first, second, 0xAD]),
            ):
                scanned = misread_run(data.decode("cp1252")) is None
                try:
                    decode_legacy(data)
                    accepted = True
                except TextEncodingError:
                    accepted = False
                if accepted != scanned:
                    disagreements.append(data)
    assert disagreements == []
