"""Test settings: in-memory SQLite unless DATABASE_URL points elsewhere (the integration run), fast hashing."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
# Each test process keeps its own cache: a shared Redis would carry entries from one run into another.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
