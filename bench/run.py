"""evlims benchmark harness (``make bench``): every figure as an absolute value and as a ratio to a
baseline measured in the same run, so figures from a busy or a fast machine compare.

    .venv/bin/python bench/run.py                                  # SQLite, 10,000 preparations
    .venv/bin/python bench/run.py --database postgres --scale large
    .venv/bin/python bench/run.py --scale small --only pages,metrics

Figures (``--only`` takes their names, comma separated):

- generate:   evlims_generate's bulk load (rows/s), against a plain bulk_create of Sample rows;
- pages:      list, detail, queue and dashboard pages and API lists through django.test.Client in a small
              reference lab and in the large one: median and p95 server time and SQL queries, against a
              trivial view of this run's URLconf;
- metrics:    a full metric recompute of the large lab against reading the same rows into pandas, and the
              incremental recompute of one preparation against reading its rows;
- compliance: evaluate_preparations of up to 10,000 preparations end to end (queries counted) against the
              pure evaluator (evaluate_many) over the same documents, then a second run with each of its
              phases clocked (bench/compliance_phases.py), each phase against the same evaluator;
- import:     a sample manifest (bench_import.manifest) of --import-rows rows (default 10,000)
              checked and committed through the import services, against bulk_create
              of the same Sample and Aliquot rows;
- ingest:     bench/bench_ingest.py in a subprocess (its own SQLite database and bulk_create baseline);
- fcs:        bench/bench_fcs.py in a subprocess: reading and gating a 10⁶-event FCS file (time and peak
              memory) against numpy reading the same array;
- http:       with ``--database postgres`` only: bench/bench_http.py in a subprocess, result posts over HTTP to
              one gunicorn process with the production settings and a real worker (Redis at 127.0.0.1:6379,
              its database 13; its own PostgreSQL database evlims_bench_http on the ``--pg-url`` server). It has
              no baseline: its rows are the rate and the server's time a post, next to their targets.

The database is created for the run: a temporary SQLite file, or PostgreSQL database ``evlims_bench``
(dropped and created again; ``--pg-url`` for another server). Results are printed as a table and written
to bench/results/<timestamp>.json.

``--reuse`` keeps the database (created only if missing; on SQLite the file ``--sqlite-path``, by default
var/bench.sqlite3): a reference or large lab of the requested size that an earlier run, or
``manage.py evlims_generate`` with the default seed, loaded there is measured as it is, so pages can be
measured again and again at 100,000 preparations without reloading:

    .venv/bin/python bench/run.py --database postgres --pg-url postgres://postgres@127.0.0.1:5432/evlims_large \
        --scale large --reuse --only pages
"""

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import compliance_phases  # noqa: E402
import machine  # noqa: E402

