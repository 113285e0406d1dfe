"""A request budget per instrument key, so one misbehaving instrument cannot flood the lab's server.

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["instrument_key"]`` (``"600/min"`` when the host
sets none; ``None`` switches it off), counted per key prefix in Django's default cache. Requests from
people are not throttled here. Over budget the answer is ``429`` with a ``Retry-After`` header.

The budget is a token bucket: a key may send the whole rate's count at once, then one request per
``duration / count`` seconds. Its state in the cache is two numbers (the tokens left and when they were
counted), read and written once a request whatever the rate. In Redis (django-redis, as deployed) one script
reads and writes it in one round trip, atomically, so the requests of every thread and process share one budget
exactly; other caches read it and write it back. DRF's ``SimpleRateThrottle`` keeps the time of
every request in the window instead: at the rates an instrument posting one result at a time needs (tens of
thousands a minute) that list, pickled and sent to the cache twice a request, cost the request more than its
statements (docs/performance.md, "Result posts over HTTP").
"""

import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import is_instrument

DEFAULT_RATE = "600/min"
logger = logging.getLogger(__name__)

# KEYS[1]: the bucket (a hash: tokens, counted_at); ARGV: now, capacity, refill (tokens a second), ttl (seconds).
# Returns {1, ""} when a token was taken, {0, seconds to wait} otherwise (a string: Redis would truncate a number).
_TAKE_TOKEN = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'counted_at')
local now, capacity, refill = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens, counted_at = tonumber(state[1]), tonumber(state[2])
if tokens == nil or counted_at == nil then
  tokens, counted_at = capacity, now
end
tokens = math.min(capacity, tokens + math.max(0, now - counted_at) * refill)
if tokens < 1 then
  return {0, tostring((1 - tokens) / refill)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'counted_at', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, ''}
"""


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
        redis_client = _redis_client(self.cache)
        if redis_client is not None:
            return self._take_in_redis(redis_client, now, capacity, refill)
        tokens, counted_at = self._bucket(now, capacity)
        tokens = min(capacity, tokens + max(0.0, now - counted_at) * refill)
        if tokens < 1:
            self.wait_seconds = (1 - tokens) / refill
            return False
        # A full bucket is what an absent one means: the state may expire once it would have refilled.
        self.cache.set(self.key, (tokens - 1, now), self.duration)
        return True

    def _take_in_redis(self, client, now: float, capacity: float, refill: float) -> bool:
        # The bucket's own key (a hash): a value the other path wrote under self.key is never read as one.
        key = self.cache.make_key(f"{self.key}:hash")
        try:
            arguments = [repr(now), repr(capacity), repr(refill), self.duration]
            taken, wait = _take_token_script(client)(keys=[key], args=arguments, client=client)
        except Exception:  # noqa: BLE001 - as the cache's own reads: a cache that cannot answer refuses nobody
            logger.warning("instrument key throttle: Redis did not answer; request allowed", exc_info=True)
            return True
        if int(taken) == 1:
            return True
        self.wait_seconds = float(wait)
        return False

    def _bucket(self, now: float, capacity: float) -> tuple[float, float]:
        state = self.cache.get(self.key)
        if isinstance(state, tuple) and len(state) == 2:
            return state
        return capacity, now  # none yet (or the cache could not answer): a full bucket

    def wait(self):
        return self.wait_seconds


def _redis_client(cache):
    """The Redis client behind a django-redis cache (one server, as deployed), or None for any other cache."""
    try:
        from django_redis.client import DefaultClient
    except ImportError:  # a host site without django-redis
        return None
    client = getattr(cache, "client", None)  # the default cache's proxy hands on the attribute
    return client.get_client(write=True) if isinstance(client, DefaultClient) else None


_script = None


def _take_token_script(client):
    """The script, registered once a process (redis-py then runs it by its digest, sending its text again only
    to a server that lost it)."""
    global _script
    if _script is None:
        _script = client.register_script(_TAKE_TOKEN)
    return _script
