"""Reading lots, spikes, tracer readouts and dilution series, scoped to the user's labs."""

from __future__ import annotations

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from .models import DilutionSeries, ReferenceMaterialLot, Spike, TracerReadout


def lots_for(user):
    return ReferenceMaterialLot.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab")


def spikes_for(user):
    return Spike.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab", "lot", "aliquot__sample", "run")


def readouts_for(user):
    return TracerReadout.objects.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "lab", "spike__lot", "spike__aliquot", "spike__run", "preparation__run__operator"
    )


def series_for(user):
    return DilutionSeries.objects.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "lab", "preparation", "instrument"
    )


def _one(queryset, pk):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound
    return found


def lot_get(user, pk) -> ReferenceMaterialLot:
    return _one(lots_for(user), pk)


def spike_get(user, pk) -> Spike:
    return _one(spikes_for(user), pk)


def readout_get(user, pk) -> TracerReadout:
    return _one(readouts_for(user), pk)


def series_get(user, pk) -> DilutionSeries:
    return _one(series_for(user), pk)
