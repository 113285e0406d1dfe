"""Reads of instruments and their API keys for the lab administration pages, each in a fixed number of queries
whatever the number of instruments or keys: the counts and the last use are computed by the database."""

from django.db.models import Count, Max, Prefetch, Q

from ..core.errors import NotFound
from ..core.tenancy import visible_lab_ids
from .models import Instrument, InstrumentApiKey, PlateLayout


def lab_instruments(lab_id):
    """The lab's instruments by name, each with ``active_keys``, ``revoked_keys`` and ``last_used_at`` (the
    latest use of any of its keys, revoked ones included)."""
    return (
        Instrument.objects.filter(lab_id=lab_id)
        .annotate(
            active_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True)),
            revoked_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=False)),
            last_used_at=Max("api_keys__last_used_at"),
        )
        .order_by("name", "id")
    )


def instrument_with_keys(user, pk) -> Instrument:
    """An instrument of a lab ``user`` belongs to, with its lab and its keys (newest first, with who issued
    them) prefetched; NotFound otherwise."""
    keys = InstrumentApiKey.objects.select_related("created_by").order_by("-created_at", "-id")
    instrument = (
        Instrument.objects.filter(pk=pk, lab_id__in=visible_lab_ids(user))
        .select_related("lab")
        .prefetch_related(Prefetch("api_keys", queryset=keys))
        .first()
    )
    if instrument is None:
        raise NotFound
    return instrument


def api_key_get(user, pk) -> InstrumentApiKey:
    """A key of an instrument of a lab ``user`` belongs to, with its instrument and lab; NotFound otherwise."""
    key = (
        InstrumentApiKey.objects.filter(pk=pk, instrument__lab_id__in=visible_lab_ids(user))
        .select_related("instrument__lab", "created_by")
        .first()
    )
    if key is None:
        raise NotFound
    return key


def plate_layouts_for(user, *, lab_ids=None, include_retired: bool = False):
    """Plate layouts of ``user``'s labs (or of ``lab_ids`` among them), in use only unless ``include_retired``,
    with their lab, instrument and author: one query however many there are."""
    visible = visible_lab_ids(user)
    labs = visible if lab_ids is None else [lab for lab in lab_ids if lab in set(visible)]
    layouts = PlateLayout.objects.filter(lab_id__in=labs).select_related("lab", "instrument", "created_by")
    if not include_retired:
        layouts = layouts.filter(retired_at__isnull=True)
    return layouts.order_by("lab__name", "name", "id")


def plate_layout_get(user, pk) -> PlateLayout:
    """A plate layout (in use or retired) of a lab ``user`` belongs to; NotFound otherwise."""
    layout = (
        PlateLayout.objects.filter(pk=pk, lab_id__in=visible_lab_ids(user))
        .select_related("lab", "instrument", "created_by", "retired_by")
        .first()
    )
    if layout is None:
        raise NotFound
    return layout
