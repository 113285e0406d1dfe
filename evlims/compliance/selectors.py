"""Reads for the compliance pages, reports and exports, scoped to the user's labs.

Every function runs a fixed number of queries however many preparations, reviews or signatures there are
(the page tests assert it at two sizes).
"""

import datetime as dt
from functools import lru_cache

from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

from ..characterization.models import Measurement, SizeBin
from ..core.errors import NotFound
from ..core.models import AuditEvent, Project
from ..core.tenancy import REVIEWER_ROLES, labs_where, visible_lab_ids
from ..isolation.models import EVPreparation, IsolationRun
from ..isolation.selectors import preparation_get as preparation_get  # the compliance pages read the subjects here
from ..isolation.selectors import protocol_version_authors
from ..isolation.selectors import run_get as run_get
from .errors import RulesetError
from .evaluator import MANDATORY_LEVELS
from .models import ComplianceEvaluation, Review, Signature
from .rulesets import default_rulesets, load_ruleset

AWAITING_STATES = (Review.State.SUBMITTED, Review.State.VERIFIED)
MISEV_REPORT_KEYS = ("misev2018", "misev2023")
# Large JSON columns a list never shows: the queue and the tables leave them in the database.
HEAVY_EVALUATION_FIELDS = ("report", "document")


# ---------------------------------------------------------------- rules named in stored evaluations


@lru_cache(maxsize=32)
def _rules_by_key(versions: tuple[tuple[str, int], ...]) -> dict[tuple[str, str], object]:
    """{(report key, rule id): Rule} for the rule-set versions an evaluation recorded."""
    rulesets = []
    for name, version in versions:
        try:
            rulesets.append(load_ruleset(f"{name}@{version}"))
        except RulesetError:
            # A version no longer on disk: the latest of that rule set still names its rules.
            rulesets.extend(ruleset for ruleset in default_rulesets() if ruleset.name == name)
    return {(ruleset.report_key, rule.id): rule for ruleset in rulesets for rule in ruleset.rules}


def rules_for(rulesets: dict | None) -> dict[tuple[str, str], object]:
    versions = rulesets or {ruleset.name: ruleset.version for ruleset in default_rulesets()}
    return _rules_by_key(tuple(sorted(versions.items())))


def mandatory_misev_failures(failed_rules, rulesets) -> list[str]:
    """Ids of failed MISEV2018/MISEV2023 rules that are mandatory (a failed "mandatory if applicable" rule
    applied, so it counts), from an evaluation's ``failed_rules`` ("report key:rule id")."""
    rules = rules_for(rulesets)
    failures = []
    for entry in failed_rules or []:
        key, _, rule_id = entry.partition(":")
        rule = rules.get((key, rule_id))
        if key in MISEV_REPORT_KEYS and rule is not None and rule.level in MANDATORY_LEVELS:
            failures.append(rule_id)
    return failures


def mandatory_failures(report: dict | None, report_keys=None) -> list[dict]:
    """The failed mandatory rules of a stored evaluation's report: a ``mandatory`` rule that failed, or a
    ``mandatory_if_applicable`` one that applied and failed. Of every checklist rule set (MISEV2018, MISEV2023,
    purity, MIBlood-EV), or of the report keys in ``report_keys`` only (``MISEV_REPORT_KEYS``: the mandatory
    MISEV failures the QA queue counts and the preparation page lists). Each is the rule as the report holds it
    (``id``, ``title``, ``message``, ``fix``…) with the ``ruleset`` it belongs to, in the report's order."""
    failures = []
    for key, part in (report or {}).items():
        if report_keys is not None and key not in report_keys:
            continue
        for rule in (part or {}).get("rules", []) if isinstance(part, dict) else []:
            if rule.get("status") == "fail" and rule.get("level") in MANDATORY_LEVELS:
                failures.append({"ruleset": part.get("ruleset", key), **rule})
    return failures


