import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def run_tasks_in_process_without_broker(app) -> bool:
    """Make ``app`` run evlims's tasks in the calling process when it has no broker to send them to.

    A host that never configured Celery still has one: Celery's default app, whose broker is unset (it would
    try AMQP on localhost, so an upload would answer 500 and stay "Uploaded"). A host's own app configured
    without ``CELERY_BROKER_URL`` is in the same place. Such an app runs tasks eagerly, as the demo does
    without ``REDIS_URL``. An app with a broker, or already eager, is left alone. True if it was switched.
    """
    conf = app.conf
    if conf.broker_url or conf.task_always_eager:
        return False
    conf.task_always_eager = True
    conf.task_eager_propagates = True
    logger.debug("Celery app %r has no broker: evlims tasks run in the calling process.", app.main)
    return True


class EvlimsConfig(AppConfig):
    name = "evlims"
    label = "evlims"
    verbose_name = "EV LIMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Signal handlers and system checks register themselves on import.
        from celery import current_app
        from celery._state import connect_on_app_finalize

        from . import (
            checks,  # noqa: F401
            tasks_imports,  # noqa: F401
        )
        from .compliance import tasks as compliance_tasks  # noqa: F401  (registers the Celery tasks)
        from .metrics import tasks as metrics_tasks  # noqa: F401

        # The app evlims's shared tasks use now (the host's, or Celery's default one), and any app the host
        # creates later, when it is first used.
        run_tasks_in_process_without_broker(current_app._get_current_object())
        connect_on_app_finalize(run_tasks_in_process_without_broker)
