"""Where a forced ``evaluate_preparations`` spends its time, phase by phase, measured on the service's own path.

The batch (``evlims.compliance.services``) reads the records and builds the documents, hashes them, evaluates
them, turns each report into its stored form and summary, and writes the rows. Each of those steps is one
function the service calls by name; for the length of one call they are wrapped in a CPU and a wall clock here,
so the figures are those of the very code that runs, not of a copy of it. What no wrapped function covers (the
service's own loop, the rule sets' versions, the removal of unproduced preparations' evaluations) is given as
"the rest". The clocks themselves cost about 60,000 readings for 10,000 preparations (a few hundredths of a
second), which fall into the phases they wrap.

Used by ``bench/run.py`` (the compliance figure) and ``bench/profile_paths.py phases``.
"""

import time
from contextlib import contextmanager
from typing import NamedTuple

# (the phase in words, the module attribute the service calls it by): the module is services or the one named.
PHASES = (
    ("reading the records and building the documents", "services", "preparation_documents"),
    ("the evidence hash", "services", "canonical_hash"),
    ("the evaluator", "services", "evaluate_many"),
    ("the stored report's compact form", "services", "compact_report"),
    ("the summary (EV-METRIC, failed rules)", "services", "_summary"),
    ("writing the rows", "evaluation_rows", "write"),
)
REST = "the rest (the service's own loop and statements)"


def modules():
    """{module name in PHASES: the module}."""
    from evlims.compliance import evaluation_rows, services

    return {"services": services, "evaluation_rows": evaluation_rows}


@contextmanager
def phase_clocks():
    """Wraps the batch's phases in clocks while the block runs; yields ({phase in words: CPU seconds of this
    process}, {phase in words: wall seconds}). Wall time less CPU time is mostly the database server's work."""
    by_name = modules()
    spent = {words: 0.0 for words, _, _ in PHASES}
    waited = dict(spent)
    originals = []
    clock, wall_clock = time.process_time, time.perf_counter

    def clocked(words, function):
        def wrapper(*args, **kwargs):
            started, started_wall = clock(), wall_clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[words] += clock() - started
                waited[words] += wall_clock() - started_wall

        return wrapper

    try:
        for words, module_name, attribute in PHASES:
            module = by_name[module_name]
            original = getattr(module, attribute)
            originals.append((module, attribute, original))
            setattr(module, attribute, clocked(words, original))
        yield spent, waited
    finally:
        for module, attribute, original in originals:
            setattr(module, attribute, original)


class Phases(NamedTuple):
    cpu: dict[str, float]  # phase in words -> CPU seconds of this process, "the rest" included
    wall: dict[str, float]  # the same in wall seconds
    count: int  # preparations evaluated


def measure(preparation_ids) -> Phases:
    """One forced ``evaluate_preparations`` of ``preparation_ids`` with its phases clocked. The phases, the rest
    included, add up to the call's CPU time and to its wall time."""
    from evlims.compliance.services import evaluate_preparations

    with phase_clocks() as (spent, waited):
        started, started_wall = time.process_time(), time.perf_counter()
        count = evaluate_preparations(preparation_ids, force=True)
        total, total_wall = time.process_time() - started, time.perf_counter() - started_wall
    cpu, wall = dict(spent), dict(waited)
    cpu[REST] = max(total - sum(spent.values()), 0.0)
    wall[REST] = max(total_wall - sum(waited.values()), 0.0)
    return Phases(cpu, wall, count)
