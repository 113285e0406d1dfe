"""Result posts over HTTP as deployed: one gunicorn web process, one Celery worker, Redis and PostgreSQL.

    .venv/bin/python bench/bench_http.py                          # 3,000 posts of one result, 4 clients
    .venv/bin/python bench/bench_http.py --posts 5000 --clients 8 --threads 8

``bench_ingest.py`` times the request handler in process (the test client, an in-memory broker). This one runs
the path an instrument takes: HTTP/1.1 with keep-alive to gunicorn (one process, ``gthread`` with ``--threads``),
the instrument's key throttled through the Redis cache (rate raised to ``--rate`` so the bench is not refused),
the after-commit refresh sent to Redis and run by a real worker (solo pool, one process). The database
(``--pg-url``, default evlims_bench_http) is dropped and created again; the Redis database (``--redis-url``)
is emptied at the start and the end.

Printed: posts per second over the timed posts (after ``--warmup`` untimed ones), the client's latency and the
server's own time per request (gunicorn's access log, microseconds) at p50 and p95, the web process's CPU per
post (from /proc), how long after the last post the worker had caught up (every metric job done and no message
waiting or running), the worker's CPU per post over the timed posts and its catch-up, and what it left behind:
preparations whose stored compliance or figures a refresh made now would change (none, or the run fails: a
follow-up was lost). Every process runs on this machine, so the client, the worker and the database share its
cores with the web process: a machine of its own each would give the web process more.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import machine  # noqa: E402
from bench_workers import recreate_database, start_workers, stop_workers  # noqa: E402

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/evlims_bench_http"
READY_TIMEOUT_S = 60
# gunicorn's worker class as docker-compose.yml and the Dockerfile run it (tests/test_setup_contract.py checks).
WORKER_CLASS = "gthread"
DRAIN_TIMEOUT_S = 600


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=PG_DEFAULT, help=f"PostgreSQL database to (re)create ({PG_DEFAULT})")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="a Redis database of its own")
    parser.add_argument("--posts", type=int, default=3000, help="timed posts of one result (default 3000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed posts first (default 200)")
    parser.add_argument("--clients", type=int, default=4, help="connections posting at once (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads in its one process (default 4)")
    parser.add_argument("--rate", default="1000000/min", help="the instrument key's throttle rate for the run")
    parser.add_argument(
        "--profile", type=Path, help="write py-spy's profile of the web process over the timed posts (needs py-spy)"
    )
    return parser.parse_args(argv)


def environment(options, queue: str) -> dict:
    """What the web process, the worker and this process read: the production settings (as docker-compose.yml
    runs them) on the bench's PostgreSQL and Redis, with secrets of the run's own. The clients say
    ``X-Forwarded-Proto: https`` as the TLS proxy in front of gunicorn would."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": f"bench-http-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": options.pg_url,
        "REDIS_URL": options.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": "WARNING",
        "EVLIMS_INSTRUMENT_KEY_RATE": options.rate,
        "EVLIMS_AUDIT_KEY": f"bench-http-{uuid.uuid4().hex}",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web(options, env: dict, port: int, access_log: Path, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--worker-class", WORKER_CLASS, "--threads", str(options.threads), "--access-logfile", str(access_log),
        "--access-logformat", "%(s)s %(D)s", "--log-file", str(log),
    ]  # fmt: skip
    web = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return web
        except OSError:
            time.sleep(0.2)
    stop(web)
    raise SystemExit(f"gunicorn did not listen within {READY_TIMEOUT_S} s; see {log}")


def profile_start(out: Path, pid: int) -> subprocess.Popen:
    """py-spy sampling the web process while it holds the GIL (its CPU in Python) into ``out``, a speedscope file."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    command = [py_spy, "record", "--pid", str(pid), "--rate", "250", "--gil", "--format", "speedscope"]
    command += ["--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen, how: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def web_worker_pid(master: int) -> int:
    """gunicorn's one worker process (the master only supervises it)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker under {master}, found {children}")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (fields 14 and 15 of stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post_all(port: int, raw_key: str, documents: list, clients: int) -> tuple[float, list[float]]:
    """Post each document as one result from ``clients`` keep-alive connections; (wall seconds, latencies)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(share: list):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        own = []
        for document in share:
            body = json.dumps({"results": [document]})
            headers = {
                "Authorization": f"Api-Key {raw_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
                "X-Forwarded-Proto": "https",
            }
            started = time.perf_counter()
            connection.request("POST", "/api/v1/results/", body, headers)
            response = connection.getresponse()
            answer = response.read()
            own.append(time.perf_counter() - started)
            if response.status != 201:
                with lock:
                    failures.append(f"{response.status} {answer[:200]!r}")
                break
        connection.close()
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(documents[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"post refused: {failures[0]}")
    return elapsed, latencies


def server_times(access_log: Path, skip: int) -> list[float]:
    """The server's milliseconds per request from the access log, the first ``skip`` requests left out."""
    lines = [line.split() for line in access_log.read_text().splitlines() if re.fullmatch(r"\d{3} \d+", line)]
    return [int(micros) / 1000 for _, micros in lines[skip:]]


