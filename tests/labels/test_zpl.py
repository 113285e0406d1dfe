"""ZPL for cryo labels, checked by reading it back as a printer would: the symbol encodes the aliquot's code, the
text lines say what the template chose, and everything lies inside the label at the printer's resolution."""

import pytest
import segno

from evlims.labels import zpl
from tests.labels.zpl_reader import parse, symbol_dots

CONTENT = zpl.LabelContent("EVA-0000123", ("EVS-0000045", "Blood plasma", "250 µL", "2026-03-04"))


def _bounds_ok(label, content_code):
    fmt = parse(label)[0]
    assert len(fmt.symbols) == 1
    symbol = fmt.symbols[0]
    data = symbol.data.removeprefix("MA,") if symbol.barcode == "BQ" else symbol.data
    assert data == content_code
    if symbol.barcode == "BX":
        assert symbol.barcode_params[2] == "200"  # ECC 200
        modules = int(symbol.barcode_params[3])
        assert symbol.barcode_params[3] == symbol.barcode_params[4]
    else:
        modules = segno.make(content_code, micro=False, error="m").symbol_size(border=0)[0]
    side = symbol_dots(symbol, modules)
    assert side >= modules  # at least one dot per module
    assert 0 <= symbol.x and symbol.x + side <= fmt.width
    assert 0 <= symbol.y and symbol.y + side <= fmt.length
    for text in fmt.texts:
        assert 0 <= text.x < fmt.width and text.x + text.block_width <= fmt.width
        assert 0 <= text.y and text.y + text.font_height <= fmt.length
        # no text overlaps the symbol
        overlaps_x = text.x < symbol.x + side and symbol.x < text.x + text.block_width
        overlaps_y = text.y < symbol.y + side and symbol.y < text.y + text.font_height
        assert not (overlaps_x and overlaps_y), (text, symbol, side)
    return fmt


@pytest.mark.parametrize("size", sorted(zpl.SIZES))
@pytest.mark.parametrize("dpi", zpl.DPIS)
@pytest.mark.parametrize("symbology", sorted(zpl.SYMBOLOGIES))
def test_every_size_keeps_symbol_and_text_inside_the_label(size, dpi, symbology):
    label = zpl.zpl_labels([CONTENT], size=zpl.SIZES[size], dpi=dpi, symbology=symbology)
    fmt = _bounds_ok(label, CONTENT.code)
    width, height = zpl.SIZES[size].dots(dpi)
    assert (fmt.width, fmt.length) == (width, height)
    assert fmt.utf8
    for line, text in zip(CONTENT.lines, fmt.texts, strict=False):
        assert line.startswith(text.data.removesuffix("…"))
    assert fmt.texts, "at least one line of text fits"


def test_the_cryo_tube_label_at_203_dpi_prints_the_chosen_lines_beside_the_data_matrix():
    label = zpl.zpl_labels([CONTENT], size=zpl.SIZES["cryo-1.28x0.5"], dpi=203, symbology=zpl.DATAMATRIX)
    fmt = parse(label)[0]
    assert (fmt.width, fmt.length) == (260, 102)
    symbol = fmt.symbols[0]
    assert (symbol.barcode, symbol.data, symbol.x, symbol.y) == ("BX", "EVA-0000123", 8, 8)
    assert [t.data for t in fmt.texts] == ["EVS-0000045", "Blood plasma", "250 µL", "2026-03-04"]
    assert all(t.x > symbol.x + symbol_dots(symbol, int(symbol.barcode_params[3])) for t in fmt.texts)
    assert [t.y for t in fmt.texts] == sorted(t.y for t in fmt.texts)


def test_a_square_cap_label_puts_the_text_below_the_qr_code():
    label = zpl.zpl_labels([CONTENT], size=zpl.SIZES["cap-1x1"], dpi=300, symbology=zpl.QR)
    fmt = _bounds_ok(label, CONTENT.code)
    symbol = fmt.symbols[0]
    modules = segno.make(CONTENT.code, micro=False, error="m").symbol_size(border=0)[0]
    assert all(t.y >= symbol.y + symbol_dots(symbol, modules) for t in fmt.texts)


def test_one_format_per_label_in_order():
    contents = [zpl.LabelContent(f"EVA-000000{n}", ("Serum",)) for n in range(1, 4)]
    formats = parse(zpl.zpl_labels(contents, size=zpl.SIZES["cryo-1.28x0.5"], dpi=300, symbology=zpl.DATAMATRIX))
    assert [f.symbols[0].data for f in formats] == ["EVA-0000001", "EVA-0000002", "EVA-0000003"]


def test_field_data_cannot_end_the_field_or_inject_commands():
    hostile = zpl.LabelContent("EVA^XZ~JA_1", ("^XA^FO0,0^FDowned^FS", "tab\there"))
    label = zpl.zpl_labels([hostile], size=zpl.SIZES["rack-2x1"], dpi=203, symbology=zpl.DATAMATRIX)
    assert label.count("^XA") == 1 and label.count("^XZ") == 1 and "~JA" not in label
    fmt = parse(label)[0]
    assert fmt.symbols[0].data == "EVA^XZ~JA_1"
    assert fmt.texts[0].data.startswith("^XA^FO0")


def test_long_lines_are_cut_to_the_label_with_an_ellipsis():
    long = zpl.LabelContent("EVA-0000001", ("Cerebrospinal fluid from a very long named source",))
    fmt = parse(zpl.zpl_labels([long], size=zpl.SIZES["cryo-1.05x0.5"], dpi=203, symbology=zpl.DATAMATRIX))[0]
    text = fmt.texts[0]
    assert text.data.endswith("…") and len(text.data) * text.font_height * 0.6 <= text.block_width + text.font_height


def test_data_matrix_size_follows_the_ecc200_capacity():
    assert zpl.datamatrix_modules("12") == 10  # two digits share one codeword
    assert zpl.datamatrix_modules("EVA-0000123") == 14  # 8 codewords
    assert zpl.datamatrix_modules("A" * 12) == 16
    assert zpl.datamatrix_modules("µ") == 12  # two bytes above 127, two codewords each


def test_a_code_too_long_for_the_label_is_refused_with_the_reason():
    with pytest.raises(zpl.LabelDoesNotFit, match="needs"):
        zpl.zpl_labels([zpl.LabelContent("x" * 1000)], size=zpl.SIZES["cryo-1.05x0.5"], dpi=203, symbology=zpl.QR)
    with pytest.raises(zpl.LabelDoesNotFit, match="dpi"):
        zpl.zpl_labels([CONTENT], size=zpl.SIZES["cap-1x1"], dpi=600, symbology=zpl.QR)
