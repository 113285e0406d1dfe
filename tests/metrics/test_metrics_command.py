"""``manage.py evlims_metrics``: JSON and table output, and errors that name line and column.

No test here is marked for database access, so pytest-django fails any of them that touches the DB.
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

HEADER = "preparation,run,biofluid,input_volume_ml,prep_volume_ml,particles_per_ml,protein_ug_per_ml"
GOOD_ROWS = [
    # 4e10 x 0.5 / 20 = 1e9 per mL; 8 x 0.5 / 20 = 0.2 µg per mL; 4e10 / 8 = 5e9 per µg (low purity).
    "CM-1,R1,cell_culture_medium,20,0.5,4e10,8",
    # 1e12 / 10 = 1e11 per µg, but plasma without lipoprotein readout.
    "PL-1,R2,blood_plasma,1,0.1,1e12,10",
    # 3e10 / 2 = 1.5e10 per µg (low purity); yields 3e10 x 1 / 10 = 3e9, 2 x 1 / 10 = 0.2.
    "CM-2,R1,cell_culture_medium,10,1,3e10,2",
    # protein not measured: ratio and class absent.
    "UR-1,R2,urine,50,0.2,2e10,",
]


def write_csv(tmp_path: Path, lines, name="preps.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_json(path: Path) -> dict:
    out = io.StringIO()
    call_command("evlims_metrics", "--csv", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_json_report_for_a_good_file(tmp_path):
    report = run_json(write_csv(tmp_path, [HEADER, *GOOD_ROWS]))
    preparations = report["preparations"]
    assert [p["preparation"] for p in preparations] == ["CM-1", "PL-1", "CM-2", "UR-1"]
    assert preparations[0] == {
        "preparation": "CM-1",
        "particle_yield_per_ml_input": pytest.approx(1e9),
        "protein_yield_ug_per_ml_input": pytest.approx(0.2),
        "particles_per_ug": pytest.approx(5e9),
        "purity_class": "low_purity",
    }
    assert preparations[1]["purity_class"] == "not_interpretable"
    assert preparations[1]["particles_per_ug"] == pytest.approx(1e11)
    assert preparations[3]["particles_per_ug"] is None
    assert preparations[3]["purity_class"] is None
    assert preparations[3]["particle_yield_per_ml_input"] == pytest.approx(8e7)
    assert preparations[3]["protein_yield_ug_per_ml_input"] is None

    runs = report["runs"]
    assert [r["run"] for r in runs] == ["R1", "R2"]
    # R1 ratios 5e9 and 1.5e10: mean 1e10, sample SD 7.0711e9, CV 70.711 %.
    assert runs[0]["n"] == 2
    assert runs[0]["mean_particles_per_ug"] == pytest.approx(1e10)
    assert runs[0]["cv_pct_particles_per_ug"] == pytest.approx(70.7107, rel=1e-5)
    # R2 has one ratio (UR-1 has no protein): n 1 and no CV.
    assert runs[1] == {
        "run": "R2",
        "n": 1,
        "mean_particles_per_ug": pytest.approx(1e11),
        "cv_pct_particles_per_ug": None,
    }


def test_numbers_are_json_floats(tmp_path):
    report = run_json(write_csv(tmp_path, [HEADER, "P,R,urine,1,1,2,1"]))
    assert isinstance(report["preparations"][0]["particles_per_ug"], float)
    assert isinstance(report["runs"][0]["mean_particles_per_ug"], float)
    assert isinstance(report["runs"][0]["n"], int)


def test_extra_columns_are_ignored_and_lipoprotein_readout_is_used(tmp_path):
    lines = [
        "notes," + HEADER + ",lipoprotein_readout",
        "anything,PL-1,R1,blood_plasma,1,0.1,1e12,10,yes",
        "more,PL-2,R1,serum,1,0.1,1e12,10,",
    ]
    report = run_json(write_csv(tmp_path, lines))
    assert [p["purity_class"] for p in report["preparations"]] == ["high_purity", "not_interpretable"]


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path):
    path = write_csv(tmp_path, [HEADER, "A,R1,urine,1,1,1,1", "", "B,R1,urine,1,1,oops,1"])
    with pytest.raises(CommandError, match=r"line 4, column 'particles_per_ml': 'oops' is not a finite number"):
        call_command("evlims_metrics", "--csv", str(path), "--json")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A,R1,urine,abc,1,1,1", r"line 2, column 'input_volume_ml': 'abc'"),
        ("A,R1,urine,1,-0.5,1,1", r"line 2, column 'prep_volume_ml': '-0.5' is negative"),
        ("A,R1,urine,1,1,inf,1", r"line 2, column 'particles_per_ml': 'inf' is not a finite number"),
        ("A,R1,urine,1,1,1,1,1", r"line 2: expected 7 fields"),
        (",R1,urine,1,1,1,1", r"line 2, column 'preparation': must not be empty"),
        ("A,,urine,1,1,1,1", r"line 2, column 'run': must not be empty"),
    ],
)
def test_bad_cells_name_line_and_column(tmp_path, row, expected):
    path = write_csv(tmp_path, [HEADER, row])
    with pytest.raises(CommandError, match=expected):
        call_command("evlims_metrics", "--csv", str(path), "--json")


def test_every_problem_in_the_file_is_listed(tmp_path):
    path = write_csv(tmp_path, [HEADER, "A,R1,urine,1,1,1,1", "B,R1,urine,x,1,1,1", "A,R1,urine,1,1,1,-2"])
    with pytest.raises(CommandError) as error:
        call_command("evlims_metrics", "--csv", str(path), "--json")
    message = str(error.value)
    assert "line 3, column 'input_volume_ml'" in message
    assert "line 4, column 'preparation': preparation A appears twice" in message
    assert "line 4, column 'protein_ug_per_ml'" in message


def test_missing_column_is_named_on_the_header_line(tmp_path):
    path = write_csv(tmp_path, [HEADER.replace(",protein_ug_per_ml", ""), "A,R1,urine,1,1,1"])
    with pytest.raises(CommandError, match=r"line 1, column 'protein_ug_per_ml': required column is missing"):
        call_command("evlims_metrics", "--csv", str(path), "--json")


def test_bad_lipoprotein_word_is_named(tmp_path):
    path = write_csv(tmp_path, [HEADER + ",lipoprotein_readout", "A,R1,blood_plasma,1,1,1,1,maybe"])
    with pytest.raises(CommandError, match=r"line 2, column 'lipoprotein_readout': 'maybe'"):
        call_command("evlims_metrics", "--csv", str(path), "--json")


def test_unreadable_and_empty_files(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("evlims_metrics", "--csv", str(tmp_path / "absent.csv"), "--json")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: the file is empty"):
        call_command("evlims_metrics", "--csv", str(empty), "--json")


def test_header_only_file_gives_empty_report(tmp_path):
    assert run_json(write_csv(tmp_path, [HEADER])) == {"preparations": [], "runs": []}


def test_readable_table_without_json(tmp_path):
    out = io.StringIO()
    call_command("evlims_metrics", "--csv", str(write_csv(tmp_path, [HEADER, *GOOD_ROWS])), stdout=out)
    text = out.getvalue()
    assert "purity class" in text
    cm_line = next(line for line in text.splitlines() if line.startswith("CM-1"))
    assert cm_line.split() == ["CM-1", "1e+09", "0.2", "5e+09", "low_purity"]
    ur_line = next(line for line in text.splitlines() if line.startswith("UR-1"))
    assert ur_line.split() == ["UR-1", "8e+07", "-", "-", "-"]
    r2_line = next(line for line in text.splitlines() if line.startswith("R2 "))
    assert r2_line.split() == ["R2", "1", "1e+11", "-"]


def test_command_line_exit_status_and_no_traceback(tmp_path):
    path = write_csv(tmp_path, [HEADER, "A,R1,urine,1,1,abc,1"])
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    completed = subprocess.run(
        [sys.executable, str(manage), "evlims_metrics", "--csv", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert "line 2, column 'particles_per_ml'" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_byte_order_mark_and_quoted_fields_are_accepted(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(HEADER + '\n"CM,1",R1,cell_culture_medium,"20",0.5,4e10,8\n', encoding="utf-8-sig")
    report = run_json(path)
    assert report["preparations"][0]["preparation"] == "CM,1"
    assert report["preparations"][0]["particles_per_ug"] == pytest.approx(5e9)
