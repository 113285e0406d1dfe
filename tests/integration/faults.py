"""Servers of our own for the fault tests, and the few things every fault test needs.

A fault test stops, kills or restarts servers. It does that to servers it started itself: a Redis on a
free port of 127.0.0.1 and, for the database outage, a PostgreSQL cluster in a temporary directory.
The PostgreSQL and Redis that ``make test`` found (DATABASE_URL, REDIS_URL) are never stopped, so
other test runs against them go on undisturbed, and kombu's unacked-message bookkeeping (one hash per
Redis database, shared by every queue) is never swept with the short visibility timeout used here.

Every wait is bounded: ``wait_until`` polls with a deadline and fails with the message it was given.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SERVER_START_TIMEOUT_S = 30
WORKER_SHUTDOWN_TIMEOUT_S = 60

# The boot line of a test worker: the site's Celery app with broker transport options from the environment.
WORKER_BOOT = "from tests.integration.faults import worker_main; worker_main()"
TRANSPORT_OPTIONS_ENV = "EVLIMS_TEST_BROKER_TRANSPORT_OPTIONS"


class WaitTimeout(AssertionError):
    pass


def wait_until(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass (fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


# ---------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server on a free port that keeps nothing on disk: stopping it loses every queued message,
    as a crashed broker without persistence does."""

    def __init__(self, workdir: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self):
        command = [
            self.binary, "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--dir", str(self.workdir), "--protected-mode", "yes",
        ]  # fmt: skip
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.answers, timeout=SERVER_START_TIMEOUT_S, message=f"Redis on port {self.port}")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self):
        """A hard stop (SIGKILL): no goodbye to the clients, nothing saved."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=SERVER_START_TIMEOUT_S)
        wait_until(lambda: not port_open(self.port), timeout=SERVER_START_TIMEOUT_S, message="Redis to close")

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=3)


def redis_server_problem() -> str:
    return "" if shutil.which("redis-server") else "redis-server is not installed (the fault tests run their own)"


# ---------------------------------------------------------------- PostgreSQL


def postgresql_bin_dir() -> Path | None:
    """The directory of initdb/pg_ctl: from pg_config, else Debian's newest /usr/lib/postgresql/N/bin."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return candidates[-1].parent if candidates else None


def private_postgresql_problem() -> str:
    if postgresql_bin_dir() is None:
        return "initdb/pg_ctl are not installed (the database-outage test runs its own PostgreSQL cluster)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: PostgreSQL cannot be started as another user"
    return ""


