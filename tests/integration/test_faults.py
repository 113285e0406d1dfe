"""Faults against real servers: the broker disappears, a worker is killed mid-job, the database restarts.

Each test owns the server it breaks (see tests/integration/faults.py): a private Redis on a free port and,
for the database restart, a private PostgreSQL cluster. What each test proves is listed in
docs/reliability.md.
"""

import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from evlims.characterization.models import Measurement
from evlims.characterization.services import measurements_record, validate_results
from evlims.instruments.models import Ingestion
from evlims.metrics import services as metric_services
from evlims.metrics.models import MetricJob, PreparationMetrics
from tests.integration.conftest import IN_CI
from tests.integration.faults import (
    ROOT,
    PrivateCluster,
    PrivateRedis,
    build_instrument_world,
    database_url_of,
    free_port,
    particle_result,
    port_open,
    private_postgresql_problem,
    protein_result,
    redis_server_problem,
    same_audit_key,
    sending_to,
    start_worker,
    wait_until,
)

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

STREAM_POSTS = 1000
OUTAGE_FIRST_POST = 400
OUTAGE_POSTS = 12
BACKLOG_TIMEOUT_S = 420
JOB_TIMEOUT_S = 90
# A restarted worker takes back a message left unacknowledged for longer than this.
VISIBILITY_TIMEOUT_S = 3
REDELIVERY_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_S,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


def unavailable(problem: str):
    if IN_CI:
        pytest.fail(f"CI=true and a fault test cannot run: {problem}")
    pytest.skip(problem)


@pytest.fixture
def private_redis(tmp_path):
    problem = redis_server_problem()
    if problem:
        unavailable(problem)
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def queue():
    return f"evlims-fault-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def test_database_url():
    return database_url_of(connection.settings_dict)