def mandatory_failures_of(prep_ids) -> list[dict]:
    """Failed mandatory rules of the preparations' stored evaluations; for several (a run's), each rule's title
    names the preparation it is about."""
    evaluations = (
        ComplianceEvaluation.objects.filter(preparation_id__in=prep_ids)
        .select_related("preparation")
        .only("report", "preparation__barcode")
        .order_by("preparation_id")
    )
    failures = []
    for evaluation in evaluations:
        for failure in mandatory_failures(evaluation.report):
            if len(prep_ids) > 1:
                failure = failure | {"title": f"{evaluation.preparation.barcode}: {failure['title']}"}
            failures.append(failure)
    return failures


def rule_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every rule of the current checklist rule sets, grouped by rule set, as "report key:rule id" choices.

    EV-METRIC components are included: an unmet component is listed among an evaluation's failed rules.
    """
    groups = []
    for ruleset in default_rulesets():
        options = [(f"{ruleset.report_key}:{rule.id}", f"{rule.id} — {rule.title}") for rule in ruleset.rules]
        groups.append((f"{ruleset.name}@{ruleset.version}", options))
    return groups


def _failing_token(rule_key: str) -> str:
    # failed_rules is a JSON list of strings: the quoted id matches one whole entry, never a longer id
    # that starts the same (M18.PROT.CAT1 must not match M18.PROT.CAT10).
    return f'"{rule_key}"'


# ---------------------------------------------------------------- subjects


def project_get(user, pk) -> Project:
    project = Project.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk).select_related("lab").first()
    if project is None:
        raise NotFound
    return project


def preparations_with_evaluations(*, run=None, project=None, full: bool = False) -> list[EVPreparation]:
    """The preparations of a run or a project with their evaluation and metrics (one query).

    ``full`` loads the stored reports too (reports and CSVs need them; tables do not).
    """
    preparations = EVPreparation.objects.select_related(
        "run__project", "input_aliquot__sample", "evaluation", "metrics"
    ).order_by("run__code", "barcode")
    if not full:
        preparations = preparations.defer(*(f"evaluation__{name}" for name in HEAVY_EVALUATION_FIELDS))
    if run is not None:
        preparations = preparations.filter(run=run)
    if project is not None:
        preparations = preparations.filter(run__project=project)
    return list(preparations)


def evaluation_of(preparation) -> ComplianceEvaluation | None:
    """The evaluation fetched with the preparation (select_related), or None when there is none yet."""
    try:
        return preparation.evaluation
    except ComplianceEvaluation.DoesNotExist:
        return None


def particle_size_bins(preparation) -> list[tuple[Measurement, list[float], list[float]]]:
    """The preparation's particle measurements that hold a size distribution, with their bins (two queries)."""
    measurements = list(
        Measurement.objects.filter(preparation=preparation, kind=Measurement.Kind.PARTICLE).order_by(
            "measured_at", "id"
        )
    )
    bins: dict[int, tuple[list[float], list[float]]] = {}
    rows = (
        SizeBin.objects.filter(analysis__measurement_id__in=[m.pk for m in measurements])
        .order_by("analysis__measurement_id", "bin_center_nm")
        .values_list("analysis__measurement_id", "bin_center_nm", "concentration_per_ml")
    )
    for measurement_id, centre, value in rows:
        centres, values = bins.setdefault(measurement_id, ([], []))
        centres.append(centre)
        values.append(value)
    return [(m, *bins[m.pk]) for m in measurements if m.pk in bins]


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


# ---------------------------------------------------------------- the QA queue


