"""The dashboard and the method comparison, first view after a change (cache cleared before each request), on the
kept bench database: CPU time per view (time.process_time, so other work on a loaded machine is not counted) and,
with ``--profile``, cProfile's top functions of one more cold view.

    .venv/bin/python bench/run.py --scale 2000 --reuse --sqlite-path /tmp/bench.sqlite3 --only pages   # loads
    .venv/bin/python bench/profile_pages.py --scale 2000 --sqlite-path /tmp/bench.sqlite3 [--profile]

The labs are the ones ``bench/run.py`` measures: the 200-preparation reference lab and the large one.
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default=run.DEFAULT_SCALE)
    parser.add_argument("--sqlite-path", type=Path)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    arguments = ["--reuse", "--only", "pages", "--scale", args.scale]
    options = run.parse_args(arguments + (["--sqlite-path", str(args.sqlite_path)] if args.sqlite_path else []))
    run.configure(options, Path(tempfile.mkdtemp(prefix="evlims-profile-")))
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    reference, large = run.generate_data(run.Results(options, "", quiet=True), options)
    pages = {"dashboard": reverse("evlims:dashboard"), "method comparison": reverse("evlims:dashboard-comparison")}
    for label, summary in (("reference", reference), ("large", large)):
        client = Client()
        client.force_login(summary.users["staff"])
        for name, url in pages.items():
            client.get(url)  # templates, rule sets and vocabularies loaded once
            times = []
            for _ in range(args.repeat):
                cache.clear()
                started = time.process_time()
                assert client.get(url).status_code == 200
                times.append((time.process_time() - started) * 1000)
            ordered = sorted(times)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(
                f"{name} [{label}, {summary.counts['preparations']} preparations], first view after a change: "
                f"CPU median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"
            )
            if args.profile:
                cache.clear()
                profile = cProfile.Profile()
                profile.runcall(client.get, url)
                stats = pstats.Stats(profile)
                stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
