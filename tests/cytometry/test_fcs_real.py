"""Real FCS files (FlowIO's test data, BSD-3; tests/fixtures/fcs/README.md) read value by value: the header as
its TEXT segment says, the events as the DATA segment's bytes hold them (read here with struct, independently of
both readers), and the whole array equal to FlowIO's own reading."""

import io
import struct
from pathlib import Path

import flowio
import numpy as np
import pytest

from evlims.cytometry.fcs import read_fcs, read_header

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fcs"


def _raw(name):
    return (FIXTURES / name).read_bytes()


def test_attune_fcs31_float_little_endian():
    data = _raw("attune_G11.fcs")
    header, events = read_fcs(data)
    assert header.version == "3.1"
    assert header.instrument == "4486521 Attune NxT Acoustic Focusing Cytometer (Lasers: BRVY)"
    assert header.serial_number == "2AFC210070815"
    assert header.acquired_at == "2020-03-02T09:50:15"
    assert header.event_count == 5785 and events.shape == (5785, 12)
    assert [p.name for p in header.parameters][:4] == ["Time", "FSC-A", "SSC-A", "BL1-A"]
    assert header.parameters[3].label == "GFP-A"
    assert header.parameters[1].range == 1048576 and header.parameters[1].decades == 0
    assert header.data_type == "F" and header.byte_order == "1,2,3,4"
    # $VOL is 46000 nL; #FLOWRATE 200 µL/min; $BTIM 09:50:15 to $ETIM 09:50:30; #TR1 OR_FSC,25000.
    assert header.volume_ul == 46.0 and header.flow_rate_ul_per_min == 200.0 and header.duration_s == 15.0
    assert (header.trigger_channel, header.trigger_threshold) == ("FSC", 25000.0)
    assert header.warnings == []
    first = struct.unpack("<12f", data[header.data_start : header.data_start + 48])
    assert first[1:4] == (134698.0, 279149.0, 940.0)
    assert events[0, 1:4].tolist() == [134698.0, 279149.0, 940.0]
    assert events[0, 0] == pytest.approx(14.0 * 0.001)  # Time × $TIMESTEP
    last = struct.unpack("<12f", data[header.data_stop - 47 : header.data_stop + 1])
    assert events[-1, 1:].tolist() == list(last[1:])
    assert np.allclose(events, flowio.FlowData(io.BytesIO(data)).as_array(), rtol=1e-6)


def test_accuri_fcs31_integer_big_endian():
    data = _raw("accuri_B01.fcs")
    header, events = read_fcs(data)
    assert (header.version, header.instrument, header.event_count) == ("3.1", "BD Accuri C6 Plus", 1589)
    assert header.data_type == "I" and header.byte_order == "4,3,2,1"
    assert header.acquired_at.startswith("2019-02-19")
    assert header.volume_ul == pytest.approx(25.016)
    first = struct.unpack(">14I", data[header.data_start : header.data_start + 56])
    assert first[:4] == (7955, 27513, 13, 25)
    assert events[0, :13].tolist() == list(first[:13])
    assert np.allclose(events, flowio.FlowData(io.BytesIO(data)).as_array(), rtol=1e-6)


def test_facscalibur_fcs20_log_amplified_channels():
    data = _raw("facscalibur_data1.fcs")
    header, events = read_fcs(data)
    assert (header.version, header.instrument, header.event_count) == ("2.0", "FACSCalibur", 13367)
    assert header.acquired_at == "2002-08-23T16:31:33"
    fl1 = header.parameters[2]
    assert (fl1.name, fl1.label, fl1.range, fl1.decades) == ("FL1-H", "CD4 FITC", 1024, 4)
    # $P3E “4,0” is read as 4 decades with log(0) = 1, and said so.
    assert any("$P3E" in warning for warning in header.warnings)
    raw_first = struct.unpack(">8H", data[header.data_start : header.data_start + 16])
    assert raw_first[:3] == (323, 218, 220)
    assert header.parameters[0].gain == 3.67  # $P1G: the value is divided by the gain, as the standard says
    assert events[0, 0] == pytest.approx(323 / 3.67) and events[0, 2] == pytest.approx(10 ** (4 * 220 / 1024), rel=1e-6)
    assert np.allclose(events, flowio.FlowData(io.BytesIO(data)).as_array(), rtol=1e-5)
    assert header.volume_ul is None


def test_header_and_text_disagreeing_on_the_data_offset_is_read_with_a_warning():
    header = read_header(_raw("offset_discrepancy.fcs"))
    assert header.event_count == 2
    assert any("different DATA offsets" in warning for warning in header.warnings)