@pytest.fixture
def workers(tmp_path):
    """Starts workers on demand and stops every one of them at the end, whatever happened."""
    started = []

    def start(**kwargs):
        name = f"w{len(started) + 1}"
        worker = start_worker(log_path=tmp_path / f"{name}.log", name=f"{name}-{uuid.uuid4().hex[:6]}", **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def figures(preparation_ids):
    """Stored figures per preparation, without the time they were computed."""
    return {
        row["preparation_id"]: {k: v for k, v in row.items() if k not in {"id", "computed_at"}}
        for row in PreparationMetrics.objects.filter(preparation_id__in=preparation_ids).values()
    }


def clean_figures(preparation_ids):
    """The figures a clean, uninterrupted computation gives for the rows as they are now."""
    with transaction.atomic():
        metric_services.recompute(preparation_ids)
        clean = figures(preparation_ids)
        transaction.set_rollback(True)
    return clean


# ---------------------------------------------------------------- the broker goes away mid-stream


def test_redis_outage_during_a_stream_of_posts_loses_nothing_and_the_backlog_is_processed(
    private_redis, queue, test_database_url, workers, settings
):
    # The stream is faster than an instrument's budget of requests; the budget is not under test here.
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": {"instrument_key": None}}
    world = build_instrument_world(preparations=4, slug="stream-lab")
    barcodes = [p.barcode for p in world.preparations]
    preparation_ids = [p.pk for p in world.preparations]
    worker = workers(broker_url=private_redis.url, database_url=test_database_url, queue=queue)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.raw_key}")
    client.raise_request_exception = False  # a server error must show as the 500 an instrument would get
    refused = []
    jobs_before_outage = jobs_after_outage = None

    with sending_to(private_redis.url, queue):
        for number in range(STREAM_POSTS):
            if number == OUTAGE_FIRST_POST:
                jobs_before_outage = MetricJob.objects.order_by("-pk").values_list("pk", flat=True).first()
                private_redis.stop()
            if number == OUTAGE_FIRST_POST + OUTAGE_POSTS:
                jobs_after_outage = MetricJob.objects.order_by("-pk").values_list("pk", flat=True).first()
                private_redis.start()
            body = {"results": [protein_result(barcodes[number % len(barcodes)], 10.0 + number / 8)]}
            response = client.post("/api/v1/results/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"stream-{number}")
            if response.status_code != 201:
                refused.append((number, response.status_code, response.content[:300]))

        assert refused == [], f"posts refused while the broker was away (must all be 201): {refused[:5]}"
        ingestions = Ingestion.objects.filter(lab=world.lab, idempotency_key__startswith="stream-")
        assert ingestions.count() == STREAM_POSTS
        assert Measurement.objects.filter(preparation__lab=world.lab).count() == STREAM_POSTS
        per_ingestion = Counter(ingestions.annotate(n=Count("measurements")).values_list("n", flat=True))
        assert per_ingestion == {1: STREAM_POSTS}, "every post stored its one result exactly once"

        # Jobs created while the broker was down are rows that were never queued: pending, unless a job run
        # after the broker came back took them with its own (metrics/services/_companions.py).
        outage_jobs = MetricJob.objects.filter(pk__gt=jobs_before_outage, pk__lte=jobs_after_outage)
        assert outage_jobs.count() == OUTAGE_POSTS
        assert not outage_jobs.filter(queued_at__isnull=False).exists()
        outage_ids = set(outage_jobs.values_list("pk", flat=True))

        # The sweeper queues those still pending and nothing else (a job queued less than STALE_AFTER ago is
        # left to its message).
        swept = set(metric_services.sweep_stale_jobs())
        assert swept <= outage_ids
        assert not outage_jobs.filter(status=MetricJob.Status.PENDING).exclude(pk__in=swept).exists()
        wait_until(
            lambda: not MetricJob.objects.filter(pk__in=outage_ids).exclude(status=MetricJob.Status.DONE).exists(),
            timeout=BACKLOG_TIMEOUT_S,
            interval=1,
            message="the worker to run the jobs created during the outage",
        )
        broker = private_redis.client()
        wait_until(
            lambda: broker.llen(queue) == 0 and not MetricJob.objects.filter(status=MetricJob.Status.RUNNING).exists(),
            timeout=BACKLOG_TIMEOUT_S,
            interval=1,
            message="the worker to drain the queue",
        )
        # Messages that sat in the broker when it died are gone with it; their jobs were queued, so the
        # sweeper takes them once STALE_AFTER has passed.
        lost = set(MetricJob.objects.filter(status=MetricJob.Status.PENDING).values_list("pk", flat=True))
        later = timezone.now() + metric_services.STALE_AFTER
        assert set(metric_services.sweep_stale_jobs(now=later)) == lost
        wait_until(
            lambda: not MetricJob.objects.exclude(status=MetricJob.Status.DONE).exists(),
            timeout=BACKLOG_TIMEOUT_S,
            interval=1,
            message="every metric job to be done",
        )

    assert worker.alive(), "the worker died:\n" + worker.log()[-3000:]
    jobs = MetricJob.objects.filter(pk__gt=0)
    assert jobs.count() >= STREAM_POSTS
    assert set(jobs.values_list("attempts", flat=True)) == {1}, "no job was run twice"
    assert Measurement.objects.filter(preparation__lab=world.lab).count() == STREAM_POSTS, "no duplicates"
    stored = figures(preparation_ids)
    assert stored == clean_figures(preparation_ids), "the stored figures include every posted result"
    assert len(stored) == len(preparation_ids)


# ---------------------------------------------------------------- a worker killed mid-job


def blocked_metric_insert(database_url: str, table: str, lab_id: int, preparation_id: int):
    """An open transaction holding an uncommitted metrics row: a worker's upsert of that row waits for it."""
    blocker = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1))
    blocker.execute(
        f'INSERT INTO "{table}" (lab_id, preparation_id, provenance, computed_at) VALUES (%s, %s, %s, now())',
        (lab_id, preparation_id, json.dumps({})),
    )
    return blocker


def waiting_backend(database_url: str, table: str) -> int | None:
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE %s",
            (f'INSERT INTO "{table}"%',),
        ).fetchone()
    return row[0] if row else None


def terminate_backend(database_url: str, pid: int):
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_until(
            lambda: not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone(),
            timeout=30,
            message=f"backend {pid} to end",
        )


@pytest.fixture
def measured_world(db):
    world = build_instrument_world(preparations=3, slug="kill-lab")
    results = []
    for number, preparation in enumerate(world.preparations, start=1):
        results += [
            protein_result(preparation.barcode, 15.0 * number),
            particle_result(preparation.barcode, 2.0e10 * number),
        ]
    measurements_record(actor=world.staff, lab=world.lab, results=validate_results(results))
    return world


def kill_worker_mid_job(world, *, private_redis, queue, database_url, workers):
    """Queue a metric job, hold the worker inside it, SIGKILL it there. Returns (job, clean figures)."""
    ids = [p.pk for p in world.preparations]
    clean = clean_figures(ids)
    assert len(clean) == len(ids) and all(f["particles_per_ug"] for f in clean.values())
    PreparationMetrics.objects.filter(preparation_id__in=ids).delete()
    MetricJob.objects.all().delete()
    table = PreparationMetrics._meta.db_table
    first = workers(broker_url=private_redis.url, database_url=database_url, queue=queue)
    blocker = blocked_metric_insert(database_url, table, world.lab.pk, ids[0])
    try:
        with sending_to(private_redis.url, queue), transaction.atomic():
            job = metric_services.job_create(preparation_ids=ids, lab=world.lab)
        pid = wait_until(
            lambda: waiting_backend(database_url, table), timeout=JOB_TIMEOUT_S, message="the worker inside the job"
        )
        job.refresh_from_db()
        assert (job.status, job.attempts, job.processed) == (MetricJob.Status.RUNNING, 1, 0)

        first.kill()
        terminate_backend(database_url, pid)  # the dead worker's statement would otherwise still commit
    finally:
        blocker.rollback()
        blocker.close()
    job.refresh_from_db()
    assert job.status == MetricJob.Status.RUNNING, "the killed worker finished nothing"
    assert not PreparationMetrics.objects.filter(preparation_id__in=ids).exists()
    return job, clean


