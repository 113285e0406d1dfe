"""Celery application of the demo host site.

With no REDIS_URL (the embedded demo) tasks run eagerly in the calling process, so `make demo`
needs no broker; with REDIS_URL set, tasks go to a real worker (see settings.base).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("evlims_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
