from django.apps import AppConfig


class EvlimsConfig(AppConfig):
    name = "evlims"
    label = "evlims"
    verbose_name = "EV LIMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Signal handlers and system checks register themselves on import.
        from . import (
            checks,  # noqa: F401
            tasks_imports,  # noqa: F401
        )
        from .compliance import tasks as compliance_tasks  # noqa: F401  (registers the Celery tasks)
        from .metrics import tasks as metrics_tasks  # noqa: F401
