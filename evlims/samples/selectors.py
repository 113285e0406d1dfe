"""Reads of sample-tracking records, always scoped to the labs the user belongs to.

Each selector fixes its joins and prefetches so page and API query counts stay flat as data grow.
"""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from ..core.errors import NotFound
from ..core.models import AuditEvent, Project
from ..core.paging import attach, count_of
from ..core.tenancy import visible_lab_ids
from .models import Aliquot, CustodyEvent, Donor, Sample, StorageUnit


def projects_for(user):
    return Project.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab")


def donors_for(user):
    return Donor.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab", "project")


def donor_list(user, *, search: str = ""):
    """Donors matching a code search, by code (the id breaks ties between labs); nothing aggregated."""
    donors = donors_for(user)
    if search:
        donors = donors.filter(code__icontains=search)
    return donors.order_by("code", "id")


def with_sample_counts(donors) -> None:
    """``sample_count``: samples of each donor of one page (one query)."""
    attach(donors, sample_count=count_of(Sample.objects.filter(donor=OuterRef("pk"))))


def donor_get(user, pk) -> Donor:
    donor = donors_for(user).filter(pk=pk).first()
    if donor is None:
        raise NotFound
    return donor


def donor_samples(donor) -> list[Sample]:
    """The donor's samples, most recently collected first, each with its available aliquot count."""
    samples = list(Sample.objects.filter(donor=donor).select_related("project").order_by("-collected_at", "-id"))
    with_available_aliquots(samples)
    return samples


def samples_for(user):
    return Sample.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("lab", "project", "donor")


def sample_list(user, *, search: str = "", biofluid: str = "", project=None, collected_from=None, collected_to=None):
    """Samples matching the filters, most recently collected first; nothing aggregated.

    The page is cut first, then ``with_available_aliquots`` counts tubes for its rows. A search by aliquot
    barcode is an EXISTS, not a join, so a sample is never repeated and no DISTINCT is needed.
    """
    samples = samples_for(user)
    if search:
        tube = Aliquot.objects.filter(sample=OuterRef("pk"), barcode__iexact=search)
        samples = samples.filter(
            Q(barcode__icontains=search)
            | Q(external_id__icontains=search)
            | Q(donor__code__icontains=search)
            | Exists(tube)
        )
    if biofluid:
        samples = samples.filter(biofluid=biofluid)
    if project:
        samples = samples.filter(project=project)
    if collected_from:
        samples = samples.filter(collected_at__date__gte=collected_from)
    if collected_to:
        samples = samples.filter(collected_at__date__lte=collected_to)
    return samples.order_by("-collected_at", "-id")


def with_available_aliquots(samples) -> None:
    """``aliquot_count``: available tubes of each sample of one page (one query)."""
    available = Aliquot.objects.filter(sample=OuterRef("pk"), status=Aliquot.Status.AVAILABLE)
    attach(samples, aliquot_count=count_of(available))


def sample_get(user, pk) -> Sample:
    sample = samples_for(user).filter(pk=pk).first()
    if sample is None:
        raise NotFound
    return sample


def aliquots_for(user):
    return Aliquot.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("sample", "box", "parent")


def aliquot_get(user, pk) -> Aliquot:
    aliquot = aliquots_for(user).filter(pk=pk).first()
    if aliquot is None:
        raise NotFound
    return aliquot


def sample_aliquots(sample):
    """All aliquots of a sample with what the detail page shows, in three queries whatever their number."""
    return list(
        Aliquot.objects.filter(sample=sample)
        .select_related("box")
        .prefetch_related(
            Prefetch("custody_events", queryset=CustodyEvent.objects.select_related("actor")),
            "preparations__run",
        )
        .order_by("id")
    )


def lineage_tree(aliquots) -> list[dict]:
    """Nested [{aliquot, children: [...]}] from a flat list, any depth, without further queries."""
    nodes = {a.pk: {"aliquot": a, "children": []} for a in aliquots}
    roots = []
    for aliquot in aliquots:
        node = nodes[aliquot.pk]
        parent = nodes.get(aliquot.parent_id)
        (parent["children"] if parent else roots).append(node)
    return roots


def custody_timeline(aliquots) -> list[CustodyEvent]:
    events = [event for aliquot in aliquots for event in aliquot.custody_events.all()]
    return sorted(events, key=lambda e: (e.occurred_at, e.pk))


def storage_units_for(user):
    return StorageUnit.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("parent")


def boxes_for(user):
    return (
        storage_units_for(user)
        .filter(kind=StorageUnit.Kind.BOX)
        .annotate(occupied=Count("aliquots", filter=Q(aliquots__status=Aliquot.Status.AVAILABLE)))
    )


def box_get(user, pk) -> StorageUnit:
    box = boxes_for(user).filter(pk=pk).first()
    if box is None:
        raise NotFound
    return box


def box_grid(box) -> list[list[Aliquot | None]]:
    """Rows × columns of the box, each cell the aliquot in it or None (one query)."""
    grid = [[None] * box.columns for _ in range(box.rows)]
    for aliquot in Aliquot.objects.filter(box=box).select_related("sample"):
        grid[aliquot.position_row - 1][aliquot.position_column - 1] = aliquot
    return grid


def custody_for(user):
    return CustodyEvent.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("aliquot", "actor")


def audit_events_for(user, *, object_type: str, object_id):
    return AuditEvent.objects.filter(
        lab_id__in=visible_lab_ids(user), object_type=object_type, object_id=str(object_id)
    ).select_related("actor")
