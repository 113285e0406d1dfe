"""Reads for the QA review pages and the API, scoped to the user's labs: reviews with their signatures, a
subject's review history, the QA queue with its filters, and the audit trail of the records reviewed.

Every function runs a fixed number of queries however many reviews or signatures there are (the page tests
assert it at two sizes).
"""

import datetime as dt

from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

from ..compliance.models import ComplianceEvaluation, Review, Signature
from ..compliance.selectors import PRODUCED_RUN
from ..core.errors import NotFound
from ..core.models import AuditEvent, Project
from ..core.tenancy import REVIEWER_ROLES, labs_where, visible_lab_ids
from ..isolation.models import EVPreparation, IsolationRun

AWAITING_STATES = (Review.State.SUBMITTED, Review.State.VERIFIED)


# ---------------------------------------------------------------- reviews and signatures


def _signatures():
    return Prefetch("signatures", queryset=Signature.objects.select_related("signer").order_by("signed_at", "id"))


def review_get(user, pk) -> Review:
    review = (
        Review.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk)
        .select_related(
            "lab",
            "submitted_by",
            "preparation__run__project",
            "preparation__run__operator",
            "preparation__input_aliquot__sample",
            "preparation__evaluation",
            "run__project",
            "run__operator",
        )
        .prefetch_related(_signatures())
        .first()
    )
    if review is None:
        raise NotFound
    return review


def review_history(*, preparation=None, run=None) -> list[Review]:
    """Every review of the subject, newest first, with signatures and how each closed (three queries).

    A preparation's history includes the reviews of its run: an approved run locks its preparations.
    """
    if preparation is not None:
        subject = Q(preparation=preparation) | Q(run_id=preparation.run_id)
    else:
        subject = Q(run=run)
    reviews = list(
        Review.objects.filter(subject)
        .select_related("submitted_by", "preparation", "run")
        .prefetch_related(_signatures())
        .order_by("-submitted_at", "-id")
    )
    voids = {
        event.object_id: event
        for event in AuditEvent.objects.filter(
            object_type="review", action="review.void", object_id__in=[str(r.pk) for r in reviews]
        ).select_related("actor")
    }
    for review in reviews:
        review.void_event = voids.get(str(review.pk))
    return reviews


def open_review(reviews) -> Review | None:
    """The review that is submitted, verified or approved (at most one per subject), from review_history."""
    open_states = (*AWAITING_STATES, Review.State.APPROVED)
    return next((review for review in reviews if review.state in open_states), None)


def locked_preparation_ids(preparation_ids) -> set[int]:
    """Preparations approved directly or through their run (two queries)."""
    ids = list(preparation_ids)
    direct = Review.objects.filter(state=Review.State.APPROVED, preparation_id__in=ids).values_list(
        "preparation_id", flat=True
    )
    by_run = EVPreparation.objects.filter(pk__in=ids, run__reviews__state=Review.State.APPROVED).values_list(
        "pk", flat=True
    )
    return set(direct) | set(by_run)


def approvals_covering(preparation_ids) -> list[dict]:
    """The approved reviews covering these preparations (directly or through their run), described in the lab's
    words for the warning shown before a change voids them (two queries)."""
    ids = list(preparation_ids)
    if not ids:
        return []
    reviews = (
        Review.objects.filter(state=Review.State.APPROVED)
        .filter(Q(preparation_id__in=ids) | Q(run__preparations__in=ids))
        .select_related("preparation", "run")
        .distinct()
        .order_by("closed_at", "id")
    )
    approvals = []
    signatures = Signature.objects.filter(review__in=reviews, meaning=Signature.Meaning.APPROVED)
    approvers = {s.review_id: s for s in signatures.select_related("signer")}
    for review in reviews:
        subject = f"Preparation {review.preparation.barcode}" if review.preparation_id else f"Run {review.run.code}"
        signature = approvers.get(review.pk)
        approvals.append(
            {
                "review_id": review.pk,
                "subject": subject,
                "approved_at": signature.signed_at if signature else review.closed_at,
                "approved_by": signature.signer.get_full_name() or signature.signer.get_username() if signature else "",
            }
        )
    return approvals


# ---------------------------------------------------------------- the QA queue


