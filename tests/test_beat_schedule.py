"""The plugin's beat schedule: every entry names a task a worker knows, at the interval docs/deployment.md gives."""

import re
from pathlib import Path

from celery.schedules import crontab
from django.conf import settings

from config.celery import app
from evlims import host
from evlims.schedule import BEAT_SCHEDULE

ROOT = Path(__file__).resolve().parents[1]


def test_every_scheduled_task_is_registered_after_autodiscovery():
    app.loader.import_default_modules()
    app.autodiscover_tasks(force=True)
    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert names == {
        "evlims.metrics.tasks.sweep_metric_jobs",
        "evlims.tasks_imports.sweep_stuck_imports",
        "evlims.metrics.tasks.nightly_full_recompute",
        "evlims.compliance.tasks.refresh_all_compliance",
        "evlims.tasks.verify_audit_trail",
        "evlims.tasks.anchor_audit_trail",
        "evlims.instruments.tasks.watch_instrument_folders",
    }
    assert names <= set(app.tasks), names - set(app.tasks)


def test_the_sweeps_run_every_few_minutes_the_folders_every_minute_the_anchor_hourly_the_rest_nightly():
    schedules = {entry["task"].rsplit(".", 1)[1]: entry["schedule"] for entry in BEAT_SCHEDULE.values()}
    assert schedules.pop("sweep_metric_jobs") == 300
    assert schedules.pop("sweep_stuck_imports") == 300
    # Files dropped by instrument PCs appear in the ingestion list within a minute or two.
    assert schedules.pop("watch_instrument_folders") == 60
    # Events newer than the last anchor are the window in which the newest ones can be removed unnoticed.
    assert schedules.pop("anchor_audit_trail") == 3600
    assert all(isinstance(schedule, crontab) for schedule in schedules.values())
    hours = [next(iter(schedule.hour)) for schedule in schedules.values()]
    assert len(set(hours)) == len(hours) and all(1 <= hour <= 5 for hour in hours)


def test_the_demo_site_and_a_host_use_the_same_schedule():
    assert host.BEAT_SCHEDULE is BEAT_SCHEDULE
    assert settings.CELERY_BEAT_SCHEDULE == BEAT_SCHEDULE
    assert app.conf.beat_schedule == BEAT_SCHEDULE


def test_deployment_doc_lists_every_scheduled_task():
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    periodic = doc.split("## Periodic tasks", 1)[1].split("\n## ", 1)[0]
    for entry in BEAT_SCHEDULE.values():
        assert re.search(rf"`{re.escape(entry['task'])}`", periodic), entry["task"]
