"""Reads of sample-tracking records, always scoped to the labs the user belongs to.

Each selector fixes its joins and prefetches so page and API query counts stay flat as data grow.
"""

from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from ..core.errors import NotFound
from ..core.models import AuditEvent, Project
from ..core.paging import attach, count_of
from ..core.tenancy import visible_lab_ids
from .models import Aliquot, CustodyEvent, Donor, Sample, StorageUnit
from .vocabulary import biofluids, preanalytical_rules

# Barcodes asked for at once (SQLite takes at most 999 parameters per statement).
BARCODE_QUERY_CHUNK = 500


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


# The sample list's quality-flag filter: the flags of samples.quality (same codes, same thresholds from
# data/preanalytical_rules.yaml) as conditions the database evaluates, so a filtered list pages and exports.
QUALITY_FLAG_LABELS = {
    "processing_delay": "Processed too long after collection",
    "hemolysis": "Strong hemolysis (A414)",
    "hemolysis_borderline": "Borderline hemolysis: confirm (A414)",
    "residual_platelets": "Residual platelets above platelet-poor plasma",
    "single_spin": "Plasma spun fewer times than platelet-poor plasma needs",
    "urine_storage": "Urine stored too warm",
}
ANY_FLAG, NO_FLAG = "any", "none"
QUALITY_FLAG_CHOICES = [
    (ANY_FLAG, "Any quality flag"),
    (NO_FLAG, "No quality flag"),
    *QUALITY_FLAG_LABELS.items(),
]


def _rule_number(value) -> Decimal:
    return Decimal(str(value))


def quality_flag_conditions() -> dict[str, Q]:
    """{flag code: the samples carrying it}, exactly as ``samples.quality.quality_flags`` raises them."""
    rules = preanalytical_rules()
    blood = Q(biofluid__in=[entry["code"] for entry in biofluids() if entry.get("blood")])
    plasma = Q(biofluid="blood_plasma")
    delay = rules["max_processing_delay_h"]
    limits = delay["by_anticoagulant"]
    late = Q(~Q(anticoagulant__in=list(limits)), processing_delay_min__gt=delay["default"] * 60)
    for anticoagulant, hours in limits.items():
        late |= Q(anticoagulant=anticoagulant, processing_delay_min__gt=hours * 60)
    hemolysis = rules["hemolysis_a414"]
    strong = _rule_number(hemolysis["likely_hemolysed_above"])
    return {
        "processing_delay": blood & late,
        "hemolysis": blood & Q(hemolysis_a414__gt=strong),
        "hemolysis_borderline": blood
        & Q(hemolysis_a414__gt=_rule_number(hemolysis["confirm_above"]), hemolysis_a414__lte=strong),
        "residual_platelets": plasma & Q(residual_platelets_per_ul__gt=rules["residual_platelets_per_ul"]["max"]),
        "single_spin": plasma & Q(prep_spin_count__lt=rules["plasma_preparation"]["min_spins"]),
        "urine_storage": Q(biofluid="urine")
        & Q(storage_temperature_c__gt=_rule_number(rules["urine_storage_temperature_c"]["max"])),
    }


def _flag_filter(samples, flag: str):
    conditions = quality_flag_conditions()
    if flag in conditions:
        return samples.filter(conditions[flag])
    flagged = Q(pk__in=[])
    for condition in conditions.values():
        flagged |= condition
    if flag == ANY_FLAG:
        return samples.filter(flagged)
    if flag == NO_FLAG:
        return samples.exclude(flagged)
    raise ValueError(f"unknown quality flag {flag!r}")


def sample_list(
    user,
    *,
    search: str = "",
    biofluid: str = "",
    project=None,
    collected_from=None,
    collected_to=None,
    flag: str = "",
):
    """Samples matching the filters, most recently collected first; nothing aggregated.

    The page is cut first, then ``with_available_aliquots`` counts tubes for its rows. A search by aliquot
    barcode is an EXISTS, not a join, so a sample is never repeated and no DISTINCT is needed. ``flag``: a
    quality flag code, ``"any"`` or ``"none"`` (QUALITY_FLAG_CHOICES).
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
    if flag:
        samples = _flag_filter(samples, flag)
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


def barcode_holders(lab_id, barcodes) -> dict[str, str]:
    """{barcode: "a sample" or "an aliquot"} for those of ``barcodes`` a record of the lab already has.

    Barcodes are unique within a lab only (the database's per-lab constraints): another lab's records are
    neither looked at nor named, so no answer tells whether another lab holds a barcode. Asked in chunks
    (SQLite takes at most 999 parameters per statement)."""
    barcodes = list(dict.fromkeys(barcodes))
    holders = {}
    for start in range(0, len(barcodes), BARCODE_QUERY_CHUNK):
        chunk = barcodes[start : start + BARCODE_QUERY_CHUNK]
        for code in Aliquot.objects.filter(lab_id=lab_id, barcode__in=chunk).values_list("barcode", flat=True):
            holders[code] = "an aliquot"
        for code in Sample.objects.filter(lab_id=lab_id, barcode__in=chunk).values_list("barcode", flat=True):
            holders[code] = "a sample"
    return holders


def taken_barcode_message(barcode: str, holder: str) -> str:
    return f"Barcode {barcode} is already in use by {holder} of this lab."


def aliquots_by_barcode(user, barcodes) -> dict[str, list[Aliquot]]:
    """The aliquots of the user's labs with any of ``barcodes`` (as typed or in upper case: barcodes are
    stored upper-case, scanners and people do not always type them so), keyed by upper-case barcode.

    A barcode is unique within a lab only, so it may name one aliquot in each of the user's labs: callers
    narrow the list with ``narrowed_by_lab`` and ask which one is meant when more than one is left."""
    typed = {code for code in barcodes if code} | {code.upper() for code in barcodes if code}
    found: dict[str, list[Aliquot]] = {}
    if typed:
        for aliquot in aliquots_for(user).filter(barcode__in=typed).select_related("lab").order_by("lab_id", "id"):
            found.setdefault(aliquot.barcode.upper(), []).append(aliquot)
    return found


def narrowed_by_lab(candidates: list, typed: str, lab_id=None) -> list:
    """Of the records found for one typed barcode, those meant: the ones in ``lab_id`` when any is there, and
    of those, the one with the barcode exactly as typed when the lab has it in another case too."""
    in_lab = [record for record in candidates if record.lab_id == lab_id]
    candidates = in_lab or candidates
    exact = [record for record in candidates if record.barcode == typed]
    return exact if len(exact) == 1 else candidates


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
