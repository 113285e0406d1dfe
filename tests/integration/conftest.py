"""The integration tests need real servers: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).

When one is missing its tests skip with the reason, except in CI (CI=true), where a missing server
stops the run with a failure: CI must prove the real stack, not quietly skip it.
"""

import os
import uuid

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgresql_problem() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return "DATABASE_URL does not point at PostgreSQL (make test sets it when a server answers on 127.0.0.1:5432)"
    return ""


def redis_problem() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "REDIS_URL is not set (make test sets it when Redis answers on 127.0.0.1:6379)"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at {url} does not answer: {error}"
    return ""


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_redis: an integration test that also needs Redis (REDIS_URL)")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    ours = [item for item in items if str(item.path).startswith(here)]
    for item in ours:
        item.add_marker(pytest.mark.integration)
    problems = {"postgresql": postgresql_problem()}
    if any(item.get_closest_marker("needs_redis") for item in ours):
        problems["redis"] = redis_problem()
    missing = {name: reason for name, reason in problems.items() if reason}
    if not missing:
        return
    if IN_CI:
        pytest.exit("CI=true and integration servers are missing: " + "; ".join(missing.values()), returncode=1)
    for item in ours:
        needs = ["postgresql"] + (["redis"] if item.get_closest_marker("needs_redis") else [])
        reasons = [missing[name] for name in needs if name in missing]
        if reasons:
            item.add_marker(pytest.mark.skip(reason="; ".join(reasons)))


@pytest.fixture
def worker_queue():
    # A queue of the test's own, so a worker of a running stack on the same Redis never takes its messages.
    return f"evlims-workers-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def queue_workers(worker_queue, tmp_path, monkeypatch):
    """``start(n)`` starts n real Celery workers (solo pool, named w1@…, w2@…) on REDIS_URL and the test
    database, consuming ``worker_queue``; every one is stopped at the end. Tasks the workers send themselves
    (the chunk jobs of a full metric recompute) go to that queue too, through CELERY_TASK_DEFAULT_QUEUE."""
    from django.db import connection

    from tests.integration.faults import database_url_of, start_worker

    monkeypatch.setenv("CELERY_TASK_DEFAULT_QUEUE", worker_queue)
    started = []

    def start(count: int):
        for number in range(len(started) + 1, len(started) + count + 1):
            name = f"w{number}-{worker_queue[-6:]}"
            started.append(
                start_worker(
                    broker_url=os.environ["REDIS_URL"],
                    database_url=database_url_of(connection.settings_dict),
                    queue=worker_queue,
                    log_path=tmp_path / f"w{number}.log",
                    name=name,
                )
            )
        return started

    yield start
    for worker in started:
        worker.stop()
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(worker_queue)
