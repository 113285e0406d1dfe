"""Finding the bench's records by code or by words, in the user's labs only: the top bar's search.

A scanned label names one record: ``records_with_code`` looks the code up among samples, aliquots, boxes,
isolation runs and EV preparations in one query, through the (lab, barcode) indexes. Anything else is
searched as words (``icontains``) in donors, samples, runs and preparations: ``text_matches`` answers each
kind's count and its first rows, two queries per kind, however many records the labs hold.

It lives in isolation, the highest of the two domains it reads (samples sits below it).
"""

from dataclasses import dataclass, field

from django.db.models import CharField, Exists, F, IntegerField, OuterRef, Q, Value
from django.db.models.functions import Cast

from ..core.tenancy import visible_lab_ids
from ..samples.models import Aliquot, Donor, Sample, StorageUnit
from .models import EVPreparation, IsolationRun, RunStep

# Rows shown per kind of record; the count says how many there are in all.
SEARCH_LIMIT = 20
# More records named by one code than this is not a label: the caller shows the first ones.
CODE_MATCH_LIMIT = 20

SAMPLE, ALIQUOT, BOX, RUN, PREPARATION, DONOR = "sample", "aliquot", "box", "run", "preparation", "donor"


def code_variants(code: str) -> list[str]:
    """The code as typed, in capitals and in small letters: barcodes are issued in capitals (EVS-0000012) and a
    scanner in the wrong keyboard mode sends small letters. Equality on these keeps the (lab, barcode) index."""
    return sorted({code, code.upper(), code.lower()})


@dataclass(frozen=True)
class CodeMatch:
    """A record whose code is the one looked up: its kind, id, for an aliquot its sample (its page), and what
    tells it apart from another record with the same code: its code as stored (a box's place) and its lab."""

    kind: str
    pk: int
    sample_id: int | None = None
    shown: str = ""
    lab: str = ""


def records_with_code(user, code: str) -> list[CodeMatch]:
    """Every record of the user's labs whose barcode (samples, aliquots, preparations), code (runs) or name
    (boxes) is ``code``: a barcode or code as typed or in capitals or small letters, a box's name in any case
    (one query)."""
    labs = visible_lab_ids(user)
    variants = code_variants(code)
    no_sample = Value(None, output_field=IntegerField())

    def rows(queryset, kind, shown, sample=no_sample):
        return (
            queryset.filter(lab_id__in=labs)
            .annotate(record_kind=Value(kind), owner=sample, shown=Cast(F(shown), CharField()), lab_name=F("lab__name"))
            .values_list("pk", "record_kind", "owner", "shown", "lab_name")
            .order_by()
        )

    first, *others = [
        rows(Sample.objects.filter(barcode__in=variants), SAMPLE, "barcode"),
        rows(Aliquot.objects.filter(barcode__in=variants), ALIQUOT, "barcode", Cast(F("sample_id"), IntegerField())),
        # Boxes are named by people, in any case, and a lab has a few hundred: compared without case.
        rows(StorageUnit.objects.filter(kind=StorageUnit.Kind.BOX, name__iexact=code), BOX, "path"),
        rows(IsolationRun.objects.filter(code__in=variants), RUN, "code"),
        rows(EVPreparation.objects.filter(barcode__in=variants), PREPARATION, "barcode"),
    ]
    found = first.union(*others, all=True)[:CODE_MATCH_LIMIT]
    return [CodeMatch(kind=kind, pk=pk, sample_id=owner, shown=shown, lab=lab) for pk, kind, owner, shown, lab in found]


@dataclass
class Matches:
    """One kind's answer: how many records match, and the first ``SEARCH_LIMIT`` of them."""

    kind: str
    count: int = 0
    rows: list = field(default_factory=list)


def _words_in(term: str, *paths: str) -> Q:
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path}__icontains": term})
    return condition


def donor_matches(user, term: str):
    """Donors by code, diagnosis, or their project's code or title."""
    return (
        Donor.objects.filter(lab_id__in=visible_lab_ids(user))
        .filter(_words_in(term, "code", "diagnosis", "project__code", "project__title"))
        .select_related("lab", "project")
        .order_by("code", "id")
    )


def sample_matches(user, term: str):
    """Samples by barcode, the collecting site's id, donor code, or project code or title; newest collected
    first, as the sample list shows them."""
    return (
        Sample.objects.filter(lab_id__in=visible_lab_ids(user))
        .filter(_words_in(term, "barcode", "external_id", "donor__code", "project__code", "project__title"))
        .select_related("lab", "project", "donor")
        .order_by("-collected_at", "-id")
    )


def run_matches(user, term: str):
    """Isolation runs by code, protocol, equipment, project code or title, why they were aborted, or the notes
    recorded on their steps; newest first."""
    noted = RunStep.objects.filter(run=OuterRef("pk"), notes__icontains=term)
    return (
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user))
        .filter(
            _words_in(term, "code", "protocol_name", "equipment", "project__code", "project__title", "abort_reason")
            | Q(Exists(noted))
        )
        .select_related("lab", "project", "operator")
        .order_by("-created_at", "-id")
    )


def preparation_matches(user, term: str):
    """EV preparations by barcode, their run's code, their input aliquot's or sample's barcode, or the run's
    project code; newest first."""
    return (
        EVPreparation.objects.filter(lab_id__in=visible_lab_ids(user))
        .filter(
            _words_in(
                term,
                "barcode",
                "run__code",
                "input_aliquot__barcode",
                "input_aliquot__sample__barcode",
                "run__project__code",
            )
        )
        .select_related("lab", "run", "input_aliquot__sample")
        .order_by("-created_at", "-id")
    )


SEARCHES = ((DONOR, donor_matches), (SAMPLE, sample_matches), (RUN, run_matches), (PREPARATION, preparation_matches))


def text_matches(user, term: str, *, limit: int = SEARCH_LIMIT) -> list[Matches]:
    """Donors, samples, runs and preparations whose words contain ``term``, each kind with its count and first
    ``limit`` rows (two queries per kind)."""
    answers = []
    for kind, search in SEARCHES:
        found = search(user, term)
        count = found.count()
        answers.append(Matches(kind=kind, count=count, rows=list(found[:limit]) if count else []))
    return answers
