"""Numbers by kind and codes in words, as the template filters of ``evlims_words`` show them."""

import pytest
from django.template import Context, Template

from evlims.web import display


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (4.31e10, "concentration", "4.31 × 10¹⁰/mL"),
        (9.996e10, "concentration", "1.00 × 10¹¹/mL"),
        (87.94000000000001, "size", "87.9 nm"),
        (1234.56, "size", "1,234.6 nm"),
        (12.345, "percent", "12.3 %"),
        (99.96, "percent", "100.0 %"),
        (1234.5, "protein", "1,230 µg/mL"),
        (41.72, "protein", "41.7 µg/mL"),
        (0.0012345, "protein", "0.00123 µg/mL"),
        (87.94000000000001, "", "87.94"),
        (3.0, "", "3"),
        (2.5e11, "", "2.50 × 10¹¹"),
        (None, "size", "—"),
    ],
)
def test_each_kind_of_number_reads_as_the_lab_writes_it(value, kind, shown):
    assert display.number(value, kind) == shown


def test_no_kind_of_number_shows_a_float_repr():
    for kind in ("", "concentration", "size", "percent", "protein", "count"):
        assert "0000" not in display.number(0.1 + 0.2, kind)


def test_codes_read_through_their_labels(db):
    assert display.label("blood_plasma", "biofluid") == "Blood plasma"
    assert display.label("density_gradient", "method") == "Density gradient ultracentrifugation"
    assert display.label("micro_bca") == "Micro BCA"
    assert display.label("western_blot") == "Western blot"
    assert display.label("g_force", "parameter:differential_centrifugation") == "Speed (× g)"
    assert display.label("volume_ml", "field") == "Starting volume"


def test_values_read_in_words_never_as_a_repr():
    assert display.words(True) == "Yes" and display.words(False) == "No"
    assert display.words(None) == "—"
    assert display.words(["blood_plasma", "serum"]) == "Blood plasma, Blood serum"
    assert display.words({"g_force": 2500, "brake": False}) == "centrifugal force: 2,500 × g; brake: no"
    assert display.words(87.94000000000001, "size_mode_nm") == "87.94 nm"


def test_the_filters_are_usable_in_templates():
    template = Template('{% load evlims_words %}{{ c|number:"concentration" }} {{ b|label:"biofluid" }} {{ f|words }}')
    text = template.render(Context({"c": 4.31e10, "b": "blood_plasma", "f": False}))
    assert text == "4.31 × 10¹⁰/mL Blood plasma No"
