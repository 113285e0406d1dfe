"""``bench/machine.py``: the fixed workload every benchmark prints its figures beside, so that figures measured on
different machines can be compared."""

import pytest

from tests.bench_scripts import BENCH, load_bench


@pytest.fixture
def machine():
    return load_bench("machine")


def test_the_workload_is_the_same_work_every_time(machine):
    # References measured before a change of the work could no longer be compared: the digest pins the work.
    assert machine.workload() == "9b167c8039e4530acf5b05ef8f65459d7e6d79a0fad88ac0e96eecac3704e5b1"


def test_the_reference_is_the_best_round_in_cpu_milliseconds(machine, monkeypatch):
    clock = iter([0.0, 0.030, 1.0, 1.012, 2.0, 2.020])  # three rounds of 30, 12 and 20 ms
    monkeypatch.setattr(machine, "WARM_UP_S", 0)
    monkeypatch.setattr(machine.time, "process_time", lambda: next(clock))
    monkeypatch.setattr(machine, "workload", lambda: "")
    assert machine.reference_ms(rounds=3) == pytest.approx(12.0)
    assert machine.reference_line(12.04) == "machine reference: 12.0 ms CPU (bench/machine.py; lower is faster)"


def test_the_bench_records_and_prints_the_reference(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH))
    run = load_bench("run")
    monkeypatch.setattr(run.machine, "reference_ms", lambda: 12.5)
    results = run.Results(run.parse_args(["--database", "sqlite"]), "sqlite:///x", quiet=True)
    assert results.meta["machine"]["reference_ms"] == 12.5
    run.print_header(results)
    printed = capsys.readouterr().out.splitlines()
    assert "  machine reference: 12.5 ms CPU (bench/machine.py; lower is faster)" in printed
