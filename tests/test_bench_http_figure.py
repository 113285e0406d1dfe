"""``bench/run.py``'s http figure: bench_http.py's lines read into rows next to their targets (PostgreSQL runs
only; a failed run is reported, not read)."""

import subprocess

import pytest

from tests.bench_scripts import load_bench

OUTPUT = """evlims HTTP ingestion benchmark: 1,000 posts of one result, 4 clients, gunicorn 1 process × 4 threads
  machine reference: 13.6 ms CPU (bench/machine.py; lower is faster)
  posts per second             148.2   (6.75 s)
  client latency            p50  26.36 ms  p95  34.18 ms
  server time (access log)  p50  24.25 ms  p95  31.07 ms
  web process CPU per post    4.93 ms
  worker caught up          2.6 s after the last post
  left behind               compliance of 0, figures of 0 of 20 preparations
"""


@pytest.fixture
def bench():
    return load_bench("run")


def _options(bench, database="postgres"):
    return bench.parse_args(["--database", database, "--pg-url", "postgres://postgres@127.0.0.1:5432/evlims_bench"])


def _ran(monkeypatch, bench, returncode, stdout, seen=None):
    def run(command, **kwargs):
        if seen is not None:
            seen.append(command)
        return subprocess.CompletedProcess(command, returncode, stdout, "")

    monkeypatch.setattr(bench.subprocess, "run", run)


def test_the_rate_and_the_server_time_are_rows_with_their_targets(bench, monkeypatch):
    commands = []
    _ran(monkeypatch, bench, 0, OUTPUT, commands)
    results = bench.Results(_options(bench), "", quiet=True)
    bench.http(results, _options(bench))
    rate, served = results.rows
    assert (rate["value"], rate["unit"], rate["web_cpu_ms"], rate["holds"]) == (148.2, "results/s", 4.93, False)
    assert (served["value"], served["p95"], served["holds"]) == (24.25, 31.07, False)
    (command,) = [command for command in commands if str(command[1]).endswith("bench_http.py")]
    assert command[-2:] == ["--pg-url", "postgres://postgres@127.0.0.1:5432/evlims_bench_http"]


def test_a_failed_run_adds_no_row(bench, monkeypatch, capsys):
    _ran(monkeypatch, bench, 1, "the worker caught up but left preparations behind: a refresh was lost\n")
    results = bench.Results(_options(bench), "", quiet=True)
    bench.http(results, _options(bench))
    assert results.rows == [] and "bench_http.py failed (1)" in capsys.readouterr().out


def test_sqlite_runs_skip_it(bench, monkeypatch, capsys):
    _ran(monkeypatch, bench, 0, OUTPUT)
    results = bench.Results(_options(bench, "sqlite"), "", quiet=True)
    bench.http(results, _options(bench, "sqlite"))
    assert results.rows == [] and "needs --database postgres" in capsys.readouterr().out
