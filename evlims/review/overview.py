"""What a member's start page shows, by role, in a fixed number of queries however much the labs hold:

- at the bench (lab staff and lab admins): the open isolation runs of their labs, their own first; the results
  they recorded last and the samples they registered last;
- reviewers (QA managers and lab admins): how many reviews await verification and approval, and since when;
- lab admins: each of their labs' members, instruments and usable API keys.

It sits with the review, the highest domain it reads (runs, results, samples, instruments, memberships).
"""

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Min, OuterRef, Value, When

from ..characterization.models import Measurement
from ..compliance.models import Review
from ..core.models import AuditEvent, Lab, Membership, Role
from ..core.paging import count_of
from ..core.tenancy import REVIEWER_ROLES, WRITER_ROLES, labs_where
from ..instruments.models import Instrument, InstrumentApiKey
from ..isolation.models import IsolationRun
from ..samples.models import Sample
from .selectors import AWAITING_STATES

OPEN_RUN_STATES = (IsolationRun.Status.IN_PROGRESS, IsolationRun.Status.PLANNED)
RECENT = 8


def open_runs(user, *, limit: int = 10) -> tuple[int, list[IsolationRun]]:
    """(how many, the first ``limit``) planned and in-progress runs of the labs where the user works at the
    bench: the user's own first, then those in progress, then the newest (two queries)."""
    runs = IsolationRun.objects.filter(lab_id__in=labs_where(user, WRITER_ROLES), status__in=OPEN_RUN_STATES)
    ordered = (
        runs.annotate(
            theirs=Case(When(operator_id=user.pk, then=Value(0)), default=Value(1), output_field=IntegerField()),
            started=Case(
                When(status=IsolationRun.Status.IN_PROGRESS, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .select_related("project", "operator")
        .order_by("theirs", "started", "-created_at", "-id")
    )
    count = runs.count()
    return count, list(ordered[:limit]) if count else []


def recent_results(user, *, limit: int = RECENT) -> list[Measurement]:
    """The current results the user recorded last, in the labs where they work at the bench (one query)."""
    return list(
        Measurement.objects.filter(lab_id__in=labs_where(user, WRITER_ROLES), recorded_by=user)
        .select_related("preparation", "input_sample")
        .order_by("-created_at", "-id")[:limit]
    )


def recent_registrations(user, *, limit: int = RECENT) -> list[Sample]:
    """The samples the user registered last, newest first, from the audit trail (two queries)."""
    labs = labs_where(user, WRITER_ROLES)
    ids = [
        int(object_id)
        for object_id in AuditEvent.objects.filter(
            lab_id__in=labs, actor=user, action="sample.register", object_type="sample"
        )
        .order_by("-id")
        .values_list("object_id", flat=True)[:limit]
        if object_id.isdigit()
    ]
    if not ids:
        return []
    samples = {
        sample.pk: sample for sample in Sample.objects.filter(pk__in=ids, lab_id__in=labs).select_related("project")
    }
    return [samples[pk] for pk in ids if pk in samples]


@dataclass(frozen=True)
class QueueStep:
    state: str
    label: str
    count: int
    oldest_submitted_at: object  # datetime, or None when nothing waits


def review_queue_summary(user) -> list[QueueStep]:
    """For each step of the review that waits on a signature (verification, then approval): how many reviews of
    the labs where the user reviews wait there, and when the oldest of them was submitted (one query)."""
    rows = {
        row["state"]: row
        for row in Review.objects.filter(lab_id__in=labs_where(user, REVIEWER_ROLES), state__in=AWAITING_STATES)
        .values("state")
        .annotate(count=Count("id"), oldest=Min("submitted_at"))
        .order_by()
    }
    return [
        QueueStep(
            state=state,
            label=Review.State(state).label,
            count=rows.get(state, {}).get("count", 0),
            oldest_submitted_at=rows.get(state, {}).get("oldest"),
        )
        for state in AWAITING_STATES
    ]


def administered_labs(user) -> list[Lab]:
    """The labs the user administers, each with ``member_count``, ``instrument_count`` and ``api_key_count``
    (keys not revoked) (one query)."""
    return list(
        Lab.objects.filter(pk__in=labs_where(user, {Role.LAB_ADMIN}))
        .annotate(
            member_count=count_of(Membership.objects.filter(lab=OuterRef("pk"))),
            instrument_count=count_of(Instrument.objects.filter(lab=OuterRef("pk"))),
            api_key_count=count_of(
                InstrumentApiKey.objects.filter(instrument__lab=OuterRef("pk"), revoked_at__isnull=True)
            ),
        )
        .order_by("name")
    )
