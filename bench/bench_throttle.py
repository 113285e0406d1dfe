"""The instrument key's throttle per request at line rate: DRF's sliding log against the token bucket it uses.

    .venv/bin/python bench/bench_throttle.py                       # 300 posts/s, a rate of 20,000/min
    .venv/bin/python bench/bench_throttle.py --per-second 50 --rate 600/min

Both throttles read and write the shared cache as the web processes do (Redis, ``--redis-url``; the database is
emptied at the start and the end). The sliding log is first filled with a minute of requests at ``--per-second``
(its steady state), then each throttle decides ``--n`` requests, the clock advancing one request's share of a
second each time. Printed: CPU and wall milliseconds a request, and their ratio to the token bucket's.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="a Redis database of its own")
    parser.add_argument("--rate", default="20000/min", help="the key's budget (default 20000/min)")
    parser.add_argument("--per-second", type=float, default=300.0, help="requests a second (default 300)")
    parser.add_argument("--n", type=int, default=1000, help="requests timed per throttle (default 1000)")
    return parser.parse_args()


def main():
    options = parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        REDIS_URL=options.redis_url,
        EVLIMS_INSTRUMENT_KEY_RATE=options.rate,
    )
    import django

    django.setup()
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    from evlims.api.authentication import InstrumentPrincipal
    from evlims.api.throttling import InstrumentKeyRateThrottle

    class SlidingLog(SimpleRateThrottle):
        """DRF's own: the time of every request in the window, kept as one list in the cache."""

        scope = "instrument_key"

        def get_cache_key(self, request, view):
            return f"bench-sliding-log-{request.user.key.prefix}"

    principal = InstrumentPrincipal.__new__(InstrumentPrincipal)  # only its key's prefix is read
    principal.key = SimpleNamespace(prefix="bench")
    request = SimpleNamespace(user=principal)
    clock = [1_000_000.0]

    def decide(throttle_class, count: int) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            clock[0] += 1 / options.per_second
            throttle = throttle_class()
            throttle.timer = lambda: clock[0]
            if not throttle.allow_request(request, None):
                raise SystemExit(f"{throttle_class.__name__} refused: raise --rate above --per-second")
        return (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000

    cache.clear()
    try:
        decide(SlidingLog, int(options.per_second * 60))  # a minute of requests: the log's steady state
        decide(InstrumentKeyRateThrottle, 100)
        print(f"instrument key throttle, {options.per_second:g} requests/s at {options.rate}, Redis cache")
        for _ in range(2):
            bucket = decide(InstrumentKeyRateThrottle, options.n)
            log = decide(SlidingLog, options.n)
            for label, (cpu, wall) in (("token bucket (baseline)", bucket), ("DRF sliding log", log)):
                print(
                    f"  {label:<24} CPU {cpu:6.3f} ms  wall {wall:6.3f} ms a request   "
                    f"×{cpu / bucket[0]:5.1f} CPU  ×{wall / bucket[1]:5.1f} wall"
                )
    finally:
        cache.clear()


if __name__ == "__main__":
    main()