def quantiles(values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
    return f"p50 {statistics.median(values):6.2f} ms  p95 {p95:6.2f} ms"


def drained_after(queue: str, redis_url: str) -> float | None:
    """Seconds until every metric job is done and no message waits on the queue or runs on the worker (taken,
    not yet acknowledged: kombu's ``unacked`` hash, in the bench's own Redis database); None: not within the
    limit."""
    import redis

    from evlims.metrics.models import MetricJob

    broker = redis.Redis.from_url(redis_url)
    started = time.perf_counter()
    while time.perf_counter() - started < DRAIN_TIMEOUT_S:
        busy = broker.llen(queue) or broker.hlen("unacked")
        open_jobs = MetricJob.objects.exclude(status=MetricJob.Status.DONE).count()
        if not busy and not open_jobs:
            return time.perf_counter() - started
        time.sleep(0.2)
    return None


def follow_ups_behind(preparations) -> tuple[int, int]:
    """Once the worker caught up, what its refreshes left behind: (preparations whose stored compliance was not
    evaluated from their evidence as it is, preparations whose stored figures differ from a recompute). Both 0
    unless a change's refresh or metric job was lost, however the messages were sent or shared."""
    from evlims.compliance.services import evaluate_preparations
    from evlims.metrics.models import PreparationMetrics
    from evlims.metrics.services import recompute

    ids = [preparation.pk for preparation in preparations]

    def figures():
        rows = PreparationMetrics.objects.filter(preparation_id__in=ids).order_by("preparation_id").values()
        return {row["preparation_id"]: {k: v for k, v in row.items() if k not in {"id", "computed_at"}} for row in rows}

    stored = figures()
    recompute(ids)
    fresh = figures()
    return evaluate_preparations(ids), sum(stored.get(pk) != fresh.get(pk) for pk in ids)


def main():
    options = parse_args()
    reference = machine.reference_ms()  # before the stack starts: what this machine's cores do when quiet
    queue = f"bench-http-{uuid.uuid4().hex[:8]}"
    env = environment(options, queue)
    os.environ.update(env)
    recreate_database(options.pg_url)
    import django
    import redis

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from ingest_world import documents, setup_world

    broker = redis.Redis.from_url(options.redis_url)
    broker.flushdb()
    logs = Path(tempfile.mkdtemp(prefix="evlims-bench-http-"))
    web = worker = None
    try:
        call_command("migrate", verbosity=0)
        _lab, preparations, _instrument, raw_key = setup_world()
        connections.close_all()
        worker = start_workers(None, 1, queue, logs, env)  # env given: no options read
        port = free_port()
        web = start_web(options, env, port, logs / "access.log", logs / "gunicorn.log")
        docs = documents(preparations, options.warmup + options.posts)
        post_all(port, raw_key, docs[: options.warmup], options.clients)
        pid = web_worker_pid(web.pid)
        profiler = profile_start(options.profile, pid) if options.profile else None
        worker_pid = worker[0][0].pid  # a solo worker runs its tasks in its own process
        drained_after(queue, options.redis_url)  # the warm-up's follow-ups are not the timed posts'
        cpu, worker_cpu = cpu_seconds(pid), cpu_seconds(worker_pid)
        elapsed, latencies = post_all(port, raw_key, docs[options.warmup :], options.clients)
        cpu = cpu_seconds(pid) - cpu
        if profiler is not None:
            stop(profiler, signal.SIGINT)  # py-spy writes its profile when interrupted
        caught_up = drained_after(queue, options.redis_url)
        worker_cpu = cpu_seconds(worker_pid) - worker_cpu
        served = server_times(logs / "access.log", options.warmup)
        load = open("/proc/loadavg").read().split()[0]
        print(
            f"evlims HTTP ingestion benchmark: {options.posts:,} posts of one result, {options.clients} clients, "
            f"gunicorn 1 process × {options.threads} threads, 1 worker, PostgreSQL, Redis, connections kept "
            f"{os.environ.get('DATABASE_CONN_MAX_AGE', '60')} s (load {load})"
        )
        print(f"  {machine.reference_line(reference)}")
        print(f"  posts per second          {options.posts / elapsed:8.1f}   ({elapsed:.2f} s)")
        print(f"  client latency            {quantiles([value * 1000 for value in latencies])}")
        print(f"  server time (access log)  {quantiles(served)}")
        print(f"  web process CPU per post  {cpu / options.posts * 1000:6.2f} ms")
        drained = f"{caught_up:.1f} s after the last post" if caught_up is not None else "not within the limit"
        print(f"  worker caught up          {drained}")
        print(f"  worker CPU per post       {worker_cpu / options.posts * 1000:6.2f} ms  (the posts and the catch-up)")
        if caught_up is None:
            raise SystemExit("the worker did not catch up within the limit")
        stale_compliance, stale_figures = follow_ups_behind(preparations)
        print(
            f"  left behind               compliance of {stale_compliance}, figures of {stale_figures} "
            f"of {len(preparations)} preparations"
        )
        if stale_compliance or stale_figures:
            raise SystemExit("the worker caught up but left preparations behind: a refresh was lost")
    finally:
        if web is not None:
            stop(web)
        if worker:
            stop_workers(worker)
        connections.close_all()
        broker.flushdb()
        recreate_database(options.pg_url)  # leaves an empty database behind, as bench_workers.py does
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
