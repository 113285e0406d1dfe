"""Profile one hot path on the kept bench database (var/bench.sqlite3, loaded by ``bench/run.py --reuse``):

    .venv/bin/python bench/run.py --reuse --only compliance          # once: loads the labs
    .venv/bin/python bench/profile_paths.py evaluate                  # pure evaluate_many
    .venv/bin/python bench/profile_paths.py documents                 # building the documents
    .venv/bin/python bench/profile_paths.py preparations              # evaluate_preparations end to end

Prints cProfile's top functions by own time and by cumulative time (docs/performance.md keeps the summaries).
"""

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", choices=["evaluate", "documents", "preparations"])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    options = run.parse_args(["--reuse", "--only", "compliance"])
    run.configure(options, Path(tempfile.mkdtemp(prefix="evlims-profile-")))
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
    elif args.path == "documents":
        target = lambda: experiment_documents(preparations_with_evidence(ids))  # noqa: E731
    else:
        target = lambda: evaluate_preparations(ids, force=True)  # noqa: E731
    profile = cProfile.Profile()
    profile.runcall(target)
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
