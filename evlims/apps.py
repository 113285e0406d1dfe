import logging
from functools import cache

from django.apps import AppConfig, apps

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


def connect_layers() -> None:
    """Hand the code of the upper layers to the lower ones that call it, so that imports only point down
    (delivery → application → domains → core; the contracts in .importlinter, docs/architecture.md):

    - evidence changed (results, run steps, samples): compliance re-evaluates, metrics recompute, after commit;
    - record locks: isolation and characterization ask the QA review whether an approval locks a preparation;
    - instrument results are checked and stored by characterization;
    - characterization's marker symbols come from the compliance vocabulary;
    - a finished metric job has the web layer render the dashboards of the labs it changed;
    - metric jobs are sent to the workers by the metrics task module, which calls the metrics services;
    - the compliance engine words vocabulary codes as the forms do;
    - the notifications hear the QA review's steps and the metric figures stored (control charts judged).
    """
    from .characterization import references
    from .characterization import services as characterization_services
    from .compliance import markers, wording
    from .compliance.tasks import queue_refresh
    from .core import hooks, locks
    from .cytometry import services as cytometry_services
    from .cytometry import tasks as flow_tasks
    from .instruments import recording
    from .metrics import refresh as metric_refresh
    from .metrics import services as metric_services
    from .metrics import summaries
    from .metrics import tasks as metric_tasks
    from .notifications import receivers as notification_receivers
    from .notifications import services as notification_services
    from .notifications import tasks as notification_tasks
    from .review import events as review_events
    from .review import services as review_services
    from .web import tasks as web_tasks

    hooks.on_evidence_changed.register(queue_refresh)
    hooks.on_evidence_changed.register(metric_refresh.queue_change, record=metric_refresh.record_change)
    locks.lock_provider.register(review_services)
    recording.results_recorder.register(characterization_services)
    references.marker_vocabulary_source.register(markers.marker_vocabulary)
    summaries.on_figures_stored.register(web_tasks.figures_stored)
    summaries.on_figures_stored.register(notification_tasks.figures_stored)
    notification_services.email_sender.register(notification_tasks.send_later)
    review_events.review_events.register(notification_receivers.review_event)
    metric_services.job_sender.register(metric_tasks.send_metric_job)
    cytometry_services.events_reader.register(flow_tasks.send_read_events)
    wording.choice_label_source.register(model_choice_labels)


@cache
@cache
def model_choice_labels() -> dict[str, str]:
    """The forms' own words for vocabulary codes ('k2_edta' → 'K2-EDTA'), read from the choices of evlims's
    models and of the result forms (assays, techniques, marker methods a result document holds)."""
    from .web.display import RESULT_WORDS

    labels: dict[str, str] = {}
    for model in apps.get_app_config("evlims").get_models():
        for field in model._meta.get_fields():
            for value, text in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value:
                    labels.setdefault(value, str(text))
    return RESULT_WORDS | labels


class EvlimsConfig(AppConfig):
    name = "evlims"
    label = "evlims"
    verbose_name = "EV LIMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Signal handlers and system checks register themselves on import.
        from celery import current_app
        from celery._state import connect_on_app_finalize

        from . import checks  # noqa: F401
        from .compliance import tasks as compliance_tasks  # noqa: F401  (registers the Celery tasks)
        from .cytometry import tasks as cytometry_tasks  # noqa: F401
        from .instruments import tasks as instrument_tasks  # noqa: F401
        from .metrics import tasks as metrics_tasks  # noqa: F401
        from .notifications import tasks as notification_tasks  # noqa: F401
        from .samples import tasks as sample_tasks  # noqa: F401
        from .web import tasks as web_tasks  # noqa: F401

        connect_layers()

        # The app evlims's shared tasks use now (the host's, or Celery's default one), and any app the host
        # creates later, when it is first used.
        run_tasks_in_process_without_broker(current_app._get_current_object())
        connect_on_app_finalize(run_tasks_in_process_without_broker)