def test_worker_killed_mid_job_the_message_is_redelivered_and_the_figures_match_a_clean_run(
    measured_world, private_redis, queue, test_database_url, workers
):
    job, clean = kill_worker_mid_job(
        measured_world, private_redis=private_redis, queue=queue, database_url=test_database_url, workers=workers
    )
    broker = private_redis.client()
    assert broker.llen(queue) == 0 and broker.hlen("unacked") == 1, "the message is held, unacknowledged"

    second = workers(
        broker_url=private_redis.url, database_url=test_database_url, queue=queue, transport_options=REDELIVERY_OPTIONS
    )
    wait_until(
        lambda: MetricJob.objects.filter(pk=job.pk, status=MetricJob.Status.DONE).exists(),
        timeout=JOB_TIMEOUT_S,
        message="the redelivered job to finish:\n" + second.log_path.name,
    )

    job.refresh_from_db()
    assert job.attempts == 2 and job.processed == job.total == len(clean)
    assert figures(list(clean)) == clean
    wait_until(lambda: broker.hlen("unacked") == 0, timeout=JOB_TIMEOUT_S, message="the redelivery to be acknowledged")
    assert "succeeded" in second.log()


def test_worker_killed_mid_job_the_sweeper_requeues_the_running_job(
    measured_world, private_redis, queue, test_database_url, workers
):
    job, clean = kill_worker_mid_job(
        measured_world, private_redis=private_redis, queue=queue, database_url=test_database_url, workers=workers
    )
    # A worker that would not take the lost message back for an hour: only the sweeper can save the job.
    second = workers(broker_url=private_redis.url, database_url=test_database_url, queue=queue)
    with sending_to(private_redis.url, queue):
        assert metric_services.sweep_stale_jobs() == [], "a job running for less than STALE_AFTER is left alone"
        later = timezone.now() + metric_services.STALE_AFTER
        assert metric_services.sweep_stale_jobs(now=later) == [job.pk]
    wait_until(
        lambda: MetricJob.objects.filter(pk=job.pk, status=MetricJob.Status.DONE).exists(),
        timeout=JOB_TIMEOUT_S,
        message="the re-queued job to finish",
    )

    job.refresh_from_db()
    assert job.attempts == 2 and job.processed == job.total == len(clean)
    assert figures(list(clean)) == clean
    assert second.alive()


# ---------------------------------------------------------------- the database restarts mid-ingest

INGEST_THREADS = 4
POSTS_PER_THREAD = 40
RETRY_ATTEMPTS = 80
RETRY_PAUSE_S = 0.25
REQUEST_TIMEOUT_S = 30
RETRYABLE = {500, 502, 503, 504}

WORLD_SCRIPT = """
import json, django
django.setup()
from tests.integration.faults import build_instrument_world
world = build_instrument_world(preparations=4, slug="restart-lab")
print(json.dumps({"key": world.raw_key, "barcodes": [p.barcode for p in world.preparations]}))
"""


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    """A private PostgreSQL cluster, migrated, with a lab and an instrument key, served as docker-compose.yml
    serves the site (gunicorn's threads, the production settings: database connections kept between requests and
    checked before reuse), two processes here, with a private Redis as broker and cache. Yields (cluster, base
    url, world)."""
    for problem in (private_postgresql_problem(), redis_server_problem()):
        if problem:
            unavailable(problem)
    workdir = tmp_path_factory.mktemp("live-stack")
    cluster = PrivateCluster()
    broker = PrivateRedis(workdir)
    server = None
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.url().replace("postgres://", "postgresql://", 1), autocommit=True) as admin:
            admin.execute("CREATE DATABASE evlims")
        broker.start()
        env = (
            os.environ
            | same_audit_key()
            | {
                "DJANGO_SETTINGS_MODULE": "config.settings.local",
                "DATABASE_URL": cluster.url("evlims"),
                "REDIS_URL": broker.url,
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "EVLIMS_INSTRUMENT_KEY_RATE": "100000/min",
            }
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
        made = subprocess.run(
            [sys.executable, "-c", WORLD_SCRIPT], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True
        )
        served = env | {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",  # plain http on the loopback, as the compose file's first look
        }
        world = json.loads(made.stdout.decode().strip().splitlines()[-1])
        port = free_port()
        log = (workdir / "gunicorn.log").open("ab")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2",
             "--worker-class", "gthread", "--threads", "4", "--timeout", "60", "--graceful-timeout", "5"],
            cwd=ROOT, env=served, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(lambda: port_open(port), timeout=60, message="gunicorn to listen")
        yield cluster, f"http://127.0.0.1:{port}", world
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if broker.process is not None:
            broker.stop()
        cluster.remove()


