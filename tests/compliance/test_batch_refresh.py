"""The batch paths of compliance (docs/performance.md, round two): stored evaluations upserted in bulk, the
cyclic collector paused only for a batch, evidence words cached per source of the forms' words."""

import gc

import pytest

from evlims.compliance import services, wording
from evlims.compliance.errors import ExperimentDocumentError
from evlims.compliance.evaluator import evaluate_many
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.compliance.models import ComplianceEvaluation
from tests.run_states import completed_plasma_sec_run


@pytest.fixture
def run(staff, project):
    return completed_plasma_sec_run(staff, project)


@pytest.mark.django_db
def test_a_refresh_creates_and_updates_in_one_call_keeping_ids_and_creation_times(run):
    ids = sorted(run.preparations.values_list("pk", flat=True))
    assert services.evaluate_preparations(ids[:1]) == 1
    first = ComplianceEvaluation.objects.get(preparation_id=ids[0])

    assert services.evaluate_preparations(ids, force=True) == len(ids)

    stored = {e.preparation_id: e for e in ComplianceEvaluation.objects.filter(preparation_id__in=ids)}
    assert sorted(stored) == ids
    again = stored[ids[0]]
    assert (again.pk, again.created_at, again.lab_id) == (first.pk, first.created_at, first.lab_id)
    assert again.evaluated_at > first.evaluated_at
    documents = experiment_documents(preparations_with_evidence(ids))
    for pk, report in zip(ids, evaluate_many([documents[pk] for pk in ids]), strict=True):
        assert stored[pk].full_report == report.to_dict()
        assert stored[pk].document == documents[pk]
        assert stored[pk].evidence_hash == services.canonical_hash(documents[pk])
    assert services.evaluate_preparations(ids) == 0  # unchanged evidence is not evaluated again


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_restored_after_a_batch_even_a_refused_one(enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        evaluate_many([{"sample": {"biofluid": "urine", "volume_ml": 2}, "separation": []}])
        assert gc.isenabled() is enabled
        with pytest.raises(ExperimentDocumentError):
            evaluate_many([{"sample": {"volume_ml": "lots"}}])
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_cached_words_follow_the_registered_source_of_the_forms_words(monkeypatch):
    registered = wording.describe("sample.anticoagulant", "k2_edta")
    monkeypatch.setattr(wording.choice_label_source, "_implementation", lambda: {"k2_edta": "Dipotassium EDTA"})
    assert wording.describe("sample.anticoagulant", "k2_edta") == "Dipotassium EDTA"
    monkeypatch.undo()
    assert wording.describe("sample.anticoagulant", "k2_edta") == registered
    # Equal values of different types are described apart.
    assert wording.describe("sample.fasting", True) == "yes"
    assert wording.describe("sample.fasting", 1) == "1"


def test_shared_evidence_and_cached_words_give_each_verdict_its_own_equal_copy():
    from tests.compliance.builders import experiment, markers

    document = experiment("blood_plasma", markers=markers("CD63+", "CD9+", "APOB-"), sample={"volume_ml": 1})
    first, second = (report.to_dict() for report in evaluate_many([document, document]))
    # Two evaluations of one document are equal value by value (messages and marker words come from caches).
    assert first == second
    # Rules reading the same condition share its outcome; their stored evidence lists are separate objects,
    # so changing one never changes another.
    lists = [rule["evidence"] for part in first.values() if isinstance(part, dict) for rule in part.get("rules", [])]
    shared = [items for items in lists if items]
    assert len({id(items) for items in shared}) == len(shared)
    assert len({id(entry) for items in shared for entry in items}) == sum(len(items) for items in shared)
    markers_words = [e["detail"] for items in shared for e in items if e["path"].startswith("characterization.mark")]
    assert any("CD63" in text for text in markers_words)
