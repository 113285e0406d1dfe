"""Isolation runs following the shipped protocol library, their recorded steps and EV preparations."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from evlims.conf import evlims_settings
from evlims.core.barcodes import issue_barcodes
from evlims.isolation.models import EVPreparation, IsolationRun, RunStep
from protocols import separation_method

from ..isolation import FIGURES, PROTOCOLS_BY_BIOFLUID
from .samples import AliquotRow, write_aliquots
from .sizes import CHUNK, split, split_weighted

COMPLETED, ABORTED = IsolationRun.Status.COMPLETED.value, IsolationRun.Status.ABORTED.value
PLANNED, IN_PROGRESS = IsolationRun.Status.PLANNED.value, IsolationRun.Status.IN_PROGRESS.value
STATUS_SHARES = {PLANNED: 0.01, IN_PROGRESS: 0.01, ABORTED: 0.02}  # the newest runs are still open
RUN_FIELDS = (
    "lab_id",
    "project_id",
    "code",
    "protocol_version_id",
    "protocol_name",
    "method",
    "status",
    "operator_id",
    "equipment",
    "started_at",
    "completed_at",
    "abort_reason",
)
STEP_FIELDS = ("run_id", "number", "method", "observed", "recorded_by_id")
PREPARATION_FIELDS = (
    "lab_id",
    "run_id",
    "input_aliquot_id",
    "barcode",
    "input_volume_ul",
    "final_volume_ul",
    "buffer",
    "storage",
)


@dataclass(slots=True)
class RunRow:
    code: str
    status: str
    operator_id: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    version: object  # the ProtocolVersion followed
    slug: str
    pk: int | None = None


@dataclass(slots=True)
class PreparationRow:
    pk: int
    run: RunRow
    biofluid: str
    input_volume_ul: Decimal


def capped(wanted: list[int], capacities: list[int]) -> list[int]:
    """Counts moved from pools that cannot hold them to pools with room left (and runs), keeping the total."""
    counts = [min(count, capacity) for count, capacity in zip(wanted, capacities, strict=True)]
    missing = sum(wanted) - sum(counts)
    for index, capacity in enumerate(capacities):
        if missing <= 0:
            break
        if wanted[index]:
            moved = min(missing, capacity - counts[index])
            counts[index] += moved
            missing -= moved
    return counts


def statuses(count: int) -> list[str]:
    """Run statuses in plan order: completed, then a few aborted, in progress and planned at the end
    (from five runs on, at least one of each)."""
    tail = []
    for status, share in STATUS_SHARES.items():
        tail += [status] * (max(1, round(count * share)) if count >= 5 else 0)
    return [COMPLETED] * (count - len(tail)) + tail[::-1]


def _pools(aliquots: list[AliquotRow]):
    """Unused tubes per (project, biofluid) in collection order, first aliquots of each sample before
    second ones; and the first round alone, which sets how many runs a pool gets."""
    by_round: dict[tuple[int, str], list[list[AliquotRow]]] = {}
    per_sample: dict[int, int] = {}
    for aliquot in aliquots:
        key = (aliquot.sample.project_id, aliquot.sample.biofluid)
        round_number = per_sample.get(aliquot.sample.pk, 0)
        per_sample[aliquot.sample.pk] = round_number + 1
        rounds = by_round.setdefault(key, [])
        while len(rounds) <= round_number:
            rounds.append([])
        rounds[round_number].append(aliquot)
    pools = {key: [aliquot for batch in rounds for aliquot in batch] for key, rounds in by_round.items()}
    return pools, {key: len(rounds[0]) for key, rounds in by_round.items()}


def write_runs(rng, writer, lab, users, aliquots: list[AliquotRow], size, versions):
    """Runs spread over the projects by their samples; each takes unused aliquots of one biofluid. Writes
    the tubes, the runs, their steps and preparations; returns the runs, the preparations and the number
    of steps."""
    pools, first_round = _pools(aliquots)
    keys = sorted(key for key in pools if any(slug in versions for slug in PROTOCOLS_BY_BIOFLUID.get(key[1], {})))
    run_counts = split_weighted(size.runs, [first_round[key] for key in keys])
    prep_counts = capped(split_weighted(size.preparations, run_counts), [len(pools[key]) for key in keys])
    plans = []  # (key, preparations of the run)
    for key, runs, preps in zip(keys, run_counts, prep_counts, strict=True):
        runs = min(runs, preps)
        plans += [(key, count) for count in split(preps, runs)] if runs else []
    rng.shuffle(plans)
    run_codes = issue_barcodes("RUN", len(plans))
    cursor = dict.fromkeys(keys, 0)
    operators = [users["staff"].pk, users["admin"].pk]
    runs, run_rows, run_inputs = [], [], []
    for (key, count), status, code in zip(plans, statuses(len(plans)), run_codes, strict=True):
        weights = {slug: w for slug, w in PROTOCOLS_BY_BIOFLUID[key[1]].items() if slug in versions}
        slug = rng.choices(list(weights), weights=list(weights.values()))[0]
        version, figures = versions[slug], FIGURES[slug]
        inputs = pools[key][cursor[key] : cursor[key] + count]
        cursor[key] += count
        latest = max(aliquot.sample.collected_at for aliquot in inputs)
        started = None if status == PLANNED else latest + dt.timedelta(days=rng.randint(2, 30))
        completed = started + dt.timedelta(hours=rng.randint(3, 30)) if status == COMPLETED else None
        run = RunRow(code, status, rng.choice(operators), started, completed, version, slug)
        runs.append(run)
        run_inputs.append(inputs)
        run_rows.append(
            (lab.pk, key[0], code, version.pk, f"{version.protocol.title} v{version.version}")
            + (
                separation_method(version.definition.get("steps") or []),
                status,
                run.operator_id,
                figures.equipment,
                started,
                completed,
            )
            + ("Column clogged while loading; inputs lost." if status == ABORTED else "",)
        )
        for aliquot in inputs:
            if started is not None:
                aliquot.used_ul, aliquot.used_by = min(Decimal(figures.input_ul), aliquot.initial_ul), run
    write_aliquots(writer, lab, aliquots)
    for start in range(0, len(run_rows), CHUNK):
        ids = writer.write(IsolationRun, RUN_FIELDS, run_rows[start : start + CHUNK])
        for run, pk in zip(runs[start : start + CHUNK], ids, strict=True):
            run.pk = pk
    steps = _write_steps(writer, runs)
    prep_count = sum(count for _, count in plans)
    return runs, _write_preparations(writer, lab, runs, run_inputs, prep_count), steps


def _write_steps(writer, runs: list[RunRow]) -> int:
    """Every step of a completed run, the first half of an aborted or open one, none of a planned one."""
    batch, total = [], 0
    for run in runs:
        if run.status == PLANNED:
            continue
        steps = run.version.steps
        recorded = len(steps) if run.status == COMPLETED else max(1, len(steps) // 2)
        for number, step in enumerate(steps[:recorded], start=1):
            batch.append((run.pk, number, step["method"], dict(step.get("params") or {}), run.operator_id))
        if len(batch) >= CHUNK:
            total += len(writer.write(RunStep, STEP_FIELDS, batch))
            batch = []
    return total + len(writer.write(RunStep, STEP_FIELDS, batch))


def _write_preparations(writer, lab, runs, run_inputs, count: int) -> list[PreparationRow]:
    """One preparation per input tube; those of completed runs have their final volume and storage."""
    barcodes = iter(issue_barcodes(evlims_settings.PREPARATION_BARCODE_PREFIX, count))
    preparations: list[PreparationRow] = []
    batch, kept = [], []

    def flush():
        ids = writer.write(EVPreparation, PREPARATION_FIELDS, batch)
        preparations.extend(PreparationRow(pk, *values) for pk, values in zip(ids, kept, strict=True))
        batch.clear()
        kept.clear()

    for run, inputs in zip(runs, run_inputs, strict=True):
        figures = FIGURES[run.slug]
        done = run.status == COMPLETED
        for aliquot in inputs:
            volume = min(Decimal(figures.input_ul), aliquot.initial_ul)
            batch.append(
                (lab.pk, run.pk, aliquot.pk, next(barcodes), volume, Decimal(figures.final_ul) if done else None)
                + ("PBS" if done else "", "−80 °C, preparation boxes" if done else "")
            )
            kept.append((run, aliquot.sample.biofluid, volume))
        if len(batch) >= CHUNK:
            flush()
    flush()
    return preparations
