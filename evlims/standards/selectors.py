"""Reading lots, spikes, tracer readouts and dilution series, scoped to the user's labs."""

from __future__ import annotations

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from .models import DilutionSeries, ReferenceMaterialLot, Spike, TracerReadout


def lots_for(user):
    return ReferenceMaterialLot.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab")


def spikes_for(user, *, versions: bool = False):
    """The current spikes of the user's labs; with ``versions``, superseded and voided ones too (history)."""
    manager = Spike.all_versions if versions else Spike.objects
    return manager.filter(lab_id__in=visible_lab_ids(user)).select_related("lab", "lot", "aliquot__sample", "run")


def readouts_for(user, *, versions: bool = False):
    """The current tracer readouts of the user's labs; with ``versions``, superseded and voided ones too."""
    manager = TracerReadout.all_versions if versions else TracerReadout.objects
    return manager.filter(lab_id__in=visible_lab_ids(user)).select_related(
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
    """A spike of the user's labs, of any version (a superseded one is still read, as history)."""
    return _one(spikes_for(user, versions=True), pk)


def readout_get(user, pk) -> TracerReadout:
    """A tracer readout of the user's labs, of any version."""
    return _one(readouts_for(user, versions=True), pk)


def version_chain(record) -> list:
    """Every version of a spike or readout, newest first: the current one and those it superseded."""
    model = type(record)
    newest = record
    while True:
        later = model.all_versions.filter(supersedes=newest).first()
        if later is None:
            break
        newest = later
    chain = [newest]
    while chain[-1].supersedes_id is not None and len(chain) < 100:
        chain.append(model.all_versions.get(pk=chain[-1].supersedes_id))
    return chain


def series_get(user, pk) -> DilutionSeries:
    return _one(series_for(user), pk)
