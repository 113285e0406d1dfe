"""The audit trail of one record: hash-chained audit events and django-simple-history versions."""

from django.http import Http404
from django.shortcuts import render

from ...isolation import selectors as isolation_selectors
from ...samples import selectors
from ...standards import selectors as standards_selectors
from ..presenters import audit_change_rows, history_rows
from .common import member_view, scoped

# object_type (the model name audit events store) → the scoped selector that fetches one such record.
AUDITED = {
    "sample": lambda user, pk: selectors.sample_get(user, pk),
    "aliquot": lambda user, pk: selectors.aliquot_get(user, pk),
    "donor": lambda user, pk: _one(selectors.donors_for(user), pk),
    "storageunit": lambda user, pk: _one(selectors.storage_units_for(user), pk),
    "isolationrun": lambda user, pk: isolation_selectors.run_get(user, pk),
    "evpreparation": lambda user, pk: _one(isolation_selectors.preparations_for(user), pk),
    "referencemateriallot": lambda user, pk: _one(standards_selectors.lots_for(user), pk),
    "dilutionseries": lambda user, pk: _one(standards_selectors.series_for(user), pk),
    "spike": lambda user, pk: standards_selectors.spike_get(user, pk),
    "tracerreadout": lambda user, pk: standards_selectors.readout_get(user, pk),
}


def _one(queryset, pk):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404("No such record in your labs.")
    return obj


@member_view
def audit_trail(request, object_type, pk):
    if object_type not in AUDITED:
        raise Http404("This kind of record has no audit page.")
    obj = scoped(AUDITED[object_type], request.user, pk)
    events = selectors.audit_events_for(request.user, object_type=object_type, object_id=obj.pk).order_by("-id")
    history = getattr(obj, "history", None)
    versions = history_rows(history.select_related("history_user")) if history is not None else None
    return render(
        request,
        "evlims/audit/object.html",
        {
            "object": obj,
            "object_type": object_type,
            "events": [{"event": e, "changes": audit_change_rows(e)} for e in events],
            "versions": versions,
        },
    )
