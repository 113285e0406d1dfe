"""The experiment documents built from narrow rows (``document_rows``, the batch path) equal, value by value and
key by key, the documents built from model instances (``evidence``, the reference builder) for varied
preparations: the demo world's labs (complete and partial records, flow cytometry, markers, imaging, lipids and
RNA, unproduced runs) and the bulk generator's lab."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from evlims.compliance.document_rows import preparation_documents
from evlims.compliance.evidence import experiment_documents, preparations_with_evidence
from evlims.demo import scale
from evlims.isolation.models import EVPreparation

TINY = scale.ScaleSize(preparations=60, samples=40, measurements=500, runs=10, histogram_bins=5, seed=11)


def exact(value):
    """The value with every scalar's type beside it: 1 and 1.0, or True and 1, are not the same here."""
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}, list(value)
    if isinstance(value, list | tuple):
        return [exact(item) for item in value]
    return type(value).__name__, value


def assert_same_documents(ids):
    reference = {}
    for prep in preparations_with_evidence(ids):
        if prep.produced:
            reference |= experiment_documents([prep])
    built = preparation_documents(ids)
    assert sorted(built.documents) == sorted(reference)
    for pk, document in reference.items():
        assert exact(built.documents[pk]) == exact(document), pk
        assert json.dumps(built.documents[pk]) == json.dumps(document)
    unproduced = [p.pk for p in EVPreparation.objects.filter(pk__in=ids).exclude(run__status="completed")]
    assert sorted(built.unproduced) == sorted(unproduced)
    assert built.labs == dict(EVPreparation.objects.filter(pk__in=list(reference)).values_list("pk", "lab_id"))
    return reference


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("evlims_demo", donors=30, samples=160, force=True, stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_documents_from_rows_equal_the_model_documents_in_the_demo_world(demo_world):
    ids = list(EVPreparation.objects.values_list("pk", flat=True))
    reference = assert_same_documents(ids)
    # The comparison covered every part a document can have, and preparations not produced yet.
    parts = {key for document in reference.values() for key in document}
    assert {"sample", "separation", "characterization", "claims", "prep_storage", "flow"} <= parts
    sections = {key for document in reference.values() for key in document.get("characterization", {})}
    assert {"particle_analysis", "protein_quantification", "markers", "imaging"} <= sections
    assert any(document["sample"].get("donor") for document in reference.values())
    assert EVPreparation.objects.exclude(run__status="completed").exists()


@pytest.mark.django_db
def test_documents_from_rows_equal_the_model_documents_of_the_bulk_generator():
    scale.generate(TINY)
    reference = assert_same_documents(list(EVPreparation.objects.values_list("pk", flat=True)))
    assert len(reference) > 20


@pytest.mark.django_db
def test_the_comparison_tells_an_integer_from_a_float_and_a_reordered_document():
    assert exact({"a": 1}) != exact({"a": 1.0})
    assert exact({"a": 1, "b": 2}) != exact({"b": 2, "a": 1})
    assert exact({"a": [True]}) != exact({"a": [1]})
