"""Wall time of one full metric recompute with 1 and with 2 real Celery workers on PostgreSQL and Redis.

    .venv/bin/python bench/bench_workers.py                       # 10,000 preparations, 1 then 2 workers
    .venv/bin/python bench/bench_workers.py --preparations 3000 --workers 1,2,1,2

The database (``--pg-url``, default evlims_bench_workers) is dropped and created again, migrated and loaded
with one generated lab (evlims.demo.scale). For each entry of ``--workers`` the stored figures and jobs are
cleared, N workers (solo pool, one process each) start on a queue of this run, and the clock runs from the
commit of the full job to its status turning done. The in-process recompute of the same preparations (one
process, no broker, no chunk jobs) is measured too. The ratios compare figures taken in the same run.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/evlims_bench_workers"
COMPUTED = re.compile(r"metric job (\d+) computed (\d+) preparations")
READY_TIMEOUT_S = 120
JOB_TIMEOUT_S = 1800


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=PG_DEFAULT, help=f"PostgreSQL database to (re)create ({PG_DEFAULT})")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--preparations", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to time, in order (default 1,2)")
    parser.add_argument("--logs", default=None, help="directory for the worker logs (default: a temporary one)")
    options = parser.parse_args(argv)
    options.counts = [int(n) for n in options.workers.split(",")]
    return options


def recreate_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing to recreate database {name!r}: plain names only")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for statement in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
            admin.execute(statement)


def worker_environment(options, queue: str) -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": options.pg_url,
        "REDIS_URL": options.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DEBUG": "false",
    }


def start_workers(options, count: int, queue: str, logs: Path, env: dict | None = None):
    """Start ``count`` solo workers on ``queue`` (``env``: their environment, default ``worker_environment``)."""
    env = env or worker_environment(options, queue)
    started = []
    for number in range(1, count + 1):
        log_path = logs / f"{queue}-w{number}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "--concurrency", "1",
            "-Q", queue, "-n", f"w{number}-{queue}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log_path))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all("ready." in path.read_text(errors="replace") for _, path in started):
        if time.monotonic() > deadline or any(process.poll() is not None for process, _ in started):
            stop_workers(started)
            raise SystemExit("a worker did not start; see " + ", ".join(str(path) for _, path in started))
        time.sleep(0.2)
    return started


def stop_workers(started) -> None:
    for process, _ in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in started:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clear_figures() -> None:
    from evlims.metrics.models import MetricJob, PreparationMetrics

    PreparationMetrics.objects.all().delete()
    MetricJob.objects.all().delete()


def time_workers(options, lab, count: int, logs: Path) -> tuple[float, list[int]]:
    """Seconds from the commit of the full job to its end, and how many chunks each worker computed."""
    from celery import current_app
    from django.db import transaction

    from evlims.metrics import services
    from evlims.metrics.models import MetricJob

    clear_figures()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    current_app.conf.task_default_queue = queue
    started = start_workers(options, count, queue, logs)
    try:
        with transaction.atomic():
            job = services.job_create(lab=lab, full=True)
        began = time.perf_counter()
        while not MetricJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).exists():
            if time.perf_counter() - began > JOB_TIMEOUT_S:
                raise SystemExit(f"the full job did not finish in {JOB_TIMEOUT_S} s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
    finally:
        stop_workers(started)
    job.refresh_from_db()
    if job.status != "done" or job.processed != job.total:
        raise SystemExit(f"the full job ended {job.status} with {job.processed} of {job.total}: {job.error}")
    chunks = [Counter(COMPUTED.findall(path.read_text(errors="replace"))).total() for _, path in started]
    return elapsed, chunks


def time_in_process(lab) -> float:
    from evlims.isolation.models import EVPreparation
    from evlims.metrics import services

    clear_figures()
    ids = list(EVPreparation.objects.filter(lab=lab).order_by("pk").values_list("pk", flat=True))
    began = time.perf_counter()
    services.recompute(ids)
    return time.perf_counter() - began


def main(argv=None) -> None:
    options = parse_args(argv)
    recreate_database(options.pg_url)
    os.environ |= {"DATABASE_URL": options.pg_url, "REDIS_URL": options.redis_url, "DEBUG": "false"}
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import django

    django.setup()
    import tempfile

    from django.core.management import call_command

    from evlims.demo import scale
    from evlims.metrics import services

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    (summary,) = scale.generate(scale.ScaleSize.from_preparations(options.preparations))
    print(f"loaded {options.preparations:,} preparations in {time.perf_counter() - began:.1f} s")
    logs = Path(options.logs or tempfile.mkdtemp(prefix="bench-workers-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"chunk jobs of {services.FULL_JOB_CHUNK:,} preparations; worker logs in {logs}; cores: {os.cpu_count()}")

    inline = time_in_process(summary.lab)
    print(f"in process, no workers: {inline:7.2f} s")
    timings: dict[int, list[float]] = {}
    for count in options.counts:
        elapsed, chunks = time_workers(options, summary.lab, count, logs)
        timings.setdefault(count, []).append(elapsed)
        print(f"{count} worker(s):           {elapsed:7.2f} s   chunks computed per worker: {chunks}")
    best = {count: min(values) for count, values in timings.items()}
    if 1 in best:
        for count in sorted(best):
            print(f"{count} worker(s) / 1 worker: {best[count] / best[1]:.2f}   (best of {len(timings[count])})")
        print(f"1 worker / in process:  {best[1] / inline:.2f}")


if __name__ == "__main__":
    main()
