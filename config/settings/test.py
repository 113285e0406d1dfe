"""Test settings: in-memory SQLite unless DATABASE_URL points elsewhere (the integration run), fast hashing."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each test process keeps its own cache: a shared Redis would carry entries from one run into another.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A fixed audit key, so sealed events are reproducible; anchors in a folder of this process outside the tree
# (tests that write anchors point EVLIMS_AUDIT_ANCHOR_DIR at their own tmp_path).
EVLIMS_AUDIT_KEYS = {"test-1": "evlims-test-audit-key-0123456789abcdef0123456789abcdef"}
EVLIMS_AUDIT_KEY_ID = "test-1"
EVLIMS_AUDIT_ANCHOR_DIR = Path(tempfile.gettempdir()) / f"evlims-test-audit-anchors-{os.getpid()}"
