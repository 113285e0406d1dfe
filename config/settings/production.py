"""Production: everything secret comes from the environment; `manage.py check --deploy` passes clean."""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The audit key (base.py): EVLIMS_AUDIT_KEY or EVLIMS_AUDIT_KEY_FILE, else derived from SECRET_KEY; never a key
# file created on the fly. Anchors: EVLIMS_AUDIT_ANCHOR_DIR, on storage the database's administrators cannot
# write (docs/audit-trail.md).

# Database connections kept open between requests (and between a worker's tasks) for this many seconds, checked
# before each reuse: opening one per request cost PostgreSQL a new backend process and a result post about 7 ms
# of its 12 (bench/bench_http.py; docs/performance.md, "Result posts over HTTP"). 0 opens one per request again.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Behind a TLS proxy: it says https in X-Forwarded-Proto; TRUSTED_PROXY_COUNT (base.py) says how many proxies
# append to X-Forwarded-For, so login throttling counts the client's address rather than the proxy's.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
