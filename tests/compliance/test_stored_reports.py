"""Stored reports are compact (only what differs between preparations) and read back in full: the full report
read from a compact one equals, value by value and key by key, what ``to_dict()`` gives; a report stored in full
before the compact form is read unchanged; a signature made over a full report verifies after the evaluation is
stored compact, and a new signature over the compact form covers the same content with the same hash."""

import json
from pathlib import Path

import pytest

from evlims.compliance import services
from evlims.compliance.evaluator import evaluate, evaluate_many
from evlims.compliance.models import ComplianceEvaluation, Signature
from evlims.compliance.stored_reports import COMPACT_FORMAT, compact_report, full_report, is_compact
from evlims.core.canonical import canonical_hash
from evlims.core.models import Role
from evlims.review import services as review_services
from evlims.review.integrity import signature_problems
from evlims.web.reports.compliance import evaluation_view
from tests.factories import member
from tests.web.test_compliance_pages import PASSWORD, add_results, make_run, sec_version
from tests.web.test_compliance_pages import evaluate as evaluate_run

from .rule_cases import CASES
from .test_document_rows import exact

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "evlims" / "compliance" / "examples").glob("*.json"))
DOCUMENTS = [json.loads(path.read_text()) for path in EXAMPLES] + [document for _, _, document in CASES]

__all__ = ["sec_version"]  # the fixture the preparation tests use


def stored(report) -> dict:
    """What the database gives back: the compact form through JSON."""
    return json.loads(json.dumps(compact_report(report)))


def assert_reads_back_in_full(reports):
    for report in reports:
        full = report.to_dict()
        read = full_report(stored(report))
        assert exact(read) == exact(json.loads(json.dumps(full)))
        assert json.dumps(read) == json.dumps(full)


def test_a_compact_report_reads_back_as_the_full_report_for_every_rule_case():
    assert len(DOCUMENTS) > 200
    assert_reads_back_in_full(evaluate_many(DOCUMENTS))


def test_words_kept_on_shared_verdicts_give_the_same_compact_reports():
    """A batch hands one verdict to many documents; the words it keeps change no report (each document evaluated
    alone, with verdicts of its own, gives the same compact report), and they are made once per verdict."""
    reports = evaluate_many(DOCUMENTS + DOCUMENTS)
    first = [compact_report(report) for report in reports]
    assert [compact_report(report) for report in reports] == first
    assert first == [compact_report(evaluate(document)) for document in DOCUMENTS + DOCUMENTS]
    verdicts = [verdict for report in reports for part in report.rulesets.values() for verdict in part.verdicts]
    assert len({id(verdict.stored_words) for verdict in verdicts}) < len(verdicts)
    # Equal evidence in words is one object, so that a report finds its positions once.
    pieces = {}
    for verdict in verdicts:
        assert pieces.setdefault(verdict.stored_words[3], verdict.stored_words[3]) is verdict.stored_words[3]


def test_a_compact_report_keeps_no_rule_text_and_is_a_fraction_of_the_full_report():
    report = evaluate(json.loads(EXAMPLES[0].read_text()))
    compact, full = json.dumps(compact_report(report)), json.dumps(report.to_dict())
    assert len(compact) * 3 < len(full)
    rule = report.rulesets["misev2023"].verdicts[0].rule
    assert rule.title not in compact and json.dumps(rule.citation) not in compact


def test_a_full_report_stored_before_the_compact_form_is_read_unchanged():
    legacy = evaluate(DOCUMENTS[0]).to_dict()
    assert not is_compact(legacy) and full_report(legacy) is legacy
    assert full_report(None) is None and full_report({}) == {}
    assert stored(evaluate(DOCUMENTS[0]))["format"] == COMPACT_FORMAT


@pytest.fixture
def preparation(staff, project, sec_version):
    run = make_run(staff, project, sec_version)
    preparation = run.preparations.order_by("barcode").first()
    add_results(staff, preparation)
    evaluate_run(run)
    return preparation


def store_in_full(evaluation) -> dict:
    """The evaluation as it was stored before the compact form: the full report, through JSON."""
    legacy = json.loads(json.dumps(evaluate(evaluation.document).to_dict()))
    ComplianceEvaluation.objects.filter(pk=evaluation.pk).update(report=legacy)
    return legacy


@pytest.mark.django_db
def test_pages_read_a_compact_and_a_full_stored_report_alike(preparation):
    evaluation = ComplianceEvaluation.objects.get(preparation=preparation)
    assert is_compact(evaluation.report)
    legacy = store_in_full(evaluation)
    stored_in_full = ComplianceEvaluation.objects.get(preparation=preparation)
    assert not is_compact(stored_in_full.report) and stored_in_full.full_report == legacy == evaluation.full_report
    # The pages of the two forms as written (PostgreSQL's jsonb keeps no key order, so a full report read back
    # from it lists its rule sets in another order: the same content).
    report = evaluate(evaluation.document)
    views = []
    for form in (stored(report), json.loads(json.dumps(report.to_dict()))):
        evaluation = ComplianceEvaluation.objects.get(preparation=preparation)
        evaluation.report = form
        views.append({key: value for key, value in evaluation_view(evaluation).items() if key != "evaluation"})
    assert views[0] == views[1]


@pytest.mark.django_db
def test_a_signature_over_a_full_report_still_verifies_and_a_new_one_has_the_same_hash(staff, lab, preparation):
    evaluation = ComplianceEvaluation.objects.get(preparation=preparation)
    legacy = store_in_full(evaluation)
    verifier = member(lab, Role.QA_MANAGER, username="verifier")
    approver = member(lab, Role.QA_MANAGER, username="approver")
    review = review_services.review_submit(actor=staff, preparation=preparation, justification="As it is.")
    review_services.review_verify(actor=verifier, review=review, password=PASSWORD, statement="Checked")
    before = Signature.objects.get(review=review, meaning="verified")
    assert before.content["evaluation"] == legacy

    assert services.evaluate_preparations([preparation.pk], force=True) == 1
    compact = ComplianceEvaluation.objects.get(preparation=preparation)
    assert is_compact(compact.report) and len(json.dumps(compact.report)) * 3 < len(json.dumps(legacy))
    assert compact.full_report == legacy
    assert signature_problems() == []

    review.refresh_from_db()
    review_services.review_approve(actor=approver, review=review, password=PASSWORD, statement="Released")
    after = Signature.objects.get(review=review, meaning="approved")
    assert after.content == before.content
    assert after.content_hash == before.content_hash == canonical_hash(before.content)
    assert signature_problems() == []
