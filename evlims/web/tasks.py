"""Celery tasks of the web layer: pages rendered ahead of their first view.

The metrics domain says when a job changed the figures of some labs (``summaries.on_figures_stored``);
``EvlimsConfig.ready()`` connects ``figures_stored`` to it, which sends ``warm_dashboards`` to a worker.
"""

import logging

from celery import shared_task

from ..core import coalesced
from .views.dashboards import warm_default_views

logger = logging.getLogger(__name__)


# Registered under the name it had when the metrics package sent it: hosts route ``evlims.metrics.tasks.*`` to
# their metrics queue (docs/performance.md), and a message sent before an upgrade still finds it.
@shared_task(name="evlims.metrics.tasks.warm_dashboards", ignore_result=True)
def warm_dashboards(lab_ids: list[int]):
    """Render the default dashboard and comparison of each lab into the cache after a metric job changed its
    figures, so its members' first view is a cache read. A lab that fails is logged and the others still warm:
    an unwarmed page is only built on its first view, as without this task."""
    coalesced.started(warm_dashboards, lab_ids)
    warmed = {}
    for lab_id in lab_ids:
        try:
            warmed[lab_id] = warm_default_views(lab_id)
        except Exception:
            logger.exception("dashboards of lab %d not warmed", lab_id)
    return warmed


def figures_stored(lab_ids: list[int]) -> None:
    """A finished metric job changed these labs' figures: a worker renders their dashboards (once for the labs
    whose rendering has not started yet: it will draw the new figures; ``core.coalesced``)."""
    coalesced.send_for_labs(warm_dashboards, lab_ids)
