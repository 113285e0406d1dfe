"""What happens after the evidence of preparations changes: their compliance and metrics are refreshed.

Called by the services that change evidence, inside their transaction; the work is queued on commit.
"""

from .compliance.tasks import schedule_refresh
from .metrics.services import job_create


def preparations_changed(preparation_ids) -> None:
    ids = sorted({int(pk) for pk in preparation_ids if pk is not None})
    if not ids:
        return
    schedule_refresh(ids)
    job_create(preparation_ids=ids)