class PrivateCluster:
    """A throwaway PostgreSQL cluster (trust authentication, 127.0.0.1 only) in a temporary directory.

    PostgreSQL refuses to run as root; as root the cluster belongs to the ``postgres`` user.
    """

    def __init__(self):
        self.bin = postgresql_bin_dir()
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.workdir = Path(tempfile.mkdtemp(prefix="evlims-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "server.log"
        if self.as_postgres:
            shutil.chown(self.workdir, user="postgres", group="postgres")
            self.workdir.chmod(0o700)

    def _run(self, *args, check=True):
        command = [str(self.bin / args[0]), *map(str, args[1:])]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def init(self):
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self):
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses={HOST} -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", SERVER_START_TIMEOUT_S, "start")

    def stop(self, mode: str = "fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", SERVER_START_TIMEOUT_S, "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------- Celery workers


def database_url_of(settings_dict) -> str:
    credentials = quote(settings_dict["USER"], safe="")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict["HOST"] or HOST
    return f"postgres://{credentials}@{host}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def worker_main():
    """Entry point of a test worker (``python -c WORKER_BOOT worker ...``): the site's app, with the broker
    transport options given as JSON in the environment (a short visibility timeout for redelivery tests)."""
    from config.celery import app

    options = json.loads(os.environ.get(TRANSPORT_OPTIONS_ENV) or "{}")
    if options:
        app.conf.broker_transport_options = options
    app.worker_main(argv=sys.argv[1:])


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self):
        """SIGKILL: the worker gets no chance to acknowledge, reject or clean up anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WORKER_SHUTDOWN_TIMEOUT_S)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, then exit
            try:
                self.process.wait(timeout=WORKER_SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def same_audit_key() -> dict[str, str]:
    """Environment giving a server process the test process's audit key, so events either side writes are
    sealed alike and each verifies the other's (the demo settings would otherwise use var/audit-key)."""
    from django.conf import settings

    return {
        "EVLIMS_AUDIT_KEY": "\n".join(f"{key_id}:{secret}" for key_id, secret in settings.EVLIMS_AUDIT_KEYS.items()),
        "EVLIMS_AUDIT_KEY_ID": settings.EVLIMS_AUDIT_KEY_ID,
        "EVLIMS_AUDIT_ANCHOR_DIR": str(settings.EVLIMS_AUDIT_ANCHOR_DIR),
    }


def start_worker(
    *, broker_url: str, database_url: str, queue: str, log_path: Path, transport_options=None, name: str = ""
) -> Worker:
    env = (
        os.environ
        | same_audit_key()
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "DEBUG": "false",
            TRANSPORT_OPTIONS_ENV: json.dumps(transport_options or {}),
        }
    )
    command = [
        sys.executable, "-c", WORKER_BOOT, "worker", "-P", "solo", "--concurrency", "1", "-Q", queue,
        "-n", f"{name or queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO",
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = Worker(process, log_path)
    wait_until(
        lambda: "ready." in worker.log() or not worker.alive(),
        timeout=SERVER_START_TIMEOUT_S * 2,
        message="the worker to be ready",
    )
    assert worker.alive(), "the worker did not start:\n" + worker.log()
    return worker


def drop_broker_connections(app):
    # The app keeps the pool of the broker of its first send (the in-memory broker of the test settings);
    # dropping it makes the next send connect to the broker configured now.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def sending_to(broker_url: str, queue: str):
    """The site's Celery app sends to ``broker_url`` (every task to ``queue``) instead of running tasks
    in-process as the test settings do."""
    from config.celery import app

    changes = {"task_always_eager": False, "broker_url": broker_url, "task_default_queue": queue}
    saved = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    drop_broker_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        drop_broker_connections(app)


# ---------------------------------------------------------------- data


LAB_PROTOCOL = """
schema_version: 1
slug: fault-sec
version: 1.0.0
title: Fault SEC
status: draft
description: Plasma cleared at 2,500 g, then SEC.
citations: [{text: "Böing et al. 2014", doi: 10.3402/jev.v3.23430, verified: false}]
steps:
  - method: differential_centrifugation
    params: {g_force: 2500, duration_min: 15, temperature_c: 20, fraction_kept: supernatant}
  - method: sec
    params: {resin: Sepharose CL-2B, bed_volume_ml: 10, sample_volume_ml: 1, fraction_volume_ml: 0.5,
             fractions_collected: 20, fractions_pooled: [4, 5, 6], buffer: PBS}
"""


@dataclass
class InstrumentWorld:
    lab: object
    staff: object
    admin: object
    preparations: list
    instrument: object
    raw_key: str


def build_instrument_world(*, preparations: int = 4, slug: str = "fault-lab") -> InstrumentWorld:
    """A lab with ``preparations`` EV preparations (one isolation run) and an instrument with a results key."""
    from evlims.core.models import Role
    from evlims.instruments import services as instrument_services
    from evlims.isolation import services as isolation_services
    from evlims.samples import services as sample_services
    from tests.factories import LabFactory, ProjectFactory, member, storage_box
    from tests.run_states import completed

    lab = LabFactory(name=f"Lab {slug}", slug=slug)
    staff = member(lab, Role.LAB_STAFF, username=f"{slug}-staff")
    qa = member(lab, Role.QA_MANAGER, username=f"{slug}-qa")
    admin = member(lab, Role.LAB_ADMIN, username=f"{slug}-admin")
    project = ProjectFactory(lab=lab, code=slug.upper().replace("-", "")[:20], title="Fault tolerance")
    box = storage_box(lab)
    sample = sample_services.sample_register(
        actor=staff,
        project=project,
        biofluid="blood_plasma",
        volume_ml=Decimal("4"),
        anticoagulant="k2_edta",
        aliquot_volumes_ul=[200] * preparations,
        box=box,
    )
    draft = isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    version = isolation_services.protocol_version_approve(actor=qa, version=draft)
    run = isolation_services.run_plan(
        actor=staff,
        project=project,
        protocol_version=version,
        inputs=[(aliquot, 100) for aliquot in sample.aliquots.order_by("id")],
    )
    run = completed(run)
    instrument = instrument_services.instrument_register(actor=admin, lab=lab, name="Plate reader", kind="nta")
    _, raw_key = instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
    return InstrumentWorld(lab, staff, admin, list(run.preparations.order_by("id")), instrument, raw_key)


def protein_result(barcode: str, value: float) -> dict:
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "micro_bca", "concentration_ug_per_ml": value},
    }


def particle_result(barcode: str, concentration: float, bins: int = 6) -> dict:
    return {
        "kind": "particle",
        "method": "nta",
        "preparation": barcode,
        "particle": {
            "technique": "nta",
            "name": f"run {barcode}",
            "concentration_per_ml": concentration,
            "size_mode_nm": 92.0,
            "size_mean_nm": 118.0,
            "histogram": {
                "bin_center_nm": [60.0 + 20 * i for i in range(bins)],
                "concentration_per_ml": [concentration / bins * (1 + i % 3) for i in range(bins)],
            },
        },
    }
