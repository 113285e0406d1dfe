"""Untidy and hostile FCS files, written byte by byte: read with warnings where the standard allows, refused
with the keyword named where it does not, in bounded time and memory."""

import time
import tracemalloc

import numpy as np
import pytest

from evlims.cytometry.fcs import FcsError, read_fcs, read_header
from tests.cytometry.fcs_writer import fcs_bytes

NAMES = ["FSC-H", "SSC-H", "FL1-H"]
EVENTS = np.array([[1, 2, 3], [4, 5, 6], [700, 800, 900]])


@pytest.mark.parametrize(
    ("order", "datatype", "bits"),
    [("<", "F", 32), (">", "F", 32), ("<", "D", 64), (">", "D", 64), ("<", "I", 16), (">", "I", 16), (">", "I", 32)],
)
def test_byte_orders_and_data_types_read_the_same_numbers(order, datatype, bits):
    header, events = read_fcs(fcs_bytes(EVENTS, NAMES, order=order, datatype=datatype, bits=bits))
    assert events.tolist() == EVENTS.tolist()
    assert header.byte_order == ("1,2,3,4" if order == "<" else "4,3,2,1")


def test_integer_bits_above_the_range_are_masked():
    _, events = read_fcs(fcs_bytes([[1024 + 5, 2, 3]], NAMES, datatype="I", bits=16, ranges=[1024, 1024, 1024]))
    assert events[0, 0] == 5


def test_duplicated_keyword_is_a_warning_and_the_last_value_is_used():
    data = fcs_bytes(EVENTS, NAMES, extra=[("$CYT", "CytoFLEX"), ("$CYT", "CytoFLEX nano")])
    header = read_header(data)
    assert header.instrument == "CytoFLEX nano"
    assert any(w.startswith("$CYT is given 2 times") for w in header.warnings)


def test_more_parameter_names_than_par_warns_and_reads_par():
    data = fcs_bytes(EVENTS[:, :2], NAMES[:2], par=2, extra=[("$P3N", "FL1-H"), ("$P3R", "1024")])
    header, events = read_fcs(data)
    assert [p.name for p in header.parameters] == ["FSC-H", "SSC-H"] and events.shape == (3, 2)
    assert any("$PAR is 2" in w for w in header.warnings)


def test_a_missing_parameter_name_is_named_by_its_number():
    header = read_header(fcs_bytes(EVENTS, NAMES, drop=("$P2N",)))
    assert header.parameters[1].name == "P2"
    assert any("$P2N is missing" in w for w in header.warnings)


def test_trigger_volume_and_dates_from_standard_keywords():
    extra = [("$TR", "SSC-H,350"), ("$VOL", "12500"), ("$DATE", "05-Dec-2026"), ("$BTIM", "10:15:30.25")]
    header = read_header(fcs_bytes(EVENTS, NAMES, extra=extra))
    assert (header.trigger_channel, header.trigger_threshold) == ("SSC-H", 350.0)
    assert header.volume_ul == 12.5
    assert header.acquired_at == "2026-12-05T10:15:30"


def test_unreadable_date_is_a_warning():
    header = read_header(fcs_bytes(EVENTS, NAMES, extra=[("$DATE", "sometime")]))
    assert header.acquired_at is None and any("$DATE" in w for w in header.warnings)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not an fcs file at all" * 4, "Not an FCS file"),
        (b"FCS3.1", "shorter than an FCS header"),
        (fcs_bytes(EVENTS, NAMES, tot=10**9), "$TOT is 1,000,000,000"),
        (fcs_bytes(EVENTS, NAMES, tot=4), "$TOT × $PAR needs"),
        (fcs_bytes(EVENTS, NAMES, par=10**6), "$PAR is 1000000"),
        (fcs_bytes(EVENTS, NAMES, header_data=(300, 10**7), version="2.0"), "greater than file size"),
        (fcs_bytes(EVENTS, NAMES, drop=("$PAR",)), "$PAR"),
        (fcs_bytes(EVENTS, NAMES, extra=[("$MODE", "C")]), "list-mode"),
        (fcs_bytes(EVENTS, NAMES, datatype="I", bits=16, extra=[("$P2B", "10")]), "$P2B is 10"),
        (fcs_bytes(EVENTS, NAMES, extra=[("$BYTEORD", "3,4,1,2")]), "$BYTEORD"),
        (b"FCS3.1    " + b"     100999999999" + b" " * 100, "outside the file"),
    ],
)
def test_hostile_or_broken_files_are_refused_with_the_keyword_named(data, words):
    with pytest.raises(FcsError) as refused:
        read_fcs(data)
    assert words in str(refused.value)


def test_absurd_sizes_are_refused_before_anything_is_allocated():
    data = fcs_bytes(EVENTS, NAMES, tot=2 * 10**11)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FcsError):
        read_fcs(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 5_000_000
