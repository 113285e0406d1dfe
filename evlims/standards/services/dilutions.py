"""Dilution series of a preparation on a counting instrument (NTA, nano-flow, TRPS)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ...core.actors import person_or_none
from ...core.audit import record_event, snapshot
from ...isolation.models import EVPreparation
from ..linearity import SeriesError, parse_points
from ..models import DilutionSeries
from ._common import ensure_writer, text, when

MAX_DILUTIONS = 50
MAX_READINGS = 100
SERIES_FIELDS = ("preparation_id", "technique", "instrument_id", "measured_at", "points", "notes")


def clean_points(points) -> list[dict]:
    """The points as stored: dilution factor and readings (particles/mL), in order of dilution."""
    if isinstance(points, list | tuple) and len(points) > MAX_DILUTIONS:
        raise ValidationError({"points": f"At most {MAX_DILUTIONS} dilutions in one series."})
    if isinstance(points, list | tuple) and any(
        isinstance(p, dict) and isinstance(p.get("readings"), list) and len(p["readings"]) > MAX_READINGS
        for p in points
    ):
        raise ValidationError({"points": f"At most {MAX_READINGS} readings per dilution."})
    try:
        dilutions = parse_points(points)
    except SeriesError as error:
        raise ValidationError({"points": str(error)}) from None
    return [{"dilution_factor": d.factor, "readings": d.readings} for d in dilutions]


@transaction.atomic
def dilution_series_record(
    *,
    actor,
    preparation: EVPreparation,
    technique: str,
    points,
    instrument=None,
    measured_at=None,
    notes: str = "",
    reason: str = "",
) -> DilutionSeries:
    """Record one preparation counted at several dilutions (readings of the diluted suspension, particles/mL)."""
    ensure_writer(actor, preparation.lab_id, "record dilution series")
    if technique not in DilutionSeries.Technique.values:
        raise ValidationError({"technique": "Choose NTA, nano-flow cytometry or TRPS."})
    if instrument is not None and instrument.lab_id != preparation.lab_id:
        raise ValidationError({"instrument": "The instrument belongs to another lab."})
    series = DilutionSeries.objects.create(
        lab_id=preparation.lab_id,
        preparation=preparation,
        technique=technique,
        instrument=instrument,
        measured_at=when(measured_at, "measured_at"),
        points=clean_points(points),
        recorded_by=person_or_none(actor),
        notes=text(notes, 2000),
    )
    record_event(
        actor=actor,
        action="dilution_series.record",
        obj=series,
        reason=reason,
        changes=snapshot(series, SERIES_FIELDS),
    )
    return series
