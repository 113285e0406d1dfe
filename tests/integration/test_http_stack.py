"""The deployed path end to end: ``bench/bench_http.py`` posts results over HTTP to one gunicorn process running
the production settings, with a real Celery worker, Redis as broker and shared cache, and PostgreSQL, and fails
unless the worker caught up and left no preparation's compliance or figures behind (the follow-ups of later posts
are shared with a waiting one only through that shared cache; docs/performance.md, "Compliance refreshes and
metric messages that wait are shared"). Small numbers: a check of the stack, not a measurement."""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from .faults import database_url_of

pytestmark = [pytest.mark.needs_redis]
ROOT = Path(__file__).resolve().parents[2]
# A Redis database of the run's own: the bench empties it at its start and end.
BENCH_REDIS_DB = 15


def _bench_redis_url() -> str:
    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))


def test_posts_over_http_with_a_real_worker_leave_nothing_behind():
    server, _ = database_url_of(connection.settings_dict).rsplit("/", 1)
    name = f"evlims_http_{uuid.uuid4().hex[:10]}"
    command = [sys.executable, "bench/bench_http.py", "--posts", "120", "--warmup", "10", "--clients", "2"]
    command += ["--threads", "2", "--pg-url", f"{server}/{name}", "--redis-url", _bench_redis_url()]
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    try:
        run = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "left behind               compliance of 0, figures of 0 of 20 preparations" in run.stdout, output
    assert "worker caught up" in run.stdout and "posts per second" in run.stdout
