"""Time result ingestion through the API against a bare bulk insert of the same Measurement rows.

    .venv/bin/python bench/bench_ingest.py            # 2,000 results
    .venv/bin/python bench/bench_ingest.py --n 500
    .venv/bin/python bench/bench_ingest.py --n 300 --sqlite-journal delete   # SQLite's default journal
    .venv/bin/python bench/bench_ingest.py --n 300 --database postgres       # database evlims_bench_ingest

Creates a temporary database (dropped at the end) with the test settings, an instrument with a key, and
preparations to post to. On SQLite the database is in WAL mode with ``synchronous=FULL`` (one fsync of the log
per commit: an acknowledged result survives a power cut, as "nothing lost" asks); ``--sqlite-synchronous normal``
shows what skipping that fsync would give (the last commits can be lost on a power cut, so no deployment should
run so), ``--sqlite-journal delete`` measures SQLite's default rollback journal, several fsyncs per commit).
Measures, in the same run:

- baseline: ``Measurement.objects.bulk_create`` of N rows (no detail rows, no audit, no validation);
- single posts: N POST /api/v1/results/ of one result each (instrument key, test client);
- bulk posts: N results in posts of up to MAX_RESULTS_PER_POST;
  the baseline and the bulk posts each run one untimed round (the process's one-time costs), then ``--repeat``
  rounds (alternating), and the median round is reported, as one round is only a few posts and its time swings
  with the machine's load;
- NTA files: the in-repo export uploaded and committed through POST /api/v1/files/; then the NanoSight parser
  (CPU time) on it (22 kB: 5 captures, 10 nm bins) and on the same captures at NTA's resolution (1 nm bins,
  percentiles in 1 % steps, about 300 kB; ``make_synthetic.nta33_full(full_size=True)``, built in memory), each
  next to its own baseline, pandas reading the same bytes as a plain table.

Each path is printed with its absolute rate and as a ratio of its time per result to the baseline's
time per row. For the posts, the server's share is printed too: wall and CPU milliseconds per post (p50,
p95) inside the handler (middleware, view, commit and after-commit hook; the test client's building of the
request and reading of the answer excluded), and the SQL queries per post; then, over up to 200 more single
posts, how long each held the audit chain's head (its locked read to the end of its commit): every write of the
site passes that head one at a time (bench/capacity.py's "audit chain"). Compliance and metric refreshes
are queued (in memory), as a real worker would take them.
"""

import argparse
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="evlims-bench-ingest-"))
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/evlims_bench_ingest"
CHAIN_POSTS = 200  # single posts whose hold of the audit chain's head is timed, after the timed ones


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="results per path (default 2000)")
    parser.add_argument("--files", type=int, default=50, help="NTA files per file path (default 50)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=7,
        help="rounds of the baseline and of the bulk posts, the median round reported (default 7)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=PG_DEFAULT, help=f"PostgreSQL database to (re)create ({PG_DEFAULT})")
    parser.add_argument(
        "--sqlite-journal", choices=["wal", "delete"], default="wal", help="SQLite journal mode (default wal)"
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["normal", "full"],
        default="full",
        help="SQLite synchronous with WAL (default full: one fsync per commit; normal: none, not durable)",
    )
    return parser.parse_args()


def recreate_postgres(url: str, *, drop_only: bool = False):
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing to recreate database {name!r}: plain names only")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


OPTIONS = arguments()
if OPTIONS.database == "postgres":
    recreate_postgres(OPTIONS.pg_url)
    os.environ["DATABASE_URL"] = OPTIONS.pg_url
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{TMP / 'bench.sqlite3'}"

# Settings of this run: the test settings with a file database, refreshes queued rather than run inline,
# and no per-key throttle (the bench posts far faster than an instrument).
_settings = types.ModuleType("bench_ingest_settings")
exec("from config.settings.test import *  # noqa: F403", _settings.__dict__)
_settings.MEDIA_ROOT = TMP / "media"
_settings.CELERY_TASK_ALWAYS_EAGER = False
_settings.REST_FRAMEWORK = {**_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"instrument_key": None}}
if OPTIONS.database == "sqlite":
    # WAL: a commit appends to the log; with synchronous=FULL the log is synced at each commit (durable).
    if OPTIONS.sqlite_journal == "wal":
        pragmas = f"PRAGMA journal_mode=WAL; PRAGMA synchronous={OPTIONS.sqlite_synchronous.upper()};"
        _settings.DATABASES["default"]["OPTIONS"] = {"init_command": pragmas}
sys.modules["bench_ingest_settings"] = _settings
os.environ["DJANGO_SETTINGS_MODULE"] = "bench_ingest_settings"

import django  # noqa: E402

django.setup()

import machine  # noqa: E402
import pandas  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from ingest_world import documents, setup_world  # noqa: E402
from rest_framework.test import APIClient, ForceAuthClientHandler  # noqa: E402

