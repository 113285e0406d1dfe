"""``bench/capacity.py``: the post rate at which each shared resource is fully busy. The audit chain is one row
every write locks until it commits, so no number of cores or processes raises its limit."""

import pytest

from tests.bench_scripts import load_bench


@pytest.fixture
def capacity():
    return load_bench("capacity")


def test_each_resource_saturates_at_its_cost_divided_among_its_servers(capacity):
    costs = capacity.DEFAULTS | {
        "post_web_ms": 5.0,
        "post_db_ms": 2.0,
        "refresh_worker_ms": 2.0,
        "refresh_db_ms": 1.0,
        "metric_worker_ms": 18.0,
        "metric_db_ms": 2.0,
        "broker_task_ms": 0.1,
        "tasks_per_post": 2,
        "audit_chain_ms": 2.5,
    }
    one = capacity.saturation(costs, web=1, workers=1, db_cores=1)
    assert one == pytest.approx(
        {"web processes": 200.0, "workers": 50.0, "database": 200.0, "broker": 5000.0, "audit chain": 400.0}
    )
    many = capacity.saturation(costs, web=16, workers=32, db_cores=16)
    assert many["web processes"] == pytest.approx(3200.0) and many["workers"] == pytest.approx(1600.0)
    assert many["database"] == pytest.approx(3200.0)
    # The two that do not scale out: one Redis thread, one chain head.
    assert (many["broker"], many["audit chain"]) == (one["broker"], one["audit chain"])
    assert min(many, key=many.get) == "audit chain"
