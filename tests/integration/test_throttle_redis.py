"""The instrument key's budget in Redis, as deployed (django-redis): one script takes a token atomically in one
round trip, so requests arriving at once from many threads (or processes) share one budget exactly
(evlims/api/throttling.py)."""

import os
import threading
import uuid
from types import SimpleNamespace

import pytest
import redis
from django.test import override_settings
from django_redis.cache import RedisCache
from rest_framework.settings import api_settings

from evlims.api import throttling
from evlims.api.authentication import InstrumentPrincipal
from evlims.api.throttling import InstrumentKeyRateThrottle

pytestmark = pytest.mark.needs_redis


@pytest.fixture
def redis_cache():
    """A django-redis cache of the test's own (its own key prefix) on REDIS_URL, emptied after."""
    prefix = f"evlims-throttle-{uuid.uuid4().hex[:8]}"
    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": prefix})
    yield cache
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def _request(prefix):
    principal = InstrumentPrincipal.__new__(InstrumentPrincipal)  # only its key's prefix is read
    principal.key = SimpleNamespace(prefix=prefix)
    return SimpleNamespace(user=principal)


def _throttle(cache, rate, now):
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {"instrument_key": rate}}):
        api_settings.reload()
        made = InstrumentKeyRateThrottle()
    api_settings.reload()
    made.cache, made.timer = cache, (lambda: now)
    return made


def test_the_bucket_lives_in_redis_and_refills_as_the_rate_says(redis_cache):
    request = _request(uuid.uuid4().hex[:8])
    assert throttling._redis_client(redis_cache) is not None
    answers = [_throttle(redis_cache, "5/min", 1000.0).allow_request(request, None) for _ in range(6)]
    assert answers == [True] * 5 + [False]
    refused = _throttle(redis_cache, "5/min", 1000.0)
    assert refused.allow_request(request, None) is False and refused.wait() == pytest.approx(12.0)
    assert _throttle(redis_cache, "5/min", 1012.5).allow_request(request, None) is True  # one token back
    assert _throttle(redis_cache, "5/min", 1012.5).allow_request(request, None) is False
    assert _throttle(redis_cache, "5/min", 1000.0).allow_request(_request("another"), None) is True  # its own budget


def test_requests_at_once_from_many_threads_share_one_budget_exactly(redis_cache):
    request, allowed, start = _request(uuid.uuid4().hex[:8]), [], threading.Barrier(16)
    lock = threading.Lock()

    def client():
        throttle = _throttle(redis_cache, "40/hour", 5000.0)
        start.wait()
        for _ in range(5):
            answer = throttle.allow_request(request, None)
            with lock:
                allowed.append(answer)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 80 and allowed.count(True) == 40  # read-then-write could let more through


def test_a_redis_that_does_not_answer_refuses_nobody(redis_cache, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise redis.ConnectionError("the server went away")

    monkeypatch.setattr(throttling, "_take_token_script", lambda client: down)
    assert _throttle(redis_cache, "1/min", 1000.0).allow_request(_request("down"), None) is True
    assert "Redis did not answer" in caplog.text
