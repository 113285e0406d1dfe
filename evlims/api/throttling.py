"""A request budget per instrument key, so one misbehaving instrument cannot flood the lab's server.

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["instrument_key"]`` (``"600/min"`` when the host
sets none; ``None`` switches it off), counted per key prefix in Django's default cache. Requests from
people are not throttled here. Over budget the answer is ``429`` with a ``Retry-After`` header.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import is_instrument

DEFAULT_RATE = "600/min"


class InstrumentKeyRateThrottle(SimpleRateThrottle):
    scope = "instrument_key"

    def get_rate(self):
        # Read per request (not at import) so the host's setting and test overrides apply.
        return (api_settings.DEFAULT_THROTTLE_RATES or {}).get(self.scope, DEFAULT_RATE)

    def get_cache_key(self, request, view):
        if not is_instrument(request.user):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.key.prefix}
