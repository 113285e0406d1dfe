"""Runs in the state a test needs. A preparation exists once its run is completed: results are refused for the
preparations of planned, in-progress and aborted runs, so fixtures that record results complete their runs."""

import datetime as dt

from django.utils import timezone

from evlims.isolation.models import IsolationRun


def completed_run_fields(*, hours: float = 4) -> dict:
    """The status and timestamps of a run completed just now, having run for ``hours``."""
    finished = timezone.now()
    return {
        "status": IsolationRun.Status.COMPLETED,
        "started_at": finished - dt.timedelta(hours=hours),
        "completed_at": finished,
    }


def completed(run: IsolationRun, **fields) -> IsolationRun:
    """Mark a planned run completed (status and timestamps) without recording its steps, and return it fresh."""
    return _saved(run, {**completed_run_fields(), **fields})


def in_state(run: IsolationRun, status: str, **fields) -> IsolationRun:
    """Put a run in ``status`` directly (planned, in progress, completed or aborted) with fitting timestamps."""
    now = timezone.now()
    values = {"status": status, "started_at": None, "completed_at": None, "abort_reason": ""}
    if status != IsolationRun.Status.PLANNED:
        values["started_at"] = now - dt.timedelta(hours=1)
    if status == IsolationRun.Status.COMPLETED:
        values["completed_at"] = now
    if status == IsolationRun.Status.ABORTED:
        values["abort_reason"] = "Column clogged while loading."
    return _saved(run, {**values, **fields})


def _saved(run: IsolationRun, values: dict) -> IsolationRun:
    """Saved through the model, so the run's history gets its row like any change (the audit verifier compares
    every historied record with its newest history row)."""
    run.refresh_from_db()
    for name, value in values.items():
        setattr(run, name, value)
    run.save()
    return run


def completed_plasma_sec_run(actor, project, **sample_fields) -> IsolationRun:
    """A completed size-exclusion run (the library's sec-qev-70nm 1.0.0) of three 500 µL aliquots of one EDTA plasma
    sample: three produced preparations. ``sample_fields`` go to the sample's registration."""
    from decimal import Decimal

    from evlims.isolation import services as isolation
    from evlims.isolation.models import ProtocolVersion
    from evlims.samples.services import sample_register

    isolation.library_load()
    version = ProtocolVersion.objects.get(protocol__slug="sec-qev-70nm", version="1.0.0")
    sample = sample_register(
        actor=actor,
        project=project,
        biofluid="blood_plasma",
        volume_ml=Decimal("3"),
        anticoagulant="k2_edta",
        aliquot_volumes_ul=[500, 500, 500],
        **sample_fields,
    )
    inputs = [(aliquot, 500) for aliquot in sample.aliquots.order_by("id")]
    return completed(isolation.run_plan(actor=actor, project=project, protocol_version=version, inputs=inputs))
