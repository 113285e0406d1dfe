"""Capacity on paper, with a small simulation: how many instrument posts per second one PostgreSQL and N
workers carry, which resource saturates first, and what 10x the load needs (docs/performance.md).

    .venv/bin/python bench/capacity.py                       # the figures of docs/performance.md
    .venv/bin/python bench/capacity.py --workers 4 --db-cores 8 --labs 50

The costs per operation are inputs (defaults: measured on the development machine, see docs/performance.md,
in CPU milliseconds so they do not depend on the machine's load). Each post of one result costs web CPU and
database time in the request and one message through the broker (Redis; two with separate queues), then a
compliance refresh and an incremental metric recompute in a worker (each also with database time). The model
finds the post rate at which each resource (web processes, workers, database cores, the broker, the audit chain
every write passes one at a time) is fully busy;
the simulation then offers Poisson arrivals to those servers and reports the p95 time a post waits for its
refresh, so the knee of the curve is visible before the saturation point.
"""

import argparse
import heapq
import random
import statistics

# The median of three runs' p50 since a result post appends its event last (1.27, 1.41, 1.62 ms; before it 1.72,
# 1.82, 2.10 in the same minutes; PostgreSQL on a 2-core machine, load 1.5-1.8).
AUDIT_CHAIN_MS = 1.41

# CPU milliseconds per operation (docs/performance.md, "Capacity"); each says whether it was measured.
DEFAULTS = {
    # One result through POST /api/v1/results/, refreshes in workers: measured (docs/performance.md, "One result per
    # post, second pass"), PostgreSQL, bench_ingest.py's handler: server CPU p50 7.2 ms; wall minus CPU 2.6 ms, the
    # time the request waits on its 13 statements and its commit (round trips included). The third pass cut the
    # CPU by the ratio measured old against new on PostgreSQL (median of three pairs, 8.63 -> 7.43 ms at load 3-4):
    # 7.2 x 7.43 / 8.63 = 6.2 ms.
    "post_web_ms": 6.2,
    "post_db_ms": 2.6,
    "refresh_worker_ms": 2.2,  # evaluate_preparations of one preparation, CPU (6.4 s / 3,000 on the bench)
    "refresh_db_ms": 1.0,  # its reads and upsert (assumed)
    "metric_worker_ms": 25.0,  # incremental metric recompute of one preparation (bench: 25 ms median)
    "metric_db_ms": 5.0,  # its reads and upsert (assumed: a fifth)
    # Redis as Celery's broker: server CPU of one task sent, consumed and acknowledged through kombu, measured by
    # bench/bench_broker.py (112 us on the development machine); a post sends its compliance refresh and metric job
    # as one message (core.hooks.run_together) when they share a queue, as two with CELERY_TASK_ROUTES
    # (--tasks-per-post 2).
    "broker_task_ms": 0.112,
    "tasks_per_post": 1,
    # The audit chain: every write locks the chain's head from the event's read of the last hash to the end of its
    # commit, so the site's writes pass it one at a time. Measured by bench_ingest.py --database postgres ("audit
    # chain head held", p50 of 200 posts, the commit's WAL flush included; docs/performance.md, "Capacity").
    "audit_chain_ms": AUDIT_CHAIN_MS,
}


def saturation(costs, *, web, workers, db_cores):
    """{resource: posts/s at which it is fully busy} for one post = one result of one preparation."""
    per_post = {
        "web processes": costs["post_web_ms"] / web,
        "workers": (costs["refresh_worker_ms"] + costs["metric_worker_ms"]) / workers,
        "database": (costs["post_db_ms"] + costs["refresh_db_ms"] + costs["metric_db_ms"]) / db_cores,
        # Redis runs its commands on one thread: more cores do not raise this limit, a second broker does.
        "broker": costs["broker_task_ms"] * costs["tasks_per_post"],
        # One row locked until each post commits: neither cores nor processes raise this limit, a chain per lab does.
        "audit chain": costs["audit_chain_ms"],
    }
    return {name: 1000 / ms for name, ms in per_post.items()}


def simulate(rate, costs, *, workers, seconds=60.0, seed=1):
    """p50 and p95 seconds from a post's arrival until its refresh finished, with ``workers`` worker processes
    taking refresh jobs first come first served (the web side is not the bottleneck here)."""
    rng = random.Random(seed)
    service = (costs["refresh_worker_ms"] + costs["metric_worker_ms"]) / 1000
    free = [0.0] * workers
    heapq.heapify(free)
    now, delays = 0.0, []
    while now < seconds:
        now += rng.expovariate(rate)
        start = max(now, heapq.heappop(free))
        done = start + rng.expovariate(1 / service)
        heapq.heappush(free, done)
        delays.append(done - now)
    delays.sort()
    return statistics.median(delays), delays[int(0.95 * (len(delays) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web", type=int, default=1, help="web processes (one core each)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db-cores", type=int, default=1, help="database cores given to evlims")
    parser.add_argument("--labs", type=int, default=10)
    parser.add_argument("--posts-per-lab-hour", type=float, default=600, help="a busy lab's instrument posts")
    for name, value in DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=value)
    options = parser.parse_args()
    costs = {name: getattr(options, name) for name in DEFAULTS}
    limits = saturation(costs, web=options.web, workers=options.workers, db_cores=options.db_cores)
    first = min(limits, key=limits.get)
    offered = options.labs * options.posts_per_lab_hour / 3600
    print(f"{options.web} web, {options.workers} worker(s), {options.db_cores} database core(s):")
    for name, rate in sorted(limits.items(), key=lambda item: item[1]):
        print(f"  {name:<14} saturate at {rate:8.1f} posts/s")
    print(
        f"  first to saturate: {first}; {options.labs} labs at {options.posts_per_lab_hour:.0f} posts/h offer "
        f"{offered:.1f} posts/s ({offered / limits[first]:.0%} of it)"
    )
    print(f"  labs carried at 70% of the first limit: {int(0.7 * limits[first] * 3600 / options.posts_per_lab_hour)}")
    worker_limit = limits["workers"]
    print("  refresh delay with Poisson arrivals (p50 / p95 seconds):")
    for share in (0.5, 0.7, 0.9, 0.97):
        p50, p95 = simulate(share * worker_limit, costs, workers=options.workers)
        print(f"    {share:4.0%} of the workers' limit ({share * worker_limit:6.1f} posts/s): {p50:6.3f} / {p95:6.3f}")


if __name__ == "__main__":
    main()
