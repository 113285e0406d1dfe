"""The embedded demo: SQLite in var/, tasks in-process, DEBUG on unless the environment says otherwise."""

from evlims.core import audit_keys

from .base import *  # noqa: F403
from .base import BASE_DIR, EVLIMS_AUDIT_KEYS, env

DEBUG = env.bool("DEBUG", default=True)
# Notification e-mails are printed on the console unless the environment names a real backend.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

# The demo's SECRET_KEY is public, so a key derived from it would seal nothing: without EVLIMS_AUDIT_KEY(_FILE)
# the demo keeps a random audit key of its own in var/audit-key, created when the audit trail first needs it
# and readable by its owner only. Production settings never do this: there the key comes from the environment
# (docs/audit-trail.md).
if not EVLIMS_AUDIT_KEYS:
    EVLIMS_AUDIT_KEYS, EVLIMS_AUDIT_KEY_ID = audit_keys.DemoKeyFile(BASE_DIR / "var" / "audit-key"), ""
