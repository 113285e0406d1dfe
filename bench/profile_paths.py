"""Profile one hot path on the kept bench database (var/bench.sqlite3, loaded by ``bench/run.py --reuse``):

    .venv/bin/python bench/run.py --reuse --only compliance          # once: loads the labs
    .venv/bin/python bench/profile_paths.py evaluate                  # pure evaluate_many
    .venv/bin/python bench/profile_paths.py documents                 # building the documents
    .venv/bin/python bench/profile_paths.py preparations              # evaluate_preparations end to end
    .venv/bin/python bench/profile_paths.py phases                    # its phases in CPU time, no profiler
    .venv/bin/python bench/profile_paths.py dump --out docs.json      # the documents, as JSON, once
    .venv/bin/python bench/profile_paths.py time --documents docs.json [--no-validate]

Prints cProfile's top functions by own time and by cumulative time (docs/performance.md keeps the summaries).
``time`` needs no database: it times ``evaluate_many`` over the dumped documents in CPU time of this process, with
the evaluator of the checkout this file is in (run it from two checkouts one after the other to compare code).
"""

import argparse
import cProfile
import gc
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", choices=["evaluate", "documents", "preparations", "phases", "dump", "time"])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sqlite-path", help="the kept bench database (default: bench/run.py's)")
    parser.add_argument("--out", type=Path, help="dump: the JSON file to write")
    parser.add_argument("--documents", type=Path, help="time: the JSON file dump wrote")
    parser.add_argument("--no-validate", action="store_true", help="time: evaluate_many(validate=False)")
    parser.add_argument("--repeat", type=int, default=3, help="time: runs, each printed")
    args = parser.parse_args()
    if args.path == "time":
        return time_documents(args)
    options = run.parse_args(
        ["--reuse", "--only", "compliance"] + (["--sqlite-path", args.sqlite_path] if args.sqlite_path else [])
    )
    run.configure(options, Path(tempfile.mkdtemp(prefix="evlims-profile-")))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a database kept by an earlier run may predate the latest migration
    from evlims.compliance.evaluator import evaluate_many
    from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
    from evlims.compliance.services import evaluate_preparations
    from evlims.isolation.models import EVPreparation

    _, large = run.generate_data(run.Results(options, "", quiet=True), options)
    ids = list(EVPreparation.objects.filter(lab=large.lab).order_by("pk").values_list("pk", flat=True))[: args.count]
    if args.path == "evaluate":
        documents = list(experiment_documents(preparations_with_evidence(ids)).values())
        evaluate_many(documents[:10])
        target = lambda: evaluate_many(documents)  # noqa: E731
    elif args.path == "dump":
        documents = list(experiment_documents(preparations_with_evidence(ids)).values())
        args.out.write_text(json.dumps(documents), encoding="utf-8")
        print(f"{len(documents):,} documents written to {args.out}")
        return
    elif args.path == "phases":
        return print_phases(ids)
    elif args.path == "documents":
        target = lambda: experiment_documents(preparations_with_evidence(ids))  # noqa: E731
    else:
        target = lambda: evaluate_preparations(ids, force=True)  # noqa: E731
    profile = cProfile.Profile()
    profile.runcall(target)
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


def print_phases(ids):
    import compliance_phases

    compliance_phases.measure(ids[:20])
    phases = compliance_phases.measure(ids)
    total, total_wall = sum(phases.cpu.values()), sum(phases.wall.values())
    print(f"evaluate_preparations(force=True), {phases.count:,} preparations: {total:.2f} s CPU, {total_wall:.2f} s")
    for words, spent in phases.cpu.items():
        print(f"  {words:<52} {spent:6.2f} s CPU {spent / total:6.1%}   {phases.wall[words]:6.2f} s wall")


def time_documents(args):
    from evlims.compliance.evaluator import evaluate_many

    documents = json.loads(args.documents.read_text(encoding="utf-8"))[: args.count]
    evaluate_many(documents[:20])
    for _ in range(args.repeat):
        gc.collect()
        started = time.process_time()
        evaluate_many(documents, validate=not args.no_validate)
        spent = time.process_time() - started
        print(f"evaluate_many, {len(documents):,} documents: {len(documents) / spent:,.0f} documents/s of CPU", end="")
        print(f" (validate={not args.no_validate}; load {open('/proc/loadavg').read().split()[0]})")


if __name__ == "__main__":
    main()
