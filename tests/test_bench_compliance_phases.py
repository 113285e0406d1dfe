"""``bench/compliance_phases.py``: the forced batch's phases clocked on the service's own path, each phase really
reached, the service left as it was, and what it stores the same as an unclocked run's."""

import pytest

from evlims.compliance import evaluation_rows, services
from evlims.compliance.models import ComplianceEvaluation
from tests.bench_scripts import load_bench
from tests.run_states import completed_plasma_sec_run


@pytest.fixture
def phases():
    return load_bench("compliance_phases")


@pytest.fixture
def preparation_ids(staff, project):
    return sorted(completed_plasma_sec_run(staff, project).preparations.values_list("pk", flat=True))


def _stored(ids):
    rows = ComplianceEvaluation.objects.filter(preparation_id__in=ids).order_by("preparation_id")
    return [(e.preparation_id, e.full_report, e.document, e.evidence_hash, e.failed_rules) for e in rows]


def _functions(phases):
    by_name = phases.modules()
    return [getattr(by_name[module], attribute) for _, module, attribute in phases.PHASES]


@pytest.mark.django_db
def test_every_phase_is_reached_and_the_rest_is_never_negative(phases, preparation_ids):
    measured = phases.measure(preparation_ids)
    assert measured.count == len(preparation_ids) == 3
    for spent in (measured.cpu, measured.wall):
        assert list(spent) == [words for words, _, _ in phases.PHASES] + [phases.REST]
        # A phase the service stopped calling by its name would stay at zero.
        assert all(seconds > 0 for words, seconds in spent.items() if words != phases.REST), spent
        assert spent[phases.REST] >= 0


@pytest.mark.django_db
def test_the_clocked_run_stores_what_an_unclocked_one_stores(phases, preparation_ids):
    services.evaluate_preparations(preparation_ids, force=True)
    unclocked = _stored(preparation_ids)
    phases.measure(preparation_ids)
    assert _stored(preparation_ids) == unclocked


@pytest.mark.django_db
def test_the_service_is_left_as_it_was_even_when_the_batch_fails(phases, preparation_ids, monkeypatch):
    before = _functions(phases)

    def refused(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(evaluation_rows, "write", refused)
    refused_write = _functions(phases)
    with pytest.raises(RuntimeError, match="went away"):
        phases.measure(preparation_ids)
    assert _functions(phases) == refused_write
    monkeypatch.undo()
    assert _functions(phases) == before