def post_until_stored(session, base_url, body, key, answers):
    """An instrument client: post, and on a connection error or a 5xx post again with the same key."""
    import requests

    for _ in range(RETRY_ATTEMPTS):
        try:
            response = session.post(
                f"{base_url}/api/v1/results/", json=body, headers={"Idempotency-Key": key}, timeout=REQUEST_TIMEOUT_S
            )
        except requests.ConnectionError:
            answers.append("connection error")
        else:
            answers.append(response.status_code)
            if response.status_code not in RETRYABLE:
                return response
        time.sleep(RETRY_PAUSE_S)
    raise AssertionError(f"{key}: not stored after {RETRY_ATTEMPTS} attempts: {answers[-5:]}")


def stored_counts(cluster, prefix):
    with psycopg.connect(cluster.url("evlims").replace("postgres://", "postgresql://", 1)) as db:
        ingestions = db.execute(
            "SELECT count(*) FROM evlims_ingestion WHERE idempotency_key LIKE %s", (prefix + "%",)
        ).fetchone()[0]
        per_ingestion = db.execute(
            "SELECT count(m.id) FROM evlims_ingestion i LEFT JOIN evlims_measurement m ON m.ingestion_id = i.id "
            "WHERE i.idempotency_key LIKE %s GROUP BY i.id",
            (prefix + "%",),
        ).fetchall()
    return ingestions, Counter(n for (n,) in per_ingestion)


def test_postgresql_restart_mid_ingest_clients_retry_and_every_result_is_stored_once(live_stack):
    import requests

    cluster, base_url, world = live_stack
    answers_by_thread = [[] for _ in range(INGEST_THREADS)]
    failures = []
    halfway = threading.Event()
    restarted = threading.Event()

    def instrument(thread_number):
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {world['key']}"
        try:
            for number in range(POSTS_PER_THREAD):
                if thread_number == 0 and number == POSTS_PER_THREAD // 4:
                    halfway.set()
                barcode = world["barcodes"][thread_number % len(world["barcodes"])]
                body = {"results": [protein_result(barcode, 5.0 + number)]}
                key = f"restart-{thread_number}-{number}"
                response = post_until_stored(session, base_url, body, key, answers_by_thread[thread_number])
                if response.status_code != 201:
                    failures.append((key, response.status_code, response.text[:300]))
        except Exception as error:  # noqa: BLE001 - reported below with the others
            failures.append((thread_number, "error", repr(error)))

    def restart():
        if halfway.wait(timeout=120):
            cluster.stop("fast")  # every open connection and transaction is cut
            time.sleep(1.5)
            cluster.start()
            restarted.set()

    threads = [threading.Thread(target=instrument, args=(n,)) for n in range(INGEST_THREADS)]
    restarter = threading.Thread(target=restart)
    for thread in [restarter, *threads]:
        thread.start()
    for thread in [restarter, *threads]:
        thread.join(timeout=600)
        assert not thread.is_alive(), "a client thread did not finish in time"

    assert restarted.is_set(), "the database was not restarted during the stream"
    assert failures == [], failures[:5]
    answers = Counter(answer for thread_answers in answers_by_thread for answer in thread_answers)
    retried = {answer: n for answer, n in answers.items() if answer != 201}
    assert retried, f"no post met the outage (answers {dict(answers)}): the test proved nothing"
    assert set(retried) <= RETRYABLE | {"connection error"}, f"non-retryable answers during the outage: {retried}"
    total = INGEST_THREADS * POSTS_PER_THREAD
    ingestions, per_ingestion = stored_counts(cluster, "restart-")
    assert ingestions == total
    assert per_ingestion == {1: total}, "every result stored exactly once"


def test_database_outage_is_answered_503(live_stack):
    import requests

    cluster, base_url, world = live_stack
    cluster.stop("fast")
    try:
        response = requests.post(
            f"{base_url}/api/v1/results/",
            json={"results": [protein_result(world["barcodes"][0], 1.0)]},
            headers={"Authorization": f"Api-Key {world['key']}", "Idempotency-Key": "outage-probe"},
            timeout=REQUEST_TIMEOUT_S,
        )
    finally:
        cluster.start()
    assert response.status_code != 201, "the post cannot have been stored with the database down"
    assert response.status_code == 503, response.status_code
    assert response.headers.get("Retry-After")