def review_queue(
    user, *, project=None, method: str = "", biofluid: str = "", failing_rule: str = "", older_than_days=None
):
    """Reviews awaiting verification or approval in the labs where the user reviews, oldest first.

    Preparation reviews carry their evaluation's score and failures as annotations; run reviews get theirs
    from ``attach_run_summaries`` once the page is cut.
    """
    reviews = Review.objects.filter(lab_id__in=labs_where(user, REVIEWER_ROLES), state__in=AWAITING_STATES)
    if project is not None:
        reviews = reviews.filter(Q(preparation__run__project=project) | Q(run__project=project))
    if method:
        reviews = reviews.filter(Q(preparation__run__method=method) | Q(run__method=method))
    if biofluid:
        run_has_biofluid = EVPreparation.objects.filter(run=OuterRef("run"), input_aliquot__sample__biofluid=biofluid)
        reviews = reviews.filter(Q(preparation__input_aliquot__sample__biofluid=biofluid) | Exists(run_has_biofluid))
    if failing_rule:
        token = _failing_token(failing_rule)
        run_fails = ComplianceEvaluation.objects.filter(preparation__run=OuterRef("run"), failed_rules__icontains=token)
        reviews = reviews.filter(Q(preparation__evaluation__failed_rules__icontains=token) | Exists(run_fails))
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
    rows = ComplianceEvaluation.objects.filter(preparation__run_id__in=run_ids).values_list(
        "preparation__run_id", "ev_metric_pct", "failed_rules", "rulesets"
    )
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


# ---------------------------------------------------------------- separation of duties


def _audit_actors(objects: dict) -> set[int]:
    """Users named as actor of any audit event on ``objects`` ({model: ids})."""
    match = Q(pk__in=[])
    for model, ids in objects.items():
        ids = [str(pk) for pk in ids if pk is not None]
        if ids:
            match |= Q(object_type=model._meta.model_name, object_id__in=ids)
    return set(AuditEvent.objects.filter(match, actor__isnull=False).values_list("actor", flat=True).distinct())


def review_producers(review) -> set[int]:
    """Everyone who created or changed a record the review covers, read from the records and the audit trail:
    the submitter; the run's operator and whoever recorded its steps or changed it; the authors and editors of
    its protocol version; whoever changed the preparations, their input aliquots (and the aliquots they were
    split from), samples and donors; whoever recorded, uploaded or committed a result on the preparations or
    their input samples. None of them may verify or approve the review."""
    from ..instruments.models import Ingestion, RawFile
    from ..isolation.models import RunStep
    from ..samples.models import Aliquot, Donor, Sample

    run = review.run or review.preparation.run
    preparations = EVPreparation.objects.filter(pk=review.preparation_id) if review.preparation_id else run.preparations
    rows = list(
        preparations.values_list("pk", "input_aliquot", "input_aliquot__sample", "input_aliquot__sample__donor")
    )
    prep_ids = [row[0] for row in rows]
    sample_ids = {row[2] for row in rows}
    donor_ids = {row[3] for row in rows if row[3] is not None}
    aliquot_ids, parents = set(), {row[1] for row in rows}
    while parents - aliquot_ids:  # walk up the split tree: an aliquot split from another carries its history
        aliquot_ids |= parents
        parents = set(Aliquot.objects.filter(pk__in=parents, parent__isnull=False).values_list("parent", flat=True))
    measurements = list(
        Measurement.objects.filter(Q(preparation__in=prep_ids) | Q(input_sample__in=sample_ids)).values_list(
            "pk", "recorded_by", "ingestion", "raw_file"
        )
    )
    producers = {review.submitted_by_id, run.operator_id}
    producers |= {recorded_by for _, recorded_by, _, _ in measurements}
    producers |= set(RunStep.objects.filter(run=run).values_list("recorded_by", flat=True))
    producers |= protocol_version_authors([run.protocol_version_id])
    producers |= _audit_actors(
        {
            IsolationRun: [run.pk],
            EVPreparation: prep_ids,
            Aliquot: aliquot_ids,
            Sample: sample_ids,
            Donor: donor_ids,
            Measurement: [m[0] for m in measurements],
            Ingestion: {m[2] for m in measurements},
            RawFile: {m[3] for m in measurements},
        }
    )
    return producers - {None}
