"""The periodic work of evlims as a Celery beat schedule: ``CELERY_BEAT_SCHEDULE = evlims.host.BEAT_SCHEDULE``.

Every entry is a safety net or a check, not the normal path: follow-up work (compliance, metrics) is sent
when a change commits. Beat only matters with a broker and a worker; without one there is nothing a lost
message could have left behind. django-celery-beat's database scheduler (``evlims[beat]``) copies these
entries into its tables on start, so they can also be seen and paused in the admin.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Metric jobs whose message was lost (broker restart, worker killed) are sent again.
    "evlims-sweep-metric-jobs": {
        "task": "evlims.metrics.tasks.sweep_metric_jobs",
        "schedule": 5 * 60.0,
    },
    # Manifest imports whose check or commit message was lost (broker down at upload or commit) are sent again.
    "evlims-sweep-stuck-imports": {
        "task": "evlims.tasks_imports.sweep_stuck_imports",
        "schedule": 5 * 60.0,
    },
    # New files in the instruments' watched folders ingested (docs/watched-folders.md); a pass with nothing new
    # costs a directory listing per watched instrument.
    "evlims-watch-instrument-folders": {
        "task": "evlims.instruments.tasks.watch_instrument_folders",
        "schedule": 60.0,
    },
    # Every lab's yield and purity figures recomputed from scratch, while nobody is working.
    "evlims-nightly-metrics": {
        "task": "evlims.metrics.tasks.nightly_full_recompute",
        "schedule": crontab(hour=2, minute=15),
    },
    # Compliance of every preparation re-evaluated; unchanged evidence is skipped by its hash, so this costs
    # little and makes good any refresh lost while the broker was down.
    "evlims-nightly-compliance": {
        "task": "evlims.compliance.tasks.refresh_all_compliance",
        "schedule": crontab(hour=3, minute=15),
    },
    # The audit trail's state (newest event, its seal, the event count) appended to the anchor folder outside
    # the database, so a later removal of events is detected; events newer than the last anchor are the window.
    "evlims-anchor-audit-trail": {
        "task": "evlims.tasks.anchor_audit_trail",
        "schedule": 60 * 60.0,
    },
    # The audit trail's sealed chain walked end to end and compared with the anchors, records with their
    # history, signatures and review states with the trail; the result is the number of problems (0 when intact).
    "evlims-verify-audit-trail": {
        "task": "evlims.tasks.verify_audit_trail",
        "schedule": crontab(hour=4, minute=15),
    },
}
