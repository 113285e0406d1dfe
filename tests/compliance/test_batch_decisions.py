"""evaluate_many decides a rule once per distinct value of what it reads (decision_keys.py): its reports must equal
the straightforward evaluation of each document, value by value, and the keys must hold every value read.

The corpus: the example documents, every document of the rule tables (rule_cases.py, a case per rule and status),
and variants that differ from a table document only inside one part (one part taken from another document), so
keys repeat (memo hits) and differ (misses) inside one batch.
"""

import copy
import json
from pathlib import Path

import pytest

from evlims.compliance import evaluator
from evlims.compliance.decision_keys import ABSENT, MARKERS, KeyPlan, _positions_of, freeze, key_getter
from evlims.compliance.document import Experiment, validate_document
from evlims.compliance.errors import ExperimentDocumentError
from evlims.compliance.evaluator import _evaluate_resolved, evaluate_many, resolve_rulesets

from .rule_cases import CASES

EXAMPLES = sorted((Path(evaluator.__file__).parent / "examples").glob("*.json"))
PARTS = ("sample", "separation", "characterization", "claims", "prep_storage", "functional_studies", "flow")


def _corpus() -> list[dict]:
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES]
    documents += [copy.deepcopy(document) for _, _, document in CASES]
    variants = []
    for position, document in enumerate(documents):
        partner = documents[(position * 7 + 3) % len(documents)]
        for part in PARTS:
            if part in partner and partner.get(part) != document.get(part):
                variants.append({**copy.deepcopy(document), part: copy.deepcopy(partner[part])})
                break
    # Documents that differ from another only in what their markers say beyond their places (how each was measured,
    # its protein, its outcome, its lysate's description): what a marker condition's evidence says of a marker.
    with_markers = [d for d in documents if (d.get("characterization") or {}).get("markers")]
    for change in (_other_method, _other_outcome, _lysate_without_buffer, _other_protein):
        for document in with_markers:
            variant = copy.deepcopy(document)
            if any([change(marker) for marker in variant["characterization"]["markers"]]):
                variants.append(variant)
    # For every plain path a rule reads, documents that differ from another only by lacking it.
    for keys, fields in KeyPlan(resolve_rulesets(None)).atoms:
        if fields is not None:
            continue
        holding = [document for document in documents if _without(document, keys) is not None][:2]
        variants += [_without(document, keys) for document in holding]
    return documents + variants


def _other_method(marker: dict) -> bool:
    marker["method"] = "elisa" if marker["method"] != "elisa" else "western_blot"
    return True


def _other_protein(marker: dict) -> bool:
    marker["protein"] = f"{marker['protein']}-2"
    return True


def _other_outcome(marker: dict) -> bool:
    marker["detected"] = not marker["detected"]
    return True


def _lysate_without_buffer(marker: dict) -> bool:
    return isinstance(marker.get("lysate"), dict) and marker["lysate"].pop("buffer", None) is not None


def _without(document: dict, keys: tuple[str, ...]) -> dict | None:
    """The document without the value at keys; None when it has none."""
    copied = copy.deepcopy(document)
    parent = copied
    for key in keys[:-1]:
        parent = parent.get(key)
        if not isinstance(parent, dict):
            return None
    if keys[-1] not in parent:
        return None
    del parent[keys[-1]]
    try:
        validate_document(copied)
    except ExperimentDocumentError:
        return None
    return copied


CORPUS = _corpus()
RULESETS = resolve_rulesets(None)


def _plain(report) -> dict:
    """Everything a report holds, markers in evidence as what they are (the objects differ between documents)."""

    def detail(value):
        return ("marker", value.path, str(value), value.describe_key) if hasattr(value, "describe_key") else value

    return {
        "to_dict": report.to_dict(),
        "class": report.separation_class,
        "verdicts": {
            key: [
                (
                    v.rule_id,
                    v.status,
                    tuple((p, detail(d)) for p, d in v.evidence),
                    v._notes,
                    v._undecided_applicability,
                )
                for v in report_of_set.verdicts
            ]
            for key, report_of_set in report.rulesets.items()
        },
        "scores": {key: (score.points, score.applicable, score.components) for key, score in report.scores.items()},
    }


REFERENCE = [_plain(_evaluate_resolved(Experiment(document), RULESETS)) for document in CORPUS]


def _mismatches(reports) -> list[int]:
    return [index for index, report in enumerate(reports) if _plain(report) != REFERENCE[index]]


