"""Reads of the stored evaluations for the compliance pages, reports and exports, scoped to the user's labs:
the rules an evaluation names, its mandatory failures, the subjects (preparation, run, project) with their
evaluations. The reviews that sign them are read by ``evlims.review.selectors``.

Every function runs a fixed number of queries however many preparations there are (the page tests assert it at
two sizes).
"""

from functools import lru_cache

from ..characterization.models import Measurement, SizeBin
from ..core.errors import NotFound
from ..core.models import Project
from ..core.tenancy import visible_lab_ids
from ..isolation.models import EVPreparation, IsolationRun
from ..isolation.selectors import preparation_get as preparation_get  # the compliance pages read the subjects here
from ..isolation.selectors import preparations_in_state
from ..isolation.selectors import run_summary_get as run_summary_get
from .errors import RulesetError
from .evaluator import MANDATORY_LEVELS
from .models import ComplianceEvaluation
from .rulesets import default_rulesets, load_ruleset
from .stored_reports import full_report

MISEV_REPORT_KEYS = ("misev2018", "misev2023")
# Large JSON columns a list never shows: the queue and the tables leave them in the database.
HEAVY_EVALUATION_FIELDS = ("report", "document")
# The run status of a produced preparation (isolation.selectors.PREPARATION_STATES), for filters across relations.
PRODUCED_RUN = IsolationRun.Status.COMPLETED


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
    (``id``, ``title``, ``message``, ``fix``…) with the ``ruleset`` it belongs to, in the report's order. The
    report may be given as stored (compact or full) or already in full."""
    failures = []
    for key, part in (full_report(report) or {}).items():
        if report_keys is not None and key not in report_keys:
            continue
        for rule in (part or {}).get("rules", []) if isinstance(part, dict) else []:
            if rule.get("status") == "fail" and rule.get("level") in MANDATORY_LEVELS:
                failures.append({"ruleset": part.get("ruleset", key), **rule})
    return failures


def mandatory_failures_of(prep_ids) -> list[dict]:
    """Failed mandatory rules of the preparations' stored evaluations; for several (a run's), each rule's title
    names the preparation it is about. Only produced preparations count (an unproduced one has no evaluation)."""
    evaluations = (
        ComplianceEvaluation.objects.filter(preparation_id__in=prep_ids, preparation__run__status=PRODUCED_RUN)
        .select_related("preparation")
        .only("report", "preparation__barcode")
        .order_by("preparation_id")
    )
    failures = []
    for evaluation in evaluations:
        for failure in mandatory_failures(evaluation.full_report):
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


# ---------------------------------------------------------------- subjects


def project_get(user, pk) -> Project:
    project = Project.objects.filter(lab_id__in=visible_lab_ids(user), pk=pk).select_related("lab").first()
    if project is None:
        raise NotFound
    return project


def preparations_with_evaluations(*, run=None, project=None, full: bool = False) -> list[EVPreparation]:
    """The produced preparations of a run or a project with their evaluation and metrics (one query): the rows,
    study EV-METRIC, distributions, failures, reports and exports of the compliance pages. A preparation of a
    planned, in-progress or aborted run counts nowhere (docs/runs.md).

    ``full`` loads the stored reports too (reports and CSVs need them; tables do not).
    """
    preparations = (
        preparations_in_state(EVPreparation.objects.all())
        .select_related("run__project", "input_aliquot__sample", "evaluation", "metrics")
        .order_by("run__code", "barcode")
    )
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
