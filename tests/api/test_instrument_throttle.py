"""The instrument key's request budget is a token bucket (evlims/api/throttling.py): the rate's count at once, then
one request per share of its duration; its state two numbers whatever the rate. The answers (429 with
Retry-After, people not throttled, one budget per key) are in tests/api/test_evidence_access.py."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings

from evlims.api.authentication import InstrumentPrincipal
from evlims.api.throttling import InstrumentKeyRateThrottle


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def instrument_request(prefix="k1"):
    principal = InstrumentPrincipal.__new__(InstrumentPrincipal)  # only its key's prefix is read
    principal.key = SimpleNamespace(prefix=prefix)
    return SimpleNamespace(user=principal)


def throttle(rate: str, clock: Clock) -> InstrumentKeyRateThrottle:
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {"instrument_key": rate}}):
        api_settings.reload()
        made = InstrumentKeyRateThrottle()
    api_settings.reload()
    made.timer = clock
    return made


def allowed(rate, clock, count, prefix="k1") -> list[bool]:
    return [throttle(rate, clock).allow_request(instrument_request(prefix), None) for _ in range(count)]


def test_the_rates_count_goes_at_once_then_one_per_share_of_the_duration():
    clock = Clock()
    assert allowed("6/min", clock, 7) == [True] * 6 + [False]
    refused = throttle("6/min", clock)
    assert refused.allow_request(instrument_request(), None) is False
    assert refused.wait() == pytest.approx(10.0)  # one token in 60 / 6 seconds
    clock.now += 5
    refused = throttle("6/min", clock)
    assert refused.allow_request(instrument_request(), None) is False and refused.wait() == pytest.approx(5.0)
    clock.now += 5
    assert allowed("6/min", clock, 2) == [True, False]
    clock.now += 600  # idle long past a full bucket: the count again, no more
    assert allowed("6/min", clock, 7) == [True] * 6 + [False]


def test_each_key_has_its_own_bucket():
    clock = Clock()
    assert allowed("2/min", clock, 3, prefix="k1") == [True, True, False]
    assert allowed("2/min", clock, 3, prefix="k2") == [True, True, False]


def test_the_state_stays_two_numbers_at_any_rate():
    clock = Clock()
    for _ in range(2000):  # all at one instant: no refill between them
        assert throttle("100000/min", clock).allow_request(instrument_request(), None)
    state = cache.get(InstrumentKeyRateThrottle.cache_format % {"scope": "instrument_key", "ident": "k1"})
    assert isinstance(state, tuple) and len(state) == 2
    assert state == (pytest.approx(100000 - 2000), clock.now)


def test_a_value_that_is_not_a_bucket_counts_as_a_full_one():
    clock = Clock()
    cache.set(InstrumentKeyRateThrottle.cache_format % {"scope": "instrument_key", "ident": "k1"}, [clock.now] * 9)
    assert allowed("2/min", clock, 3) == [True, True, False]


def test_no_rate_throttles_nothing_and_people_are_not_counted():
    clock = Clock()
    unlimited = throttle(None, clock)
    assert all(unlimited.allow_request(instrument_request(), None) for _ in range(50))
    person = SimpleNamespace(user=SimpleNamespace(is_authenticated=True))
    assert all(throttle("1/min", clock).allow_request(person, None) for _ in range(5))