from evlims.characterization.models import Measurement  # noqa: E402
from evlims.instruments import services as instrument_services  # noqa: E402
from evlims.instruments.parsers import parse_bytes  # noqa: E402
from tests.fixtures.instruments import NANOSIGHT_FULL, instrument_path  # noqa: E402
from tests.fixtures.instruments.make_synthetic import nta33_full  # noqa: E402

# The in-repo NTA 3.3 export (5 captures, all six distributions), so the benchmark runs in any clone.
NTA_FILE = instrument_path(NANOSIGHT_FULL)


def timed(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def bare_bulk_create(lab, preparations, n) -> float:
    now = timezone.now()
    rows = [
        Measurement(
            lab=lab,
            preparation=preparations[i % len(preparations)],
            kind=Measurement.Kind.PROTEIN,
            method="bca",
            measured_at=now,
            values={"protein_ug_per_ml": 10.0 + i % 97},
        )
        for i in range(n)
    ]
    cpu = time.process_time()
    elapsed = timed(lambda: Measurement.objects.bulk_create(rows, batch_size=500))
    cpu = time.process_time() - cpu
    Measurement.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return elapsed, cpu


class TimedHandler(ForceAuthClientHandler):
    """The test client's handler, timing each request server side: wall and CPU seconds of the handler call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self, environ):
        wall, cpu = time.perf_counter(), time.process_time()
        response = super().__call__(environ)
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)
        return response

    def reset(self):
        self.wall, self.cpu = [], []


def client_for(raw_key) -> APIClient:
    client = APIClient()
    client.handler = TimedHandler(enforce_csrf_checks=False)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def server_line(label, handler, queries: int):
    """p50 and p95 of the server's wall and CPU milliseconds per post."""

    def quantiles(values):
        values = [v * 1000 for v in values] * (2 if len(values) == 1 else 1)  # one post: its own p50 and p95
        p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
        return f"p50 {statistics.median(values):6.2f} p95 {p95:6.2f}"

    print(
        f"  server, {label:<25} wall ms {quantiles(handler.wall)}   CPU ms {quantiles(handler.cpu)}   "
        f"{queries} queries per post"
    )


def chain_line(held: list[float]):
    p50, p95 = statistics.median(held) * 1000, statistics.quantiles(held, n=20, method="inclusive")[18] * 1000
    print(
        f"  audit chain head held      ms p50 {p50:6.2f} p95 {p95:6.2f}   one chain: at most {1000 / p50:,.0f} "
        f"posts/s at p50, whatever the cores ({len(held)} posts)"
    )


def queries_of_one_post(client, doc) -> int:
    with CaptureQueriesContext(connection) as queries:
        post_all(client, [[doc]])
    return len(queries.captured_queries)


def audit_chain_held(client, docs) -> list[float]:
    """Seconds each post of one result held the audit chain's head: from its locked read, where every write of
    the site waits for the one before it to commit, to the end of its own commit. Whatever the cores, one chain
    takes at most one post per that time (bench/capacity.py's "audit chain")."""
    from evlims.core import audit

    held, locked_at = [], []
    read, real = audit._locked_last_hash, connections["default"]
    commit = real._commit

    def timed_read(connection):
        last_hash = read(connection)
        locked_at.append(time.perf_counter())
        return last_hash

    def timed_commit(*args):
        commit(*args)
        if locked_at:
            held.append(time.perf_counter() - locked_at.pop())

    audit._locked_last_hash, real._commit = timed_read, timed_commit
    try:
        post_all(client, [[doc] for doc in docs])
    finally:
        audit._locked_last_hash = read
        del real._commit
    assert len(held) == len(docs), f"{len(held)} chain reads timed for {len(docs)} posts"
    return held


def post_all(client, batches):
    for batch in batches:
        response = client.post(
            "/api/v1/results/", {"results": batch}, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
        if response.status_code != 201:
            raise SystemExit(f"post refused: {response.status_code} {response.content[:300]!r}")


def upload_all(client, data: bytes, count: int, barcodes):
    for i in range(count):
        response = client.post(
            "/api/v1/files/",
            {
                "file": SimpleUploadedFile(NTA_FILE.name, data, "text/csv"),
                "mapping": f'{{"d200": "{barcodes[i % len(barcodes)]}"}}',
                "dilutions": '{"d200": 200}',
            },
            format="multipart",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        if response.status_code != 201 or response.json()["status"] != "committed":
            raise SystemExit(f"upload refused: {response.status_code} {response.content[:300]!r}")


def report(label, count, unit, elapsed, baseline_per_row):
    per_item = elapsed / count
    print(
        f"{label:<34} {count:>6,} {unit:<8} {elapsed:8.2f} s  {count / elapsed:10.1f} {unit}/s  "
        f"{per_item * 1000:8.3f} ms each  ×{per_item / baseline_per_row:8.1f} bulk_create"
    )


def plain_read(data: bytes):
    """The baseline of the parser: pandas reading the same export as a plain table, nothing checked."""
    return pandas.read_csv(
        io.BytesIO(data), header=None, names=range(12), encoding="cp1252", skip_blank_lines=False, dtype=str
    )


def cpu_timed(step) -> float:
    """CPU time of this process: on a shared machine the wall clock mostly measures other work."""
    started = time.process_time()
    step()
    return time.process_time() - started


def report_against(label, count, unit, elapsed, baseline_elapsed):
    print(
        f"{label:<34} {count:>6,} {unit:<8} {elapsed:8.2f} s  {count / elapsed:10.1f} {unit}/s  "
        f"{elapsed / count * 1000:8.3f} ms each  ×{elapsed / baseline_elapsed:8.1f} pandas read"
    )


def main():
    n, files = OPTIONS.n, OPTIONS.files
    try:
        call_command("migrate", verbosity=0)
        lab, preparations, _instrument, raw_key = setup_world()
        client = client_for(raw_key)
        docs = documents(preparations, n)
        limit = instrument_services.MAX_RESULTS_PER_POST

        # One untimed round of each first: the process's first posts pay its one-time costs (lazy imports, the
        # result schema's validator, the URL resolver), which made a first timed round of bulk posts ×16 the later
        # ones on a 2-core machine.
        bare_bulk_create(lab, preparations, n)
        post_all(client, [docs[i : i + limit] for i in range(0, n, limit)])
        baseline_rounds, bulk_rounds, cpu_ratios = [], [], []
        bulk_handler = TimedHandler(enforce_csrf_checks=False)
        for _ in range(OPTIONS.repeat):
            elapsed, cpu_baseline = bare_bulk_create(lab, preparations, n)
            baseline_rounds.append(elapsed)
            cpu = time.process_time()
            client.handler = bulk_handler
            bulk_rounds.append(timed(lambda: post_all(client, [docs[i : i + limit] for i in range(0, n, limit)])))
            cpu_ratios.append((time.process_time() - cpu) / cpu_baseline)
        baseline, bulk = statistics.median(baseline_rounds), statistics.median(bulk_rounds)
        per_row = baseline / n
        client.handler = TimedHandler(enforce_csrf_checks=False)
        single = timed(lambda: post_all(client, [[doc] for doc in docs]))
        single_handler, client.handler = client.handler, TimedHandler(enforce_csrf_checks=False)
        single_queries = queries_of_one_post(client, docs[0])
        client.handler = TimedHandler(enforce_csrf_checks=False)
        held = audit_chain_held(client, docs[:CHAIN_POSTS])
        # The warm-up, the rounds, the single posts, the one counted, the chain's.
        assert Measurement.objects.count() == (OPTIONS.repeat + 2) * n + 1 + len(held)

        data = NTA_FILE.read_bytes()
        uploads = timed(lambda: upload_all(client, data, files, [p.barcode for p in preparations]))

        database = (
            "PostgreSQL"
            if OPTIONS.database == "postgres"
            else f"SQLite ({OPTIONS.sqlite_journal} journal, synchronous {OPTIONS.sqlite_synchronous})"
        )
        print(f"evlims ingestion benchmark: {n:,} results, {files} NTA files ({len(data):,} bytes each), {database}")
        print(f"  {machine.reference_line(machine.reference_ms())}")
        report("bare bulk_create (baseline)", n, "rows", baseline, per_row)
        report("API, one result per post", n, "results", single, per_row)
        server_line("one result per post", single_handler, single_queries)
        chain_line(held)
        print(
            f"  ({OPTIONS.repeat} rounds each of the baseline and the bulk posts, median; bulk round ratios: "
            f"{', '.join(f'×{b / a:.2f}' for a, b in zip(baseline_rounds, bulk_rounds, strict=True))}; "
            f"CPU time ratio of the rounds: median ×{statistics.median(cpu_ratios):.2f})"
        )
        report(f"API, bulk posts of ≤{limit}", n, "results", bulk, per_row)
        server_line(f"bulk posts of ≤{limit}", bulk_handler, "-")
        report("API file upload + commit", files, "files", uploads, per_row)
        # Last, as each export's parser is a ratio to a plain pandas read of the same bytes (its own baseline).
        for name, export in (("22 kB", data), ("300 kB", nta33_full(full_size=True))):
            pandas_read = cpu_timed(lambda export=export: [plain_read(export) for _ in range(files)])
            parsing = cpu_timed(lambda export=export: [parse_bytes(export, "nanosight") for _ in range(files)])
            label = f"{name} export ({len(export):,} bytes)"
            report_against(f"pandas read_csv, {label} (baseline)", files, "files", pandas_read, pandas_read)
            report_against(f"NanoSight parser, {label}", files, "files", parsing, pandas_read)
    finally:
        connections.close_all()
        shutil.rmtree(TMP, ignore_errors=True)
        if OPTIONS.database == "postgres":
            recreate_postgres(OPTIONS.pg_url, drop_only=True)


if __name__ == "__main__":
    main()
