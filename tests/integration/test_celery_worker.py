"""A real Celery worker process on real Redis, reading the real PostgreSQL test database.

The test process sends the task only after its transaction commits; the worker, a separate process
with its own connection, must see the committed rows, run the task and hand back the result.
"""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery.backends.redis import RedisBackend
from celery.result import AsyncResult
from django.db import connection, transaction

from config.celery import app
from evlims.core.models import AuditEvent
from evlims.samples import services
from evlims.tasks import enqueue_on_commit, verify_audit_trail
from tests.integration.faults import same_audit_key

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
RESULT_TIMEOUT_S = 90
SHUTDOWN_TIMEOUT_S = 60


def database_url_of_test_database() -> str:
    """The URL of the database pytest-django created (test_<name>), for the worker to connect to."""
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def queue():
    # A queue of its own, so a worker of a running stack on the same Redis never takes our message.
    return f"evlims-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def worker(queue, tmp_path):
    redis_url = os.environ["REDIS_URL"]
    env = (
        os.environ
        | same_audit_key()
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": database_url_of_test_database(),
            "REDIS_URL": redis_url,
            "DEBUG": "false",
        }
    )
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "config", "--result-backend", redis_url,
        "worker", "-P", "solo", "--concurrency", "1", "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, then exit
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def drop_broker_connections():
    # The app keeps the connection pool it made for the broker of its first send; in this process that
    # is the in-memory broker of the test settings (even eager calls acquire a producer). Dropping the
    # pool makes the next send connect to the broker configured now. (Closing it instead would poison
    # kombu's shared pool registry for the next test that uses the same broker.)
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def producer():
    """The site's Celery app sending to Redis instead of running tasks in-process as the test settings do.

    Yields the result backend to read answers from (the site itself keeps no results).
    """
    changes = {"task_always_eager": False, "broker_url": os.environ["REDIS_URL"]}
    saved = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    drop_broker_connections()
    yield RedisBackend(app=app, url=os.environ["REDIS_URL"])
    app.conf.update(saved)
    drop_broker_connections()


def result_of(task_id, backend, worker):
    process, log_path = worker
    try:
        return AsyncResult(task_id, backend=backend, app=app).get(timeout=RESULT_TIMEOUT_S)
    finally:
        assert process.poll() is None, "the worker died:\n" + log_path.read_text(errors="replace")


def test_worker_runs_a_task_enqueued_after_commit(staff, project, queue, worker, producer):
    with transaction.atomic():
        services.sample_register(actor=staff, project=project, biofluid="serum", volume_ml=3)
        task_id = enqueue_on_commit(verify_audit_trail, queue=queue)

    assert result_of(task_id, producer, worker) == 0


def test_messages_reach_the_broker_only_when_the_transaction_commits(queue, producer):
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        with transaction.atomic():
            enqueue_on_commit(verify_audit_trail, queue=queue)
            transaction.set_rollback(True)
        assert broker.llen(queue) == 0, "a rolled-back transaction sends nothing"

        with transaction.atomic():
            enqueue_on_commit(verify_audit_trail, queue=queue)
            assert broker.llen(queue) == 0, "nothing is sent before the commit"
        assert broker.llen(queue) == 1
    finally:
        broker.delete(queue)


def test_worker_sees_tampering_committed_by_another_process(staff, project, queue, worker, producer):
    services.sample_register(actor=staff, project=project, biofluid="urine", volume_ml=20)
    services.sample_register(actor=staff, project=project, biofluid="urine", volume_ml=25)
    AuditEvent.objects.filter(pk=AuditEvent.objects.order_by("id").first().pk).update(reason="rewritten")

    task_id = verify_audit_trail.apply_async(queue=queue).id

    assert result_of(task_id, producer, worker) == 1


def test_worker_stops_cleanly(queue, worker, producer):
    process, log_path = worker
    task_id = verify_audit_trail.apply_async(queue=queue).id
    assert result_of(task_id, producer, worker) == 0

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=SHUTDOWN_TIMEOUT_S) == 0, log_path.read_text(errors="replace")
