"""A request budget per instrument key, so one misbehaving instrument cannot flood the lab's server.

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["instrument_key"]`` (``"600/min"`` when the host
sets none; ``None`` switches it off), counted per key prefix in Django's default cache. Requests from
people are not throttled here. Over budget the answer is ``429`` with a ``Retry-After`` header.

The budget is a token bucket: a key may send the whole rate's count at once, then one request per
``duration / count`` seconds. Its state in the cache is two numbers (the tokens left and when they were
counted), read and written once a request whatever the rate. DRF's ``SimpleRateThrottle`` keeps the time of
every request in the window instead: at the rates an instrument posting one result at a time needs (tens of
thousands a minute) that list, pickled and sent to the cache twice a request, cost the request more than its
statements (docs/performance.md, "Result posts over HTTP").
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import is_instrument

DEFAULT_RATE = "600/min"


class InstrumentKeyRateThrottle(SimpleRateThrottle):
    scope = "instrument_key"
    # Not SimpleRateThrottle's key: a value it wrote (a list of times) is never read as a bucket.
    cache_format = "throttle_bucket_%(scope)s_%(ident)s"

    def get_rate(self):
        # Read per request (not at import) so the host's setting and test overrides apply.
        return (api_settings.DEFAULT_THROTTLE_RATES or {}).get(self.scope, DEFAULT_RATE)

    def get_cache_key(self, request, view):
        if not is_instrument(request.user):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.key.prefix}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now, capacity = self.timer(), float(self.num_requests)
        refill = capacity / self.duration  # tokens a second
        tokens, counted_at = self._bucket(now, capacity)
        tokens = min(capacity, tokens + max(0.0, now - counted_at) * refill)
        if tokens < 1:
            self.wait_seconds = (1 - tokens) / refill
            return False
        # A full bucket is what an absent one means: the state may expire once it would have refilled.
        self.cache.set(self.key, (tokens - 1, now), self.duration)
        return True

    def _bucket(self, now: float, capacity: float) -> tuple[float, float]:
        state = self.cache.get(self.key)
        if isinstance(state, tuple) and len(state) == 2:
            return state
        return capacity, now  # none yet (or the cache could not answer): a full bucket

    def wait(self):
        return self.wait_seconds
