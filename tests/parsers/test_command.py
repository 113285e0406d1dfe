"""evlims_parse management command. No test here is marked django_db, so pytest-django makes
any database access fail: the command is proven not to touch the database."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from .conftest import FIXTURES, NANOSIGHT_BEADS_DILUTED, REPO, SOFTMAX_BCA, instrument_path


def test_json_output_of_an_instrument_export():
    out = StringIO()
    call_command("evlims_parse", str(instrument_path(NANOSIGHT_BEADS_DILUTED)), "--json", stdout=out)
    output = json.loads(out.getvalue())
    assert output["format"] == "nanosight"
    assert output["samples"][0]["dilution_factor"] == 1.0e04
    assert len(output["samples"][0]["captures"]) == 5
    settings = output["samples"][0]["settings"]
    assert (settings["camera_level"], settings["detection_threshold"], settings["shutter"]) == (11, 5, 890)
    assert (settings["videos"], settings["frames"], settings["temperature_c"]) == (5, 499, 22.0)


def test_readable_summary_with_plate_map():
    out = StringIO()
    call_command(
        "evlims_parse",
        str(instrument_path(SOFTMAX_BCA)),
        "--plate-map",
        str(FIXTURES / "bca-plate-map.json"),
        "--fit",
        "quadratic",
        stdout=out,
    )
    text = out.getvalue()
    assert "softmax" in text and "quadratic standard curve" in text
    assert "sample EV isolate 1:" in text and "µg/mL" in text
    assert "buffer only: out of range (below)" in text


def test_generic_with_mapping_and_dilution_summary():
    out = StringIO()
    call_command(
        "evlims_parse",
        str(FIXTURES / "nanosight-failed-capture.csv"),
        "--dilution-factor",
        "100",
        stdout=out,
    )
    assert "2/3 valid captures, 1.700e+10 particles/mL, dilution 100 (applied on import)" in out.getvalue()
    out = StringIO()
    call_command(
        "evlims_parse",
        str(FIXTURES / "generic-summary-decimal-comma.csv"),
        "--format",
        "generic",
        "--mapping",
        str(FIXTURES / "generic-mapping.json"),
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["samples"][0]["name"] == "EV-A"


def test_parse_error_becomes_command_error():
    with pytest.raises(CommandError, match="binary.bin: the file is binary"):
        call_command("evlims_parse", str(FIXTURES / "binary.bin"), "--json")


def test_missing_file_and_bad_json_option(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("evlims_parse", str(tmp_path / "absent.csv"))
    broken = tmp_path / "map.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="--plate-map: .* is not valid JSON"):
        call_command("evlims_parse", str(FIXTURES / "empty.csv"), "--plate-map", str(broken))


def test_command_line_exit_code_without_traceback():
    completed = subprocess.run(
        [sys.executable, "manage.py", "evlims_parse", str(FIXTURES / "wrong-format.csv")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode != 0
    assert "unrecognised file" in completed.stderr
    assert "Traceback" not in completed.stderr
