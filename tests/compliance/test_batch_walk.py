"""The batch evaluator's parts below the reports (test_batch_decisions.py proves the reports): the markers made once
per equal entry and shared between documents, the markers of a document made only when read, the generated walk."""

import copy
import json
from pathlib import Path

import pytest

from evlims.compliance import evaluator
from evlims.compliance.batch_walk import walk_factory
from evlims.compliance.decision_keys import MARKERS, KeyPlan
from evlims.compliance.document import Experiment, Marker
from evlims.compliance.evaluator import _evaluate_resolved, evaluate_many, resolve_rulesets
from evlims.compliance.markers import marker_vocabulary
from evlims.compliance.rulesets import RuleSet

EXAMPLES = sorted((Path(evaluator.__file__).parent / "examples").glob("*.json"))


def _with_markers() -> dict:
    for path in EXAMPLES:
        document = json.loads(path.read_text(encoding="utf-8"))
        if len((document.get("characterization") or {}).get("markers") or ()) >= 2:
            return document
    raise AssertionError("no example with two markers")


def _fields(marker: Marker) -> tuple:
    return tuple(getattr(marker, name) for name in Marker.__slots__)


def test_markers_are_made_when_first_read_and_equal_the_entries():
    document = _with_markers()
    experiment = Experiment(document)
    assert not isinstance(experiment._markers, tuple)
    assert experiment.raw_markers is document["characterization"]["markers"]
    vocabulary = marker_vocabulary()
    expected = [_fields(Marker(i, entry, vocabulary)) for i, entry in enumerate(experiment.raw_markers)]
    assert [_fields(marker) for marker in experiment.markers] == expected
    assert experiment.markers is experiment.markers
    without = copy.deepcopy(document)
    del without["characterization"]["markers"]
    assert Experiment(without).markers is None


def test_adopted_markers_never_replace_markers_already_made():
    document = _with_markers()
    made = Experiment(document)
    own = made.markers
    made.adopt_markers(Experiment(copy.deepcopy(document)).markers)
    assert made.markers is own
    fresh = Experiment(document)
    other = Experiment(copy.deepcopy(document)).markers
    fresh.adopt_markers(other)
    assert fresh.markers is other


def test_equal_marker_entries_share_one_marker_equal_to_their_own():
    plan = KeyPlan(resolve_rulesets(None))
    document = _with_markers()
    copied = copy.deepcopy(document)
    first_key, first = plan.read_markers(document["characterization"]["markers"])
    second_key, second = plan.read_markers(copied["characterization"]["markers"])
    assert first_key == second_key
    assert all(a is b for a, b in zip(first, second, strict=True))
    own = Experiment(copied, validate=False).markers
    assert [_fields(marker) for marker in second] == [_fields(marker) for marker in own]
    # Another outcome, method or lysate at one place is another marker (and another key where a group reads it).
    changed = copy.deepcopy(document)
    changed["characterization"]["markers"][0]["detected"] = not changed["characterization"]["markers"][0]["detected"]
    changed_key, changed_markers = plan.read_markers(changed["characterization"]["markers"])
    assert changed_markers[0] is not first[0] and changed_markers[0].detected is not first[0].detected
    assert changed_key != first_key
    assert changed_markers[1] is first[1]


def test_an_outcome_of_one_is_not_the_outcome_true():
    plan = KeyPlan(resolve_rulesets(None))
    document = _with_markers()
    markers = copy.deepcopy(document["characterization"]["markers"])
    markers[0]["detected"] = True
    as_one = copy.deepcopy(markers)
    as_one[0]["detected"] = 1
    _, with_true = plan.read_markers(markers)
    _, with_one = plan.read_markers(as_one)
    assert with_true[0] is not with_one[0] and with_one[0].detected == 1 and with_one[0].detected is not True


def test_the_batch_hands_its_markers_to_the_documents_it_keys():
    document = _with_markers()
    experiments = [Experiment(document), Experiment(copy.deepcopy(document))]
    evaluate_many(experiments)
    assert all(a is b for a, b in zip(experiments[0].markers, experiments[1].markers, strict=True))


def test_a_walk_is_generated_once_per_shape_and_keys():
    plan = KeyPlan(resolve_rulesets(None))
    shape = tuple(len(ruleset.rules) for ruleset in resolve_rulesets(None))
    factory = walk_factory(shape, plan.positions, plan.width)
    assert walk_factory(shape, plan.positions, plan.width) is factory
    other = ((None, ()),) + plan.positions[1:]
    assert walk_factory(shape, other, plan.width) is not factory
    # Each batch starts empty tables of its own.
    steps = [object()] * len(plan.positions)
    _, tables = factory(steps, None, None, None, object())
    _, again = factory(steps, None, None, None, object())
    assert len(tables) == 2 * len(plan.positions) and all(a is not b for a, b in zip(tables, again, strict=True))


def _lysate_ruleset(applies_when: dict) -> RuleSet:
    return RuleSet.from_mapping(
        {
            "ruleset": "lysates",
            "version": 1,
            "title": "Lysates",
            "scoring": "checklist",
            "citation": {"source": "test", "status": "D"},
            "rules": [
                {
                    "id": "L.VOLUME",
                    "title": "A volume",
                    "level": "mandatory_if_applicable",
                    "citation": {"source": "test", "status": "D"},
                    "applies_when": applies_when,
                    "satisfied_when": {"field_present": ["sample.volume_ml"]},
                    "missing_message": "No volume.",
                    "fix": "Record it.",
                }
            ],
        },
        source="lysates",
    )


def _lysate_documents() -> list[dict]:
    """Documents whose markers, all measured in a lysate, differ only by their proteins."""
    document = _with_markers()
    for marker in document["characterization"]["markers"]:
        marker["lysate"] = {"buffer": "RIPA", "protocol": "on ice"}
    renamed = copy.deepcopy(document)
    for marker in renamed["characterization"]["markers"]:
        marker["protein"] = "CD63" if marker["protein"] != "CD63" else "CD81"
    return [document, renamed]


@pytest.mark.parametrize(
    "applies_when",
    [
        {"lysate_analysed": True},
        {"not": {"lysate_analysed": True}},
        {"all": [{"lysate_analysed": True}, {"field_present": ["sample.tissue_mass_mg"]}]},
    ],
)
def test_a_marker_condition_reads_less_only_as_a_whole_applies_when(applies_when):
    """As a rule's whole applies_when, lysate_analysed is keyed by where the lysates are; nested (under not, or in
    all), its outcome names the proteins and reaches the verdict, so its key must hold them."""
    ruleset = _lysate_ruleset(applies_when)
    documents = _lysate_documents()
    batch = evaluate_many(documents, [ruleset])
    alone = [_evaluate_resolved(Experiment(document), (ruleset,)) for document in documents]
    for report, expected in zip(batch, alone, strict=True):
        assert report.to_dict() == expected.to_dict()
    plan = KeyPlan((ruleset,))
    ((applies, _),) = plan.rule_atoms
    ((_, group),) = [atom for atom in applies if atom[0] == MARKERS]
    ((_, reads),) = group
    assert reads == ("place" if "lysate_analysed" in applies_when else "name")
