"""Settings shared by every environment of the demo host site. Values come from the environment.

The plugin's part comes from ``evlims.host``, the same defaults the README tells a host project to merge;
what is added here is the demo site's own: its database, cache, broker, login throttling and hardening.
"""

import os
from pathlib import Path

import environ

from evlims import host
from evlims.core import audit_keys
from evlims.core.identity import config as sso_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    *host.INSTALLED_APPS,
    *host.BEAT_APPS,
    "csp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "evlims.core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    *host.MIDDLEWARE,
    # Last, so it sees the outcome of every login attempt (see "Login throttling" below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                *host.CONTEXT_PROCESSORS,
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'evlims.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one address,
# that pair is refused for AXES_COOLOFF_TIME hours, through the login page, the admin and the API alike.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Single sign-on (docs/sso.md): OpenID Connect when EVLIMS_OIDC_CLIENT_ID is set, LDAP when EVLIMS_LDAP_SERVER_URI
# is; each adds its backend after the password ones. Off, and no sign-in button, when neither is set.
OIDC_SETTINGS = sso_config.oidc_settings(os.environ)
LDAP_SETTINGS = sso_config.ldap_settings(os.environ)
globals().update(OIDC_SETTINGS | LDAP_SETTINGS)
AUTHENTICATION_BACKENDS = sso_config.authentication_backends(
    AUTHENTICATION_BACKENDS, oidc=OIDC_SETTINGS, ldap=LDAP_SETTINGS
)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "new_password1", "new_password2"]
# A locked sign-in answers 429 with the plugin's page saying how long to wait (JSON for the API), and Retry-After.
AXES_LOCKOUT_CALLABLE = "evlims.web.views.errors.locked_out"

# The address a lockout is counted against. Behind a reverse proxy every request comes from the proxy, so one
# attacker's wrong passwords would lock everyone out. TRUSTED_PROXY_COUNT is the number of proxies in front of
# the site that each append the address they received the request from to X-Forwarded-For: with 0 (the
# default, direct connections) the header is ignored and REMOTE_ADDR counts; with n, the n-th entry from the
# right is the client, and whatever a client wrote further left is never read. A request with fewer entries,
# or an entry that is not an address, counts as REMOTE_ADDR. With n > 0 the site must be reachable only
# through the proxy, or anyone could name their own address. django-ipware is not installed, so axes would
# fall back to REMOTE_ADDR and ignore its AXES_IPWARE_* settings; the callable below takes precedence anyway.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)


def client_address(request):
    """The client's address for axes, from TRUSTED_PROXY_COUNT (read at request time)."""
    import ipaddress

    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < count:
        return remote
    try:
        return str(ipaddress.ip_address(entries[-count]))
    except ValueError:
        return remote


AXES_CLIENT_IP_CALLABLE = client_address

# Sessions and cookies: not readable from scripts, not sent on cross-site subrequests, ended with the browser
# or after a working day. Production adds the Secure flag (config/settings/production.py).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=10 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Response headers set on every page (SecurityMiddleware, XFrameOptionsMiddleware, the CSP middleware).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp 4): scripts only from this site, or inline when they carry the
# per-request nonce ({{ request.csp_nonce }}). Inline styles stay allowed: the pages size progress bars and
# plots with style attributes, and a style cannot run code. See docs/security.md.
CONTENT_SECURITY_POLICY = host.CONTENT_SECURITY_POLICY

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = host.LOGIN_URL
LOGIN_REDIRECT_URL = host.LOGIN_REDIRECT_URL
LOGOUT_REDIRECT_URL = host.LOGOUT_REDIRECT_URL

CRISPY_ALLOWED_TEMPLATE_PACKS = CRISPY_TEMPLATE_PACK = host.CRISPY_TEMPLATE_PACK

REST_FRAMEWORK = {
    **host.REST_FRAMEWORK,
    # Requests per instrument key (evlims.api.throttling); people are not throttled by it.
    "DEFAULT_THROTTLE_RATES": {"instrument_key": env("EVLIMS_INSTRUMENT_KEY_RATE", default="600/min")},
}

SPECTACULAR_SETTINGS = host.SPECTACULAR_SETTINGS

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process (embedded demo).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Where tasks without a route go: stacks sharing one Redis (or tests beside a running stack) each use their own.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The plugin's periodic tasks (evlims/schedule.py); the database scheduler copies them into its tables on start.
CELERY_BEAT_SCHEDULE = host.BEAT_SCHEDULE
CELERY_TIMEZONE = TIME_ZONE

# One cache for the web server and every worker when Redis is there: import progress written by a worker
# and the dashboards' rendered figures must be seen by every process. A cache outage degrades to misses
# (pages recomputed, progress unknown), never to an error page. The embedded demo keeps it in memory.
CACHE_URL = env("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="evlims"),
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Plugin settings: every key is optional; defaults live in evlims/conf.py.
EVLIMS = {
    "SAMPLE_BARCODE_PREFIX": env("EVLIMS_SAMPLE_BARCODE_PREFIX", default="EVS"),
    "SITE_URL": env("EVLIMS_SITE_URL", default=""),
    # Watched instrument folders (docs/watched-folders.md) may only lie under this folder; empty: none allowed.
    "WATCH_ROOT": env("EVLIMS_WATCH_ROOT", default=""),
}

# Notification e-mails (docs/notifications.md): SMTP as the environment says; the demo prints them instead.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="evlims@localhost")

# The audit trail (docs/audit-trail.md). Its key seals every event and anchor and lives outside the database:
# EVLIMS_AUDIT_KEY (or EVLIMS_AUDIT_KEY_FILE, a file holding it; entries "id:secret", one per line, keep the
# retired keys that verify older events) and EVLIMS_AUDIT_KEY_ID, the current key's id. Without them the key is
# derived from SECRET_KEY. Anchors of the trail go to EVLIMS_AUDIT_ANCHOR_DIR, which belongs on storage the
# database's administrators cannot write.
EVLIMS_AUDIT_KEYS, EVLIMS_AUDIT_KEY_ID = audit_keys.keys_from_environment(
    {
        "EVLIMS_AUDIT_KEY": env("EVLIMS_AUDIT_KEY", default=""),
        "EVLIMS_AUDIT_KEY_FILE": env("EVLIMS_AUDIT_KEY_FILE", default=""),
        "EVLIMS_AUDIT_KEY_ID": env("EVLIMS_AUDIT_KEY_ID", default=""),
    }
)
EVLIMS_AUDIT_ANCHOR_DIR = env.path("EVLIMS_AUDIT_ANCHOR_DIR", default=BASE_DIR / "var" / "audit-anchors")
# The last event written before the trail was keyed (0 on a site keyed from the start): a later unsealed event is
# then reported even if the whole chain was rewritten unsealed. Unset, unsealed events are accepted before the
# first sealed one only.
EVLIMS_AUDIT_UNKEYED_UNTIL = env.int("EVLIMS_AUDIT_UNKEYED_UNTIL", default=None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
