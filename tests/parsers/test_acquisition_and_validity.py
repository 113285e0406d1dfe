"""What the instrument says about its own captures: when it acquired them, and which it rates invalid; and the
dilution a name suggests (a suggestion only, never applied by the parser)."""

import pytest

from evlims.instruments.parsers import parse_bytes
from evlims.instruments.particles import dilution_hint
from tests.fixtures.instruments import NANOSIGHT_ONE_UNRELIABLE
from tests.shared_samples import (
    REAL_NANOSIGHT_BEADS_COMBINED,
    REAL_NANOSIGHT_BEADS_DILUTED,
    REAL_NANOSIGHT_EMT1,
    REAL_NANOSIGHT_HOT1A3,
    REAL_ZETAVIEW_SAMPLE1,
    shared_bytes,
)

from .conftest import NANOSIGHT_BEADS_COMBINED, NANOSIGHT_FULL, ZETAVIEW, instrument_bytes


@pytest.mark.parametrize(
    ("relative", "acquired_at"),
    [
        (NANOSIGHT_FULL, "2024-03-12T10:15:30"),  # Time Captured "10:15:30  12/03/2024", day first
        (NANOSIGHT_ONE_UNRELIABLE, "2025-03-03T14:02:11"),
        (ZETAVIEW, "2024-06-11T14:22:47"),  # Date: and Time: of the header
        (NANOSIGHT_BEADS_COMBINED, None),  # a combined experiment: Time Captured empty, names without a time
    ],
)
def test_the_parser_returns_the_acquisition_time_as_the_file_states_it(relative, acquired_at):
    result = parse_bytes(instrument_bytes(relative))
    assert result.acquired_at == acquired_at
    assert result.to_dict()["acquired_at"] == acquired_at
    if acquired_at is None:
        assert any("no acquisition time" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("relative", "acquired_at"),
    [
        (REAL_NANOSIGHT_EMT1, "2021-04-01T15:42:48"),
        (REAL_NANOSIGHT_HOT1A3, "2020-09-21T10:36:33"),
        (REAL_NANOSIGHT_BEADS_DILUTED, "2020-06-16T11:52:04"),
        (REAL_NANOSIGHT_BEADS_COMBINED, None),
        (REAL_ZETAVIEW_SAMPLE1, "2023-04-19T10:31:11"),
    ],
)
def test_real_exports_give_their_acquisition_time(relative, acquired_at):
    assert parse_bytes(shared_bytes(relative)).acquired_at == acquired_at


def test_a_missing_time_captured_falls_back_to_the_timestamp_in_the_names():
    data = instrument_bytes(NANOSIGHT_FULL).replace(b"Time Captured,10:15:30  12/03/2024", b"Time Captured,")
    result = parse_bytes(data)
    # The experiment name "SEC7 d200 2024-03-12 10-15-30.nano" carries NTA's timestamp.
    assert result.acquired_at == "2024-03-12T10:15:30"


def test_the_capture_the_instrument_rates_unreliable_is_invalid_with_its_reason_and_left_out():
    result = parse_bytes(instrument_bytes(NANOSIGHT_ONE_UNRELIABLE)).to_dict()
    [sample] = result["samples"]
    verdicts = [(capture["valid"], capture["invalid_reason"]) for capture in sample["captures"]]
    assert verdicts == [(True, ""), (True, ""), (False, "Unreliable (instrument)"), (True, ""), (True, "")]
    # The sample's concentration is the mean of the four valid captures, as measured in the cell.
    assert sample["concentration_per_ml"] == pytest.approx((2.10e08 + 2.30e08 + 2.20e08 + 2.40e08) / 4)
    assert sample["dilution_factor"] is None and sample["dilution_applied_in_file"] is False
    # The instrument's own average includes the unreliable capture.
    assert sample["instrument_average_concentration_per_ml"] == pytest.approx(1.88e08)
    # Settings of captures the instrument rates unreliable still count: the video was analysed.
    assert sample["settings"]["frames"] == 1498


def test_a_failed_capture_says_why():
    data = instrument_bytes(NANOSIGHT_FULL)
    lines = data.decode("cp1252").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("Concentration (Particles / ml)"))
    cells = lines[index].split(",")
    cells[2] = "0.00e+00"
    lines[index] = ",".join(cells)
    [sample] = parse_bytes("\n".join(lines).encode("cp1252")).to_dict()["samples"]
    assert sample["captures"][1]["valid"] is False
    assert sample["captures"][1]["invalid_reason"] == "failed: zero concentration"


def test_a_zetaview_capture_is_valid_without_a_reason():
    [sample] = parse_bytes(instrument_bytes(ZETAVIEW)).to_dict()["samples"]
    assert [(c["valid"], c["invalid_reason"]) for c in sample["captures"]] == [(True, "")]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("EV12_2000_A", (2000.0, "2000")),
        ("EV12 1-2000", (2000.0, "1-2000")),
        ("EV12_1in2000", (2000.0, "1in2000")),
        ("EV12 x2000", (2000.0, "x2000")),
        ("EV12 1:2000", (2000.0, "1:2000")),
        ("EV12 1 to 500", (500.0, "1 to 500")),
        ("EMT1 d200 pre1 2021-04-01 15-42-48", (200.0, "d200")),
        ("std_10000_yes_2_00", (10000.0, "10000")),
        # Dates, times, replicates and sample codes are not dilutions.
        ("HOT1A3_12h_A_LS 2020-09-21 10-36-33", None),
        ("OMV2_6h_B 2023-06-14 14-02-11", None),
        ("plasma 1-1", None),
        ("", None),
    ],
)
def test_a_name_suggests_a_dilution(name, hint):
    assert dilution_hint(name) == hint
