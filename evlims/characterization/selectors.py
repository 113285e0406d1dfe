"""Reads of ingestions, raw files, preparations and their results, scoped to the user's labs.

Every function returns a fixed number of queries however many rows there are (pages assert it).
"""

from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.fields.json import KT

from ..core.errors import NotFound
from ..core.ids import parse_id
from ..core.paging import attach, count_of
from ..core.tenancy import visible_lab_ids
from ..instruments.models import Ingestion, Instrument, RawFile
from ..isolation.models import EVPreparation, IsolationRun
from ..isolation.selectors import preparation_get as preparation_get  # the preparation pages and API read it here
from ..isolation.selectors import preparations_for
from .models import Measurement, SizeBin

# How many of a lab's preparations the mapping form suggests; any other barcode can still be typed.
SUGGESTED_PREPARATIONS = 500
RUN_CHOICES = 30
COUNTED_KINDS = (Measurement.Kind.PARTICLE, Measurement.Kind.PROTEIN, Measurement.Kind.MARKER, Measurement.Kind.IMAGING)


def ingestions_for(user):
    """Uploads and instrument posts of the user's labs, newest first, without the (large) parsed documents.

    ``with_measurement_counts`` adds how many results each committed, for the page shown.
    """
    return (
        Ingestion.objects.filter(lab_id__in=visible_lab_ids(user))
        .select_related("lab", "raw_file", "instrument", "submitted_by")
        .defer("parsed", "response")
        .annotate(file_format=KT("parsed__format"))
        .order_by("-created_at", "-id")
    )


def ingestion_get(user, pk) -> Ingestion:
    ingestion = (
        Ingestion.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk)
        .select_related("lab", "raw_file", "instrument", "submitted_by")
        .first()
    )
    if ingestion is None:
        raise NotFound
    return ingestion


def ingestion_measurements(ingestion):
    return (
        Measurement.objects.filter(ingestion=ingestion)
        .select_related("preparation", "input_sample")
        .order_by("preparation__barcode", "id")
    )


def ingestion_results(ingestion) -> list[Measurement]:
    """Every result the ingestion produced, superseded and voided ones too (the ingestion page's history), each
    with ``current_version``: the result standing for it now (itself when current, the last correction of a
    superseded one), or None once it or its last correction was voided. Two queries: the results, then the
    corrections of their subjects, followed here."""
    results = list(
        Measurement.all_versions.filter(ingestion=ingestion)
        .select_related("preparation", "input_sample", "status_changed_by")
        .order_by("preparation__barcode", "input_sample__barcode", "id")
    )
    subjects = Q(preparation_id__in={m.preparation_id for m in results if m.preparation_id}) | Q(
        input_sample_id__in={m.input_sample_id for m in results if m.input_sample_id}
    )
    corrections = Measurement.all_versions.filter(subjects, lab_id=ingestion.lab_id, supersedes__isnull=False)
    newer = {old: (pk, status) for old, pk, status in corrections.values_list("supersedes_id", "pk", "status")}
    for result in results:
        pk, status = result.pk, result.status
        while pk in newer:
            pk, status = newer[pk]
        result.current_version = pk if status == Measurement.Status.CURRENT else None
    return results


def raw_file_get(user, pk) -> RawFile:
    raw = RawFile.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk).first()
    if raw is None:
        raise NotFound
    return raw


def instruments_for(user, lab_ids=None):
    labs = visible_lab_ids(user) if lab_ids is None else lab_ids
    return Instrument.objects.filter(lab_id__in=labs).select_related("lab").order_by("lab__name", "name")


def preparation_barcodes(lab_id) -> list[str]:
    """Recent preparation barcodes of a lab, for the mapping form's suggestions."""
    barcodes = (
        EVPreparation.objects.filter(lab_id=lab_id).order_by("-created_at", "-id").values_list("barcode", flat=True)
    )
    return list(barcodes[:SUGGESTED_PREPARATIONS])


def known_barcodes(lab_id, barcodes) -> set[str]:
    return set(
        EVPreparation.objects.filter(lab_id=lab_id, barcode__in=list(barcodes)).values_list("barcode", flat=True)
    )


def runs_with_preparations(user, selected=None):
    """The runs the preparation list's filter offers: the lab's RUN_CHOICES most recent ones, plus the run
    the request names (a link to an older run's preparations still validates). A lab-year holds thousands
    of runs; rendering each as an option cost more than reading the page."""
    runs = IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user))
    offered = Q(pk__in=Subquery(runs.order_by("-created_at", "-id").values("pk")[:RUN_CHOICES]))
    if isinstance(selected, str) and parse_id(selected) is not None:
        offered |= Q(pk=parse_id(selected))
    return runs.filter(offered).order_by("-created_at", "-id")


def isolation_methods(user) -> list[str]:
    """The separation methods of the user's runs, for the list filter."""
    methods = (
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user))
        .exclude(method="")
        .order_by("method")
        .values_list("method", flat=True)
        .distinct()
    )
    return list(methods)