def _failing_token(rule_key: str) -> str:
    # failed_rules is a JSON list of strings: the quoted id matches one whole entry, never a longer id
    # that starts the same (M18.PROT.CAT1 must not match M18.PROT.CAT10).
    return f'"{rule_key}"'


def review_queue(
    user, *, project=None, method: str = "", biofluid: str = "", failing_rule: str = "", older_than_days=None
):
    """Reviews awaiting verification or approval in the labs where the user reviews, oldest first.

    Preparation reviews carry their evaluation's score and failures as annotations; run reviews get theirs
    from ``attach_run_summaries`` once the page is cut. A run's filters look at its produced preparations only
    (a preparation of a planned, in-progress or aborted run counts nowhere).
    """
    reviews = Review.objects.filter(lab_id__in=labs_where(user, REVIEWER_ROLES), state__in=AWAITING_STATES)
    if project is not None:
        reviews = reviews.filter(Q(preparation__run__project=project) | Q(run__project=project))
    if method:
        reviews = reviews.filter(
            Q(preparation__run__method=method, preparation__run__status=PRODUCED_RUN) | Q(run__method=method)
        )
    if biofluid:
        run_has_biofluid = EVPreparation.objects.filter(
            run=OuterRef("run"), run__status=PRODUCED_RUN, input_aliquot__sample__biofluid=biofluid
        )
        reviews = reviews.filter(
            Q(preparation__input_aliquot__sample__biofluid=biofluid, preparation__run__status=PRODUCED_RUN)
            | Exists(run_has_biofluid)
        )
    if failing_rule:
        token = _failing_token(failing_rule)
        run_fails = ComplianceEvaluation.objects.filter(
            preparation__run=OuterRef("run"), preparation__run__status=PRODUCED_RUN, failed_rules__icontains=token
        )
        reviews = reviews.filter(
            Q(preparation__evaluation__failed_rules__icontains=token, preparation__run__status=PRODUCED_RUN)
            | Exists(run_fails)
        )
    if older_than_days:
        reviews = reviews.filter(submitted_at__lte=timezone.now() - dt.timedelta(days=older_than_days))
    return (
        reviews.select_related(
            "lab",
            "submitted_by",
            "preparation__run__project",
            "preparation__input_aliquot__sample",
            "run__project",
        )
        .annotate(
            ev_metric_pct=F("preparation__evaluation__ev_metric_pct"),
            failed_rules=F("preparation__evaluation__failed_rules"),
            evaluated_rulesets=F("preparation__evaluation__rulesets"),
        )
        .prefetch_related(_signatures())
        .order_by("submitted_at", "id")
    )


def attach_run_summaries(reviews) -> None:
    """Give every run review on a page its preparations' scores and failures (one query for the page)."""
    run_ids = {review.run_id for review in reviews if review.run_id}
    by_run: dict[int, list] = {run_id: [] for run_id in run_ids}
    rows = ComplianceEvaluation.objects.filter(preparation__run_id__in=run_ids, preparation__run__status=PRODUCED_RUN)
    rows = rows.values_list("preparation__run_id", "ev_metric_pct", "failed_rules", "rulesets")
    for run_id, score, failed, rulesets in rows:
        by_run[run_id].append((score, failed, rulesets))
    for review in reviews:
        if review.run_id:
            review.run_evaluations = by_run[review.run_id]


def queue_methods(user) -> list[str]:
    methods = (
        IsolationRun.objects.filter(lab_id__in=labs_where(user, REVIEWER_ROLES))
        .exclude(method="")
        .order_by("method")
        .values_list("method", flat=True)
        .distinct()
    )
    return list(methods)


def queue_projects(user):
    return Project.objects.filter(lab_id__in=labs_where(user, REVIEWER_ROLES)).order_by("code")


# ---------------------------------------------------------------- audit


def audit_events(*, object_types_ids: list[tuple[str, list]], limit: int = 50) -> tuple[int, list[AuditEvent]]:
    """(how many events, the newest ``limit`` of them) for the given records (two queries)."""
    condition = Q(pk__in=[])
    for object_type, ids in object_types_ids:
        condition |= Q(object_type=object_type, object_id__in=[str(pk) for pk in ids])
    events = AuditEvent.objects.filter(condition)
    return events.count(), list(events.select_related("actor").order_by("-id")[:limit])