def test_corpus_has_repeated_and_distinct_keys():
    plan = KeyPlan(RULESETS)
    keyed = [position for position, (_, satisfied) in enumerate(plan.positions) if satisfied is not None]
    atoms = [plan.read(d) + plan.read_markers(Experiment(d).raw_markers)[0] for d in CORPUS]
    repeated = sum(len({key_getter(plan.positions[p][1])(a) for a in atoms}) < len(CORPUS) for p in keyed)
    assert len(CORPUS) > 600
    assert repeated == len(keyed), "every keyed rule meets one key in several documents"


def test_batch_reports_equal_the_straightforward_evaluation():
    assert _mismatches(evaluate_many(CORPUS)) == []


def test_batch_reports_equal_in_any_order_and_alone():
    assert _mismatches(list(reversed(evaluate_many(list(reversed(CORPUS)))))) == []
    assert _mismatches([evaluate_many([document])[0] for document in CORPUS[:50]]) == []


def test_a_key_without_any_one_of_its_values_gives_wrong_reports(monkeypatch):
    """Dropping any one atom (a read path's value) from the keys makes the batch disagree with the straightforward
    evaluation on this corpus: the test would catch a key that omits a path the rule reads."""
    plan = KeyPlan(RULESETS)
    undetected = []
    for atom, position in plan.index.items():
        if position == plan.separation:
            continue
        broken = copy.copy(plan)
        broken.positions = tuple(
            (
                None if applies is None else _positions_of(applies - {atom}, plan.index),
                None if satisfied is None else _positions_of(satisfied - {atom}, plan.index),
            )
            for applies, satisfied in plan.rule_atoms
        )
        monkeypatch.setitem(evaluator._KEY_PLANS, tuple(map(id, RULESETS)), (RULESETS, broken))
        if not _mismatches(evaluate_many(CORPUS, RULESETS)):  # these objects: a cleared rule set cache loads others
            undetected.append(atom)
    monkeypatch.undo()
    assert not undetected, f"the corpus does not show a wrong key without {undetected}"


@pytest.mark.parametrize(
    ("first", "second"),
    [(1, 1.0), (1, True), (0.0, -0.0), ({"a": 1, "b": 2}, {"b": 2, "a": 1}), (None, ABSENT), ("1", 1)],
)
def test_keys_never_confuse_values_of_another_type_or_sign(first, second):
    assert freeze(first) != freeze(second)


def test_documents_a_key_cannot_be_made_of_are_decided_directly():
    from collections import OrderedDict

    odd = OrderedDict(copy.deepcopy(CORPUS[0]))
    nulled = {**copy.deepcopy(CORPUS[0]), "characterization": None}
    reports = evaluate_many([odd, CORPUS[0]], validate=False)
    assert _plain(reports[0]) == _plain(reports[1]) == REFERENCE[0]
    assert _plain(evaluate_many([nulled], validate=False)[0]) == _plain(
        _evaluate_resolved(Experiment(nulled, validate=False), RULESETS)
    )


def test_a_marker_key_without_what_its_condition_reads_of_a_marker_gives_wrong_reports(monkeypatch):
    """Keying a marker condition by the markers' places alone, one group of conditions at a time, makes the batch
    disagree with the straightforward evaluation: the test would catch a projection that leaves out what a marker
    condition reads of a marker (its protein, outcome, method, antibody or lysate)."""
    plan = KeyPlan(RULESETS)
    # Groups read by a satisfied_when: an applies_when's evidence reaches a report only when the rule does not
    # apply, and then no marker is named (the rule sets' lysate check), so there a place-only key is no error.
    satisfied = {atom[1] for _, atoms in plan.rule_atoms if atoms for atom in atoms if atom[0] == MARKERS}
    undetected = []
    for position, group in enumerate(plan.marker_groups):
        if all(reads == "place" for _, reads in group) or group not in satisfied:
            continue
        broken = copy.copy(plan)
        broken.marker_groups = tuple(
            tuple((relevant, "place") for relevant, _ in other) if index == position else other
            for index, other in enumerate(plan.marker_groups)
        )
        broken._seen, broken._items = {}, {}
        monkeypatch.setitem(evaluator._KEY_PLANS, tuple(map(id, RULESETS)), (RULESETS, broken))
        if not _mismatches(evaluate_many(CORPUS, RULESETS)):  # these objects: a cleared rule set cache loads others
            undetected.append(position)
    monkeypatch.undo()
    assert not undetected, f"the corpus does not show a wrong marker key for groups {undetected}"
