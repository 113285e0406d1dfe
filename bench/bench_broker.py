"""The broker's share of a post: Redis CPU per Celery-style task sent, consumed and acknowledged through kombu
(the transport Celery uses), read from Redis' own ``INFO cpu`` so the client's cost is not counted.

    .venv/bin/python bench/bench_broker.py [--n 5000] [--url redis://127.0.0.1:6379/14]

Uses a queue of its own in the given Redis database and empties that database at the end; bench/capacity.py
takes the figure as ``--broker-task-ms``.
"""

import argparse
import time

import redis
from kombu import Connection, Exchange, Queue

MESSAGE = {"args": [12345], "kwargs": {}, "padding": "x" * 600}  # about the size of a Celery task message


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/14")
    options = parser.parse_args()
    server = redis.Redis.from_url(options.url)

    def redis_cpu_seconds():
        info = server.info("cpu")
        return info["used_cpu_sys"] + info["used_cpu_user"]

    queue = Queue("evlims_broker_probe", Exchange("evlims_broker_probe"), routing_key="evlims_broker_probe")
    received = []

    def acknowledge(body, message):
        message.ack()
        received.append(1)

    with Connection(options.url) as connection:
        producer = connection.Producer()
        cpu_before, started = redis_cpu_seconds(), time.perf_counter()
        for _ in range(options.n):
            producer.publish(MESSAGE, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])
        with connection.Consumer(queue, callbacks=[acknowledge], prefetch_count=10):
            while len(received) < options.n:
                connection.drain_events(timeout=5)
        elapsed, cpu = time.perf_counter() - started, redis_cpu_seconds() - cpu_before
    server.flushdb()
    print(
        f"{options.n} tasks sent, consumed and acknowledged: Redis CPU {cpu / options.n * 1e6:.1f} us per task "
        f"(one Redis thread: {options.n / cpu:,.0f} tasks/s at most); client wall {elapsed / options.n * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
