"""Reads of protocols, runs and preparations, scoped to the user's labs (library protocols are shared)."""

from django.db.models import Count, OuterRef, Prefetch, Q

from ..core.errors import NotFound
from ..core.models import AuditEvent
from ..core.paging import attach, count_of
from ..core.tenancy import visible_lab_ids
from .models import EVPreparation, IsolationRun, PreparationState, Protocol, ProtocolVersion, RunStep


def protocols_for(user):
    return Protocol.objects.filter(Q(lab__isnull=True) | Q(lab_id__in=visible_lab_ids(user))).prefetch_related(
        Prefetch("versions", queryset=ProtocolVersion.objects.order_by("created_at"))
    )


def protocol_versions_for(user):
    return ProtocolVersion.objects.filter(
        Q(protocol__lab__isnull=True) | Q(protocol__lab_id__in=visible_lab_ids(user))
    ).select_related("protocol", "approved_by", "created_by")


def protocol_version_get(user, pk) -> ProtocolVersion:
    version = protocol_versions_for(user).filter(pk=pk).first()
    if version is None:
        raise NotFound
    return version


def approved_versions_for(user):
    return protocol_versions_for(user).filter(status=ProtocolVersion.Status.APPROVED)


def runs_for(user):
    return (
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user))
        .select_related("project", "operator", "protocol_version__protocol")
        .annotate(preparation_count=Count("preparations", distinct=True))
    )


def run_list(user, *, status: str = "", protocol=None, operator=None, search: str = ""):
    """Runs of the user's labs matching the filters, newest first; nothing aggregated (see ``with_run_counts``).

    ``search`` matches part of the run code, the protocol's name, or the operator's username or name."""
    runs = IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user)).select_related(
        "project", "operator", "protocol_version__protocol"
    )
    if search:
        runs = runs.filter(
            Q(code__icontains=search)
            | Q(protocol_name__icontains=search)
            | Q(protocol_version__protocol__title__icontains=search)
            | Q(operator__username__icontains=search)
            | Q(operator__first_name__icontains=search)
            | Q(operator__last_name__icontains=search)
        )
    if status:
        runs = runs.filter(status=status)
    if protocol is not None:
        runs = runs.filter(protocol_version__protocol=protocol)
    if operator is not None:
        runs = runs.filter(operator=operator)
    return runs.order_by("-created_at", "-id")


def with_run_counts(runs) -> None:
    """``preparation_count`` and ``step_count`` (steps recorded) on one page of runs (one query)."""
    attach(
        runs,
        preparation_count=count_of(EVPreparation.objects.filter(run=OuterRef("pk"))),
        step_count=count_of(RunStep.objects.filter(run=OuterRef("pk"))),
    )


def run_get(user, pk) -> IsolationRun:
    """One run of the user's labs with its lab, project, operator and protocol, its recorded steps and its
    preparations (input sample, results): the run page, the API's run, its compliance page and report."""
    run = (
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk)
        .select_related("lab", "project", "operator", "protocol_version__protocol")
        .prefetch_related(
            Prefetch("steps", queryset=RunStep.objects.select_related("recorded_by").order_by("number")),
            Prefetch(
                "preparations",
                queryset=EVPreparation.objects.select_related("input_aliquot__sample").prefetch_related("measurements"),
            ),
        )
        .first()
    )
    if run is None:
        raise NotFound
    return run


def run_summary_get(user, pk) -> IsolationRun:
    """One run of the user's labs with its lab, project and operator only: the compliance pages and reports,
    which read the run's evaluation, not its steps or preparations (run_get prefetches those)."""
    run = (
        IsolationRun.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk)
        .select_related("lab", "project", "operator")
        .first()
    )
    if run is None:
        raise NotFound
    return run


def preparations_for(user):
    return EVPreparation.objects.filter(lab_id__in=visible_lab_ids(user)).select_related("run", "input_aliquot__sample")


# Which preparations a list shows: by default those produced (their run completed); "all" adds the preparations of
# planned, in-progress and aborted runs, whose barcodes were issued at planning.
PREPARATION_STATES = {
    PreparationState.PRODUCED: Q(run__status=IsolationRun.Status.COMPLETED),
    PreparationState.NOT_PRODUCED: Q(run__status__in=[IsolationRun.Status.PLANNED, IsolationRun.Status.IN_PROGRESS]),
    PreparationState.ABORTED: Q(run__status=IsolationRun.Status.ABORTED),
}
ALL_STATES = "all"


def preparations_in_state(preparations, state: str = PreparationState.PRODUCED):
    """``preparations`` narrowed to one state (produced, not_produced, aborted), or all of them (``"all"``)."""
    if state == ALL_STATES:
        return preparations
    return preparations.filter(PREPARATION_STATES[PreparationState(state)])


def preparation_ids_resting_on(*, sample=None, donor=None, aliquot=None, run=None) -> list[int]:
    """The preparations whose evaluation reads this record: those made from the sample's (or the donor's samples')
    aliquots, from the aliquot, or in the run. What an edit page asks approvals_affected about."""
    lookup = {}
    if sample is not None:
        lookup["input_aliquot__sample"] = sample
    if donor is not None:
        lookup["input_aliquot__sample__donor"] = donor
    if aliquot is not None:
        lookup["input_aliquot"] = aliquot
    if run is not None:
        lookup["run"] = run
    if not lookup:
        return []
    return list(EVPreparation.objects.filter(**lookup).values_list("pk", flat=True))


def preparation_get(user, pk) -> EVPreparation:
    """One preparation of the user's labs with what its pages and the API show in one query: lab, run, project,
    operator, protocol, input sample and donor, and the one-to-one records the domains above keep on it (its
    ``evaluation`` and ``metrics``, named by relation, not imported)."""
    preparation = (
        preparations_for(user)
        .filter(pk=pk)
        .select_related(
            "lab",
            "run__project",
            "run__operator",
            "run__protocol_version__protocol",
            "input_aliquot__sample__donor",
            "metrics",
            "evaluation",
        )
        .first()
    )
    if preparation is None:
        raise NotFound
    return preparation


def step_rows(run) -> list[dict]:
    """The protocol's steps side by side with what was recorded (run fetched with run_get: no extra queries)."""
    recorded = {step.number: step for step in run.steps.all()}
    definitions = run.protocol_version.steps if run.protocol_version else []
    return [
        {"number": number, "definition": definition, "record": recorded.get(number)}
        for number, definition in enumerate(definitions, start=1)
    ]


# The audit actions that write a protocol version's content.
PROTOCOL_AUTHORING = ("protocol_version.create", "protocol_version.update_draft")


def protocol_version_authors(version_ids) -> set[int]:
    """Everyone who wrote content of these protocol versions: their creators and whoever saved a draft over
    them (the ``protocol_version.create`` / ``update_draft`` audit events). None of them may approve a version
    or a review of a run made with it."""
    ids = [int(pk) for pk in version_ids if pk is not None]
    if not ids:
        return set()
    creators = ProtocolVersion.objects.filter(pk__in=ids, created_by__isnull=False).values_list("created_by", flat=True)
    editors = AuditEvent.objects.filter(
        object_type=ProtocolVersion._meta.model_name,
        object_id__in=[str(pk) for pk in ids],
        action__in=PROTOCOL_AUTHORING,
        actor__isnull=False,
    ).values_list("actor", flat=True)
    return set(creators) | set(editors)