def preparation_list(user, *, run=None, biofluid: str = "", method: str = "", search: str = ""):
    """Preparations newest first, with nothing aggregated or joined for display: the page is cut first,
    then ``with_headline_figures`` adds its figures and result counts. ``search`` matches part of the
    preparation's barcode, its run's code or its input sample's barcode."""
    preparations = preparations_for(user).select_related("run")
    if search:
        preparations = preparations.filter(
            Q(barcode__icontains=search)
            | Q(run__code__icontains=search)
            | Q(input_aliquot__sample__barcode__icontains=search)
        )
    if run is not None:
        preparations = preparations.filter(run=run)
    if biofluid:
        preparations = preparations.filter(input_aliquot__sample__biofluid=biofluid)
    if method:
        preparations = preparations.filter(run__method=method)
    return preparations.order_by("-created_at", "-id")


def with_headline_figures(preparations) -> None:
    """On one page of preparations (one query): purity class, particles per µg, EV-METRIC and failed
    mandatory rules, and ``<kind>_count`` for the particle, protein, marker and imaging results."""
    attach(
        preparations,
        purity_class=F("metrics__purity_class"),
        particles_per_ug=F("metrics__particles_per_ug"),
        ev_metric_pct=F("evaluation__ev_metric_pct"),
        mandatory_failed=F("evaluation__mandatory_failed"),
        **{
            f"{kind}_count": count_of(Measurement.objects.filter(preparation=OuterRef("pk"), kind=kind))
            for kind in COUNTED_KINDS
        },
    )


def with_measurement_counts(ingestions) -> None:
    """``measurement_count`` on one page of ingestions (one query)."""
    attach(ingestions, measurement_count=count_of(Measurement.objects.filter(ingestion=OuterRef("pk"))))


def size_bins(measurement_ids) -> dict[int, tuple[list[float], list[float]]]:
    """{measurement id: (bin centres, concentrations)} in one query, of the results named (of any status)."""
    bins: dict[int, tuple[list[float], list[float]]] = {}
    rows = (
        SizeBin.all_versions.filter(analysis__measurement_id__in=list(measurement_ids))
        .order_by("analysis__measurement_id", "bin_center_nm")
        .values_list("analysis__measurement_id", "bin_center_nm", "concentration_per_ml")
    )
    for measurement_id, centre, value in rows:
        centres, values = bins.setdefault(measurement_id, ([], []))
        centres.append(centre)
        values.append(value)
    return bins


def input_sample_counts(preparation) -> list[int]:
    """Ids of particle counts of the preparation's input sample (what recovery is computed against)."""
    return list(
        Measurement.objects.filter(
            input_sample_id=preparation.input_aliquot.sample_id, kind=Measurement.Kind.PARTICLE
        ).values_list("pk", flat=True)
    )


SET_ASIDE = (Measurement.Status.SUPERSEDED, Measurement.Status.VOIDED)
DETAILS = ("particle", "protein", "marker", "imaging", "analyte")


def measurement_get(user, pk) -> Measurement:
    """One result of the user's labs, of any status (a superseded or voided one too), with its typed detail."""
    measurement = (
        Measurement.all_versions.filter(lab_id__in=visible_lab_ids(user), pk=pk)
        .select_related("lab", "preparation", "input_sample", "recorded_by", "status_changed_by", "ingestion", *DETAILS)
        .first()
    )
    if measurement is None:
        raise NotFound
    return measurement


def version_chain(measurement) -> list[Measurement]:
    """Every version of a result, newest first: the current one (or the last, voided) and each it superseded.
    Versions share the lab, subject and kind, so they are read in one query and linked here."""
    versions = {
        m.pk: m
        for m in Measurement.all_versions.filter(
            lab_id=measurement.lab_id,
            preparation_id=measurement.preparation_id,
            input_sample_id=measurement.input_sample_id,
            kind=measurement.kind,
        ).select_related("recorded_by", "status_changed_by", *DETAILS)
    }
    newer = {m.supersedes_id: m for m in versions.values() if m.supersedes_id}
    newest = versions.get(measurement.pk, measurement)
    while newest.pk in newer:
        newest = newer[newest.pk]
    chain = [newest]
    while chain[-1].supersedes_id in versions:
        chain.append(versions[chain[-1].supersedes_id])
    return chain


def results_set_aside(preparation_ids) -> list[Measurement]:
    """The superseded and voided results of these preparations, oldest first, each with what replaced it (one
    query): reports list them apart from the results that count."""
    return list(
        Measurement.all_versions.filter(preparation_id__in=list(preparation_ids), status__in=SET_ASIDE)
        .select_related("preparation", "recorded_by", "status_changed_by", "superseded_by", "marker")
        .order_by("preparation_id", "measured_at", "id")
    )
