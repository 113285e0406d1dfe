"""Analyser settings the exports record, carried per sample (MISEV2023 asks for them with every particle
analysis): exact values from the in-repo files, combined experiments, failed captures and odd cells."""

import json

import pytest

from evlims.compliance.evidence import PARTICLE_SETTINGS
from evlims.instruments.parsers import parse_bytes

from .conftest import (
    NANOSIGHT_BEADS_COMBINED,
    NANOSIGHT_BEADS_DILUTED,
    NANOSIGHT_FULL,
    NANOSIGHT_LOW_COUNT,
    ZETAVIEW,
    fixture_bytes,
    instrument_bytes,
)

# Every stored key the experiment document reads a setting from.
DOCUMENT_KEYS = {key for keys in PARTICLE_SETTINGS.values() for key in keys}
NANOSIGHT_SEC7 = {
    "videos": 5,
    "camera_level": 14,
    "detection_threshold": 6,
    "shutter": 1206,
    "shutter_ms": 30,
    "slider_gain": 366,
    "camera_type": "sCMOS",
    "laser_type": "Blue488",
    "frame_rate_fps": 24.9825,
    "syringe_pump_speed": 40,
    "frames": 1498,
    "temperature_c": 22.46,  # mean of 22.400 … 22.520
    "viscosity_cp": 0.9518,  # mean of 0.953200 … 0.950400
}


def settings_of(data: bytes, **options) -> list[dict]:
    return [sample["settings"] for sample in parse_bytes(data, **options).to_dict()["samples"]]


def test_nanosight_full_export_settings_are_the_files_rows():
    [settings] = settings_of(instrument_bytes(NANOSIGHT_FULL))
    assert settings == NANOSIGHT_SEC7
    assert type(settings["camera_level"]) is int and type(settings["frames"]) is int
    assert {"camera_level", "detection_threshold", "shutter", "frames", "videos", "temperature_c"} <= DOCUMENT_KEYS


def test_nanosight_low_count_and_recorded_dilution_exports():
    [low] = settings_of(instrument_bytes(NANOSIGHT_LOW_COUNT))
    assert low == {
        **NANOSIGHT_SEC7,
        "videos": 4,
        "temperature_c": 22.445,  # 22.400, 22.430, 22.460, 22.490
        "viscosity_cp": 0.95215,
    }
    [beads] = settings_of(instrument_bytes(NANOSIGHT_BEADS_DILUTED))
    assert {key: beads[key] for key in ("videos", "camera_level", "detection_threshold", "shutter", "frames")} == {
        "videos": 5,
        "camera_level": 11,
        "detection_threshold": 5,
        "shutter": 890,
        "frames": 499,
    }
    assert (beads["shutter_ms"], beads["slider_gain"], beads["syringe_pump_speed"]) == (22.25, 146, 50)
    assert (beads["temperature_c"], beads["viscosity_cp"]) == (22.0, 0.952941)


def test_combined_experiment_settings_follow_each_samples_captures():
    result = parse_bytes(instrument_bytes(NANOSIGHT_BEADS_COMBINED)).to_dict()
    settings = {sample["name"]: sample["settings"] for sample in result["samples"]}
    # The "no" captures were taken at camera level 10 and slider shutter 696, the "yes" ones at 15 and 1206.
    assert {name: (s["camera_level"], s["shutter"], s["slider_gain"]) for name, s in settings.items()} == {
        "std_10000_yes_2": (15, 1206, 366),
        "std_10000_no_2": (10, 696, 73),
        "std_10000_yes_1": (15, 1206, 366),
        "std_10000_no_1": (10, 696, 73),
    }
    assert {(s["videos"], s["detection_threshold"], s["frames"]) for s in settings.values()} == {(3, 8, 749)}
    assert (settings["std_10000_no_2"]["shutter_ms"], settings["std_10000_yes_2"]["shutter_ms"]) == (17.4, 30.15)
    # Temperature is the mean of the sample's own three captures, not of all twelve.
    assert settings["std_10000_yes_1"]["temperature_c"] == 21.996  # 21.974, 21.996, 22.018
    assert settings["std_10000_no_1"]["temperature_c"] == pytest.approx((21.666 + 21.687 + 21.677) / 3, abs=1e-6)
    assert not any("differ in" in warning for warning in result["warnings"])


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        # Total frames analysed 1498, 1498, 0: the failed third video counts as a video, not for the frames.
        (
            "nanosight-failed-capture.csv",
            {"videos": 3, "camera_level": 14, "detection_threshold": 5, "frames": 1498, "temperature_c": 22.0},
        ),
        # ZetaView 8.06 variant: no sensitivity, shutter or camera line in its header.
        (
            "zetaview-8.06-decimal-point.txt",
            {"temperature_c": 25.01, "viscosity_mpa_s": 0.89, "laser_wavelength_nm": 488, "number_of_traces": 100},
        ),
    ],
)
def test_crafted_files_carry_only_what_they_record(fixture, expected):
    assert settings_of(fixture_bytes(fixture)) == [expected]


def test_captures_that_disagree_leave_the_setting_out_with_a_warning():
    text = instrument_bytes(NANOSIGHT_FULL).decode("cp1252")
    text = text.replace("Camera Level,14,14,14,14,14,", "Camera Level,14,14,15,14,14,")
    text = text.replace("Laser Type,Blue488,Blue488,Blue488,Blue488,Blue488,", "Laser Type,Unknown,,,,,")
    result = parse_bytes(text.encode("cp1252")).to_dict()
    [settings] = [sample["settings"] for sample in result["samples"]]
    assert "camera_level" not in settings and "laser_type" not in settings
    assert settings["detection_threshold"] == 6 and settings["videos"] == 5
    assert (
        "Sample 'd200': its captures differ in Camera Level (14, 15); the setting is not carried."
        in (result["warnings"])
    )


def test_zetaview_805_settings_from_the_header():
    [settings] = settings_of(instrument_bytes(ZETAVIEW))
    assert settings == {
        "sensitivity": 78,  # the camera level of a ZetaView
        "shutter": 100,
        "gain": 26.4,
        "temperature_c": 24.08,
        "viscosity_mpa_s": 0.91347,
        "laser_wavelength_nm": 488,
        "minimum_brightness": 25,
        "minimum_area": 10,
        "maximum_area": 1000,
        "minimum_trace_length": 15,
        "number_of_traces": 1874,
        "frame_rate_fps": 30,
        "cycles": 2,
    }
    assert {"sensitivity", "shutter", "temperature_c"} <= DOCUMENT_KEYS


def test_zetaview_nan_and_garbled_settings_are_left_out():
    text = instrument_bytes(ZETAVIEW).decode("cp1252")
    text = text.replace("Sensitivity:\t78,000000", "Sensitivity:\tNaN").replace(
        "Shutter:\t100,000000", "Shutter:\tauto"
    )
    text = text.replace("Camera:\tFpSec 30 #Cycles 2 FRate 30,000000", "Camera:\tFpSec 25")
    [settings] = settings_of(text.encode("cp1252"))
    assert "sensitivity" not in settings and "shutter" not in settings
    assert (settings["frame_rate_fps"], "cycles" in settings) == (25, False)


def test_generic_tables_carry_no_settings():
    mapping = json.loads(fixture_bytes("generic-mapping.json"))
    samples = parse_bytes(fixture_bytes("generic-summary-decimal-comma.csv"), "generic", mapping=mapping)
    samples = samples.to_dict()["samples"]
    assert samples and all(sample["settings"] == {} for sample in samples)