SCALES = {"small": 2_000, "large": 100_000}
DEFAULT_SCALE = "10000"
REFERENCE_PREPARATIONS = 200
REFERENCE_SEED = 11
FIGURES = ("generate", "pages", "metrics", "compliance", "import", "ingest", "fcs", "http")
COMPLIANCE_BATCH = 10_000
IMPORT_ROWS = 10_000  # the size the performance target names; the bulk commit takes seconds to a minute
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/evlims_bench"
# The performance targets of round two (docs/performance.md), matched on the start of a figure's name: (words, test
# of a row). Each printed row that has one says whether it holds on this run.
TARGETS = {
    "pure evaluate_many": ("≥ 10,000 documents/s (CPU)", lambda row: row["value"] >= 10_000),
    "evaluate_preparations": ("≤ ×1.5 the pure evaluator (CPU)", lambda row: row["ratio"] <= 1.5),
    "full recompute": ("≤ ×1.5 the pandas read", lambda row: row["ratio"] <= 1.5),
    "dashboard, first view": ("p95 < 150 ms", lambda row: row["p95"] < 150),
    "method comparison, first view": ("p95 < 150 ms", lambda row: row["p95"] < 150),
    "QA queue": ("p95 < 150 ms", lambda row: row["p95"] < 150),
    "API, one result per post": ("≥ 300 results/s", lambda row: row["value"] >= 300),
    "API, bulk posts": ("≤ ×1.5 a bare bulk_create", lambda row: row["ratio"] <= 1.5),
    "API over HTTP, one result per post": ("≥ 300 results/s, one web process, a worker", lambda r: r["value"] >= 300),
    "API over HTTP, server time": ("p95 < 10 ms", lambda row: row["p95"] < 10),
    "NanoSight parser": ("≥ 50 files/s", lambda row: row["value"] >= 50),
}
SQLITE_REUSED = ROOT / "var" / "bench.sqlite3"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=PG_DEFAULT, help=f"PostgreSQL database to (re)create ({PG_DEFAULT})")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database and the labs already loaded in it: load only what is missing, then measure",
    )
    parser.add_argument(
        "--sqlite-path",
        type=Path,
        help=f"SQLite file to use (default: a temporary one; {SQLITE_REUSED.relative_to(ROOT)} with --reuse)",
    )
    parser.add_argument(
        "--scale", default=DEFAULT_SCALE, help="preparations of the large lab: small (2,000), large (100,000) or N"
    )
    parser.add_argument("--only", default=",".join(FIGURES), help=f"figures to measure, of {', '.join(FIGURES)}")
    parser.add_argument("--repeat", type=int, default=10, help="requests per page (default 10)")
    parser.add_argument("--import-rows", type=int, default=IMPORT_ROWS)
    parser.add_argument("--ingest-n", type=int, default=500, help="results per path of bench_ingest.py")
    options = parser.parse_args(argv)
    options.preparations = SCALES.get(options.scale) or int(options.scale)
    options.figures = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = set(options.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    return options


def configure(options, workdir: Path) -> str:
    """Settings of this run (the test settings on the chosen database, this run's URLconf); returns the URL."""
    if options.database == "sqlite":
        path = options.sqlite_path or (SQLITE_REUSED if options.reuse else workdir / "bench.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not options.reuse:
            path.unlink(missing_ok=True)
        url = f"sqlite:///{path.resolve()}"
    else:
        url = options.pg_url
        recreate_postgres(url, keep=options.reuse)
    os.environ["DATABASE_URL"] = url
    settings = types.ModuleType("bench_settings")
    exec("from config.settings.test import *  # noqa: F403", settings.__dict__)
    settings.ROOT_URLCONF = "bench_urls"
    settings.MEDIA_ROOT = workdir / "media"
    settings.DEBUG = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STATIC_ROOT = workdir / "static"
    (workdir / "static").mkdir()
    settings.LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {"axes": {"level": "WARNING"}, "celery": {"level": "WARNING"}},
    }
    sys.modules["bench_settings"] = settings
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    import django

    django.setup()
    return url


def recreate_postgres(url: str, *, keep: bool = False):
    """Drop and create the database; with ``keep``, create it only if it does not exist yet."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing to recreate database {name!r}: plain names only")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if keep and exists:
            return
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# ---------------------------------------------------------------------------------------------- helpers


class Results:
    def __init__(self, options, url, *, quiet=False):
        self.quiet = quiet
        self.rows = []
        self.meta = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "reference_ms": machine.reference_ms(),
            },
            "database": options.database,
            "database_url": re.sub(r"//[^@/]*@", "//", url),
            "scale": {"large_preparations": options.preparations, "reference_preparations": REFERENCE_PREPARATIONS},
            "repeat": options.repeat,
            "load_average_start": os.getloadavg(),
        }

    def add(self, figure, name, value, unit, baseline=None, *, queries=None, **extra):
        """``ratio`` is the cost relative to the baseline, higher is slower: time ÷ baseline time, or for
        rates (units ending in /s) baseline rate ÷ rate."""
        if not baseline or not value:
            ratio = None
        else:
            ratio = baseline / value if unit.endswith("/s") else value / baseline
        row = {"figure": figure, "name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}
        if queries is not None:
            row["queries"] = queries
        row.update(extra)
        target = next((target for start, target in TARGETS.items() if name.startswith(start)), None)
        if target is not None:
            words, test = target
            row["target"] = words
            try:
                row["holds"] = bool(test(row))
            except (KeyError, TypeError):  # a figure measured without the part its target reads
                row["holds"] = None
        self.rows.append(row)
        if self.quiet:
            return
        shown_ratio = f"×{ratio:,.1f}" if ratio is not None else ""
        shown_queries = f"{queries} q" if queries is not None else ""
        p95 = f" p95 {extra['p95']:,.1f}" if "p95" in extra else ""
        shown_target = ""
        if target is not None:
            verdict = {True: "holds", False: "does not hold", None: "not measured"}[row["holds"]]
            shown_target = f"  target {row['target']}: {verdict}"
        print(
            f"  {figure:<10} {name:<58} {value:>12,.2f} {unit:<9}{p95:<14} {shown_ratio:>10} {shown_queries:>7}"
            f"{shown_target}"
        )
        sys.stdout.flush()

    def write(self) -> Path:
        out = BENCH / "results" / f"{dt.datetime.now():%Y%m%d-%H%M%S}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({**self.meta, "figures": self.rows}, indent=2, default=str))
        return out


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def cpu_timed(function) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    started, started_cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - started, time.process_time() - started_cpu


def percentile(values, fraction) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def count_queries(function) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = function()
    return len(captured), result


# ---------------------------------------------------------------------------------------------- figures


def loaded_lab(size):
    """The newest generated lab of exactly these sizes and seed (its summary event is written last, in the
    load's transaction, so its lab is complete), as generate() would have returned it; or None."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from evlims.core.models import AuditEvent
    from evlims.demo import scale

    sizes = {name: getattr(size, name) for name in ("preparations", "samples", "measurements", "runs")}
    events = AuditEvent.objects.filter(
        action="scale.generate",
        lab__isnull=False,
        changes__seed=size.seed,
        changes__histogram_bins=size.histogram_bins,
    )
    # The request is recorded with the counts; a lab loaded before it was can only be matched by its counts,
    # which are the request at the sizes worth reusing.
    asked = Q(**{f"changes__requested__{name}": value for name, value in sizes.items()})
    counted = Q(changes__requested__isnull=True, **{f"changes__{name}": value for name, value in sizes.items()})
    event = events.filter(asked | counted).select_related("lab").order_by("-id").first()
    if event is None:
        return None
    lab = event.lab
    accounts = get_user_model().objects.filter(username__startswith=f"{lab.slug}.")
    users = {user.username.rsplit(".", 1)[1]: user for user in accounts}
    counts = {key: value for key, value in event.changes.items() if key not in ("seed", "histogram_bins", "requested")}
    return scale.LabSummary(lab=lab, users=users, counts=counts)


def generate_data(results, options):
    """The reference lab and the large lab; the load of the large one is the generate figure. With
    --reuse, labs of the same sizes already in the database are taken as they are."""
    from django.db import transaction

    from evlims.core.models import Lab, Project
    from evlims.demo import scale
    from evlims.samples.models import Sample

    reference_size = scale.ScaleSize.from_preparations(REFERENCE_PREPARATIONS, seed=REFERENCE_SEED)
    large_size = scale.ScaleSize.from_preparations(options.preparations)
    reference = loaded_lab(reference_size) if options.reuse else None
    reference = reference or scale.generate(reference_size)[0]
    large = loaded_lab(large_size) if options.reuse else None
    results.meta["reused_large_lab"] = large is not None
    if large is not None:
        rows = sum(large.counts.values())
        print(f"  generate   reusing {large.lab.name} ({rows:,} rows loaded earlier): no load measured")
        return reference, large
    elapsed, summaries = timed(lambda: scale.generate(large_size))
    large = summaries[0]
    rows = sum(large.counts.values())
    # Baseline: bulk_create of plain Sample rows at the same batch size, rolled back (lab and project too,
    # so a kept database can run this again).
    count = min(20_000, rows)
    with transaction.atomic():
        lab = Lab.objects.create(name="Baseline lab", slug="baseline-lab")
        project = Project.objects.create(lab=lab, code="BASE", title="Baseline")
        samples = [
            Sample(lab=lab, project=project, barcode=f"BASE-{n:07d}", biofluid="serum", volume_ml=1)
            for n in range(count)
        ]
        baseline, _ = timed(lambda: Sample.objects.bulk_create(samples, batch_size=scale.BATCH))
        transaction.set_rollback(True)
    if "generate" in options.figures:
        results.add(
            "generate",
            f"evlims_generate, {options.preparations:,} preparations",
            rows / elapsed,
            "rows/s",
            count / baseline,
            rows=rows,
            seconds=elapsed,
            counts=large.counts,
        )
    return reference, large


def deep_cursor(queryset, page: int) -> str:
    """The keyset cursor that opens page ``page`` of a list (the last row of the page before it)."""
    from evlims.conf import evlims_settings
    from evlims.core.paging import Keyset

    keyset = Keyset(queryset)
    return keyset.cursor(keyset.queryset[(page - 1) * evlims_settings.PAGE_SIZE - 1])


def deep_page(queryset, deepest: int = 150) -> int:
    """The page ``deepest``, or the list's last full page when it has fewer: a page that exists at any scale
    (page 2 at least, so the cursor of the page before it exists)."""
    from evlims.conf import evlims_settings

    return max(2, min(deepest, queryset.count() // evlims_settings.PAGE_SIZE))


def prepared_before(reference, large) -> bool:
    """Whether an earlier run on this kept database already computed metrics and compliance for the labs
    and opened the QA queue's reviews (the last step of that preparation)."""
    from evlims.compliance.models import Review

    return all(Review.objects.filter(lab=summary.lab).exists() for summary in (reference, large))


def page_urls(summary) -> list[tuple[str, str, str]]:
    """(name, url, role) of the pages and API lists measured, with a typical object of the lab.

    Deep pages are page 150 (or the list's last full page, counted on the list itself: the API lists produced
    preparations only, so its last page comes before the page list's), reached by page number (OFFSET) and by
    keyset cursor; the cursor is the one the page before it links to.
    """
    from django.urls import reverse

    from evlims.characterization.selectors import preparation_list
    from evlims.isolation.models import EVPreparation, IsolationRun
    from evlims.isolation.selectors import preparations_in_state
    from evlims.samples.selectors import sample_list

    lab, user = summary.lab, summary.users["staff"]
    run = IsolationRun.objects.filter(lab=lab, status="completed").order_by("-started_at", "-id").first()
    prep = EVPreparation.objects.filter(run=run).order_by("id").first()
    sample_id = prep.input_aliquot.sample_id
    deep_samples = deep_page(sample_list(user))
    deep_preps = deep_page(preparation_list(user))
    deep_api_preps = deep_page(preparations_in_state(preparation_list(user)))
    page_40 = deep_page(sample_list(user), 40)
    samples_after = deep_cursor(sample_list(user), deep_samples)
    preps_after = deep_cursor(preparation_list(user), deep_preps)
    samples, preps = reverse("evlims:sample-list"), reverse("evlims:preparation-list")
    return [
        ("sample list", samples, "staff"),
        ("sample list, filtered", samples + "?biofluid=blood_plasma&q=EVS", "staff"),
        (f"sample list, page {page_40}", samples + f"?page={page_40}", "staff"),
        ("sample list, deep page by number", samples + f"?page={deep_samples}", "staff"),
        ("sample list, deep page by cursor", samples + f"?after={samples_after}", "staff"),
        ("sample detail", reverse("evlims:sample-detail", args=[sample_id]), "staff"),
        ("run list", reverse("evlims:run-list"), "staff"),
        ("run page", reverse("evlims:run-detail", args=[run.pk]), "staff"),
        ("preparation list", preps, "staff"),
        ("preparation list, deep page by number", preps + f"?page={deep_preps}", "staff"),
        ("preparation list, deep page by cursor", preps + f"?after={preps_after}", "staff"),
        ("preparation page", reverse("evlims:preparation-detail", args=[prep.pk]), "staff"),
        ("QA queue", reverse("evlims:qa-queue"), "qa"),
        ("ingestion list", reverse("evlims:ingestion-list"), "staff"),
        ("dashboard", reverse("evlims:dashboard"), "staff"),
        ("method comparison", reverse("evlims:dashboard-comparison"), "staff"),
        ("API samples", "/api/v1/samples/", "staff"),
        ("API samples, deep page by number", f"/api/v1/samples/?page={deep_samples}", "staff"),
        ("API samples, deep page by cursor", f"/api/v1/samples/?cursor={samples_after}", "staff"),
        ("API aliquots", "/api/v1/aliquots/", "staff"),
        ("API measurements", "/api/v1/measurements/", "staff"),
        ("API runs", "/api/v1/runs/", "staff"),
        ("API preparations", "/api/v1/preparations/", "staff"),
        ("API preparations, deep page by number", f"/api/v1/preparations/?page={deep_api_preps}", "staff"),
        ("API preparations, deep page by cursor", f"/api/v1/preparations/?cursor={preps_after}", "staff"),
    ]


# Pages that keep rendered figures in Django's cache: measured warm (a repeated view) and cold (the first
# view after the lab's data changed), so the cache cannot hide what a changed lab costs.
CACHED_PAGES = ("dashboard", "method comparison")


def time_requests(client, url, repeat, *, cold=False, cpu=None) -> list[float]:
    """Wall milliseconds of ``repeat`` requests; with a ``cpu`` list, this process's CPU milliseconds are added
    to it (what a loaded machine does not inflate by making the request wait for a core)."""
    from django.core.cache import cache

    for _ in range(2):  # warm caches (templates, rule sets, vocabulary)
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    times = []
    for _ in range(repeat):
        if cold:
            cache.clear()
        elapsed, used = cpu_timed(lambda: client.get(url))
        times.append(elapsed * 1000)
        if cpu is not None:
            cpu.append(used * 1000)
    return times


def prepare_reviews(summary, share=0.02):
    """Submitted reviews of a share of the evaluated preparations, so the QA queue has work to show."""
    from django.utils import timezone

    from evlims.compliance.models import Review
    from evlims.isolation.models import EVPreparation

    evaluated = EVPreparation.objects.filter(lab=summary.lab, evaluation__isnull=False).order_by("id")
    step = max(1, round(1 / share))
    ids = list(evaluated.values_list("pk", flat=True))[::step]
    now = timezone.now()
    Review.objects.bulk_create(
        [
            Review(lab=summary.lab, preparation_id=pk, submitted_by=summary.users["staff"], submitted_at=now)
            for pk in ids
        ]
    )


def pages(results, options, reference, large):
    from django.db import connection
    from django.test import Client

    if connection.vendor == "postgresql":
        # The planner's statistics as autovacuum leaves them after a bulk load: without them PostgreSQL
        # guesses a few dozen rows per lab and picks plans no running database would use.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # As the site's start-up does (config/wsgi.py): what is loaded by now leaves the cyclic collector's reach, so
    # a full collection walking the bench's own leftovers from loading the labs is not timed as a page's cost.
    gc.collect()
    gc.freeze()
    baseline_client = Client()
    baseline_client.force_login(large.users["staff"])
    noop = time_requests(baseline_client, "/bench/noop/", options.repeat * 2)
    base = statistics.median(noop)
    results.add("pages", "baseline: trivial view", base, "ms", base, p95=percentile(noop, 0.95), queries=0)
    for label, summary in (("small", reference), ("large", large)):
        clients = {}
        for role in ("staff", "qa"):
            clients[role] = Client()
            clients[role].force_login(summary.users[role])
        measured = [(name, url, role, False) for name, url, role in page_urls(summary)]
        measured += [
            (f"{name}, first view after a change", url, role, True)
            for name, url, role, _ in measured
            if name in CACHED_PAGES
        ]
        for name, url, role, cold in measured:
            client = clients[role]
            if cold:
                from django.core.cache import cache

                cache.clear()
            queries, _ = count_queries(lambda client=client, url=url: client.get(url))
            cpu = []
            times = time_requests(client, url, options.repeat, cold=cold, cpu=cpu)
            results.add(
                "pages",
                f"{name} [{label}]",
                statistics.median(times),
                "ms",
                base,
                p95=percentile(times, 0.95),
                queries=queries,
                url=url,
                lab_preparations=summary.counts["preparations"],
            )
            if cold:  # the same requests in CPU time: on a loaded machine the wall time's p95 is mostly waiting
                results.add(
                    "pages",
                    f"CPU of the {name} [{label}]",
                    statistics.median(cpu),
                    "ms CPU",
                    p95=percentile(cpu, 0.95),
                    url=url,
                    lab_preparations=summary.counts["preparations"],
                )


def read_frames(ids):
    """The baseline of a recompute: the rows compute_for reads, straight into DataFrames."""
    import pandas as pd

    from evlims.characterization.models import Measurement, SizeBin
    from evlims.isolation.models import EVPreparation

    preps = pd.DataFrame(
        list(
            EVPreparation.objects.filter(pk__in=ids).values_list(
                "pk", "lab_id", "input_volume_ul", "final_volume_ul", "input_aliquot__sample__volume_ml"
            )
        )
    )
    values = pd.DataFrame(
        list(
            Measurement.objects.filter(preparation_id__in=ids, kind__in=["particle", "protein"]).values_list(
                "pk", "preparation_id", "values"
            )
        )
    )
    bins = pd.DataFrame(
        list(
            SizeBin.objects.filter(analysis__measurement__preparation_id__in=ids).values_list(
                "analysis__measurement__preparation_id", "bin_center_nm", "concentration_per_ml"
            )
        )
    )
    return len(preps) + len(values) + len(bins)


def metrics(results, options, reference, large):
    """The full recompute over figures already stored (as a lab's nightly recompute finds them), then into an
    empty table (a lab's first), each in wall and CPU time against the pandas read of the same rows; then the
    incremental recompute of one preparation."""
    from evlims.isolation.models import EVPreparation
    from evlims.metrics import services
    from evlims.metrics.models import PreparationMetrics

    for summary in (reference, large):
        ids = list(EVPreparation.objects.filter(lab=summary.lab).order_by("pk").values_list("pk", flat=True))
        chunks = [ids[start : start + services.CHUNK] for start in range(0, len(ids), services.CHUNK)]
        read, read_cpu = cpu_timed(lambda chunks=chunks: sum(read_frames(chunk) for chunk in chunks))
        queries, (full, cpu) = count_queries(lambda ids=ids: cpu_timed(lambda: services.recompute(ids)))
        if summary is not large:
            continue
        name = f"full recompute, {len(ids):,} preparations"
        results.add("metrics", name, full, "s", read, queries=queries, cpu_s=cpu, read_cpu_s=read_cpu)
        results.add("metrics", f"{name}, CPU", cpu, "s", read_cpu, queries=queries)
        PreparationMetrics.objects.filter(preparation_id__in=ids).delete()
        queries, (full, cpu) = count_queries(lambda ids=ids: cpu_timed(lambda: services.recompute(ids)))
        results.add("metrics", f"{name} into an empty table", full, "s", read, queries=queries, cpu_s=cpu)
        results.add("metrics", f"{name} into an empty table, CPU", cpu, "s", read_cpu, queries=queries)
    one = ids[len(ids) // 2]
    base = [timed(lambda: read_frames([one]))[0] * 1000 for _ in range(options.repeat)]
    times = [timed(lambda: services.recompute([one]))[0] * 1000 for _ in range(options.repeat)]
    queries, _ = count_queries(lambda: services.recompute([one]))
    results.add(
        "metrics",
        "incremental recompute, 1 preparation",
        statistics.median(times),
        "ms",
        statistics.median(base),
        p95=percentile(times, 0.95),
        queries=queries,
    )


def compliance(results, options, reference, large):
    from evlims.compliance.evaluator import evaluate_many
    from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
    from evlims.compliance.services import evaluate_preparations
    from evlims.isolation.models import EVPreparation

    small_ids = list(EVPreparation.objects.filter(lab=reference.lab).values_list("pk", flat=True))
    evaluate_preparations(small_ids)
    ids = list(EVPreparation.objects.filter(lab=large.lab).order_by("pk").values_list("pk", flat=True))
    ids = ids[:COMPLIANCE_BATCH]
    documents = list(experiment_documents(preparations_with_evidence(ids)).values())
    # CPU time of this process next to wall time: on a shared machine the wall clock mostly measures the
    # other work, while the ratio of CPU times is what the code costs (docs/performance.md).
    # One untimed pass first: the process's first batch of this size also pays for growing its heap (page faults
    # are CPU time of the process), which made the baseline up to 1.8 times slower than the same evaluator inside
    # the batch after it, and the ratio look better than it is.
    evaluate_many(documents)
    pure, pure_cpu = cpu_timed(lambda: evaluate_many(documents))
    queries, ((end_to_end, end_to_end_cpu), count) = count_queries(
        lambda: (cpu_timed(lambda: evaluate_preparations(ids, force=True)), len(ids))
    )
    results.add(
        "compliance",
        f"evaluate_preparations, {len(ids):,} preparations",
        end_to_end_cpu,
        "s CPU",
        pure_cpu,
        queries=queries,
        evaluated=count,
        wall_seconds=end_to_end,
        wall_ratio=end_to_end / pure,
    )
    results.add(
        "compliance",
        f"wall time of evaluate_preparations, {len(ids):,} preparations",
        end_to_end,
        "s",
        pure,
    )
    results.add(
        "compliance",
        f"pure evaluate_many, {len(ids):,} documents",
        len(ids) / pure_cpu,
        "docs/s",
        len(ids) / pure_cpu,
        wall_rate=len(ids) / pure,
    )
    # A second forced run with its phases clocked: each phase next to the pure evaluator, so the rows show what
    # the batch spends beside evaluating and which part the ratio's target would have to come from.
    phases = compliance_phases.measure(ids)
    for words, spent in phases.cpu.items():
        results.add(
            "compliance",
            f"  of which {words}",
            spent,
            "s CPU",
            pure_cpu,
            phase_of="evaluate_preparations",
            wall_seconds=phases.wall[words],
        )
    for summary in (reference, large):
        prepare_reviews(summary)


def sample_import(results, options):
    import bench_import
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection, transaction

    from evlims.core.models import Lab, Membership, Project, Role
    from evlims.samples.models import Aliquot, Sample
    from evlims.samples.services import manifests

    rows = options.import_rows
    # A lab and user of this run's own: a kept database (--reuse) may hold the ones of an earlier run.
    run_tag = uuid.uuid4().hex[:8]
    lab = Lab.objects.create(name=f"Import bench lab {run_tag}", slug=f"import-bench-lab-{run_tag}")
    project = Project.objects.create(lab=lab, code="BENCH", title="Import benchmark")
    user = get_user_model().objects.create_user(f"import-bench-{run_tag}", password="bench-password-1")
    Membership.objects.create(user=user, lab=lab, role=Role.LAB_STAFF)
    barcode_prefix = f"BENCH{run_tag}".upper()
    data = bench_import.manifest(rows, barcode_prefix)

    def bulk_rows():
        samples = Sample.objects.bulk_create(
            [
                Sample(
                    lab=lab,
                    project=project,
                    barcode=f"{barcode_prefix}-{n:06d}",
                    external_id=f"SITE-{n}",
                    biofluid="blood_plasma",
                    volume_ml=4,
                    collected_at=dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC),
                    anticoagulant="k2_edta",
                )
                for n in range(rows)
            ],
            batch_size=2000,
        )
        Aliquot.objects.bulk_create(
            [
                Aliquot(lab=lab, sample=s, barcode=f"{s.barcode}-{i}", initial_volume_ul=500, volume_ul=500)
                for s in samples
                for i in (1, 2)
            ],
            batch_size=2000,
        )

    def statements(function):
        """(statements sent, seconds, result): counted by an execute wrapper, which costs nothing measurable,
        unlike capturing every statement's SQL."""
        sent = []

        def count(execute, sql, params, many, context):
            sent.append(1)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            seconds, result = timed(function)
        return len(sent), seconds, result

    with transaction.atomic():
        baseline_queries, baseline, _ = statements(bulk_rows)
        transaction.set_rollback(True)
    upload = SimpleUploadedFile("bench.csv", data, content_type="text/csv")
    uploaded = manifests.manifest_upload(actor=user, project=project, uploaded_file=upload)
    validate, checked = timed(lambda: manifests.manifest_validate(manifest=uploaded, actor=user))
    if checked.status != checked.Status.VALID:
        raise SystemExit(f"bench manifest refused: {checked.errors[:3]}")
    commit_queries, commit, committed = statements(lambda: manifests.manifest_commit(manifest=checked, actor=user))
    assert committed.samples_created == rows and Aliquot.objects.filter(lab=lab).count() == 2 * rows
    results.add("import", f"manifest dry run, {rows:,} rows", rows / validate, "rows/s", rows / baseline)
    results.add(
        "import", f"manifest commit, {rows:,} rows", rows / commit, "rows/s", rows / baseline, queries=commit_queries
    )
    results.add(
        "import",
        f"bulk_create of the same rows, {rows:,}",
        rows / baseline,
        "rows/s",
        rows / baseline,
        queries=baseline_queries,
    )


def ingest(results, options):
    script_figure(results, "ingest", ["--n", str(options.ingest_n), "--files", "10"])


def fcs(results, options):
    script_figure(results, "fcs", [])


def http(results, options):
    """bench_http.py's posts per second and server time (gunicorn's access log) as rows; PostgreSQL only."""
    if options.database != "postgres":
        print("  http       needs --database postgres (and Redis): skipped")
        return
    server = options.pg_url.rsplit("/", 1)[0]
    command = [sys.executable, str(BENCH / "bench_http.py"), "--posts", "1000"]
    command += ["--pg-url", f"{server}/evlims_bench_http"]
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    finished = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800, check=False)
    rate = re.search(r"posts per second\s+([\d.]+)", finished.stdout)
    served = re.search(r"server time \(access log\)\s+p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms", finished.stdout)
    cpu = re.search(r"web process CPU per post\s+([\d.]+) ms", finished.stdout)
    if finished.returncode != 0 or not (rate and served and cpu):
        output = (finished.stdout + finished.stderr).strip()[-300:]
        print(f"  http       bench_http.py failed ({finished.returncode}): {output}")
        return
    name = "API over HTTP, one result per post (1 gunicorn process, 1 worker)"
    results.add("http", name, float(rate[1]), "results/s", web_cpu_ms=float(cpu[1]))
    results.add("http", "API over HTTP, server time a post (p50)", float(served[1]), "ms", p95=float(served[2]))


def script_figure(results, figure, arguments):
    """Run bench/bench_<figure>.py in a subprocess and read its lines; the first line read is the baseline, and
    a line whose label ends in "(baseline)" is the baseline of the lines after it."""
    script = BENCH / f"bench_{figure}.py"
    if not script.exists():
        print(f"  {figure:<10} bench/{script.name} not found: skipped")
        return
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    command = [sys.executable, str(script), *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    if finished.returncode != 0:
        print(f"  {figure:<10} {script.name} failed ({finished.returncode}): {finished.stderr.strip()[-300:]}")
        return
    # "<label> <count> <unit> <seconds> s <rate> <unit>/s …"
    pattern = re.compile(r"^(?P<label>.+?)\s+(?P<count>[\d,]+) (?P<unit>\w+)\s+[\d.]+ s\s+(?P<rate>[\d.,]+) \S+/s")
    baseline_rate = None
    for line in finished.stdout.splitlines():
        match = pattern.match(line.strip())
        if not match:
            continue
        rate = float(match["rate"].replace(",", ""))
        if baseline_rate is None or match["label"].strip().endswith("(baseline)"):
            baseline_rate = rate
        results.add(figure, match["label"].strip(), rate, f"{match['unit']}/s", baseline_rate)


def print_header(results):
    meta = results.meta
    print(
        f"evlims bench — {meta['date']} — {meta['database']} — {meta['machine']['cpus']} CPUs — "
        f"large lab {meta['scale']['large_preparations']:,} preparations, reference lab "
        f"{meta['scale']['reference_preparations']:,}"
    )
    print(f"  load average at the start: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")
    print(f"  {machine.reference_line(meta['machine']['reference_ms'])}")
    print(f"  {'figure':<10} {'name':<58} {'value':>12} {'unit':<9}{'':<14} {'÷ baseline':>10} {'SQL':>7}")


def main(argv=None):
    options = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="evlims-bench-"))
    try:
        url = configure(options, workdir)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        results = Results(options, url)
        print_header(results)
        needs_data = set(options.figures) & {"generate", "pages", "metrics", "compliance"}
        if needs_data:
            reference, large = generate_data(results, options)
        # A kept database prepared by an earlier run needs no second metric and compliance pass for pages;
        # the compliance figure opens the reviews again, so the bench's own earlier ones go first.
        prepared = bool(needs_data) and options.reuse and prepared_before(reference, large)
        if prepared and "compliance" in options.figures:
            from evlims.compliance.models import Review

            Review.objects.filter(lab__in=[reference.lab, large.lab]).delete()
        if "metrics" in options.figures or ("pages" in options.figures and not prepared):
            metrics_results = results if "metrics" in options.figures else Results(options, url, quiet=True)
            metrics(metrics_results, options, reference, large)
        if "compliance" in options.figures or ("pages" in options.figures and not prepared):
            compliance_results = results if "compliance" in options.figures else Results(options, url, quiet=True)
            compliance(compliance_results, options, reference, large)
        if "pages" in options.figures:
            pages(results, options, reference, large)
        if "import" in options.figures:
            sample_import(results, options)
        if "ingest" in options.figures:
            ingest(results, options)
        if "fcs" in options.figures:
            fcs(results, options)
        if "http" in options.figures:
            http(results, options)
        results.meta["load_average_end"] = os.getloadavg()
        print(f"  load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")
        print(f"results: {results.write().relative_to(ROOT)}")
        connections.close_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
