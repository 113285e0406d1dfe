"""Batch validation by parts (document.validate_in_parts): each distinct separation chain is validated once per batch,
the rest of every document every time. It must accept and refuse exactly the documents validate_document does, with
the same issues, whether or not the chain was seen before."""

import copy
import json
from pathlib import Path

import pytest

from evlims.compliance import evaluator
from evlims.compliance.document import _part_validators, validate_document, validate_in_parts
from evlims.compliance.errors import ExperimentDocumentError
from evlims.compliance.evaluator import evaluate_many

from .rule_cases import CASES

EXAMPLES = sorted((Path(evaluator.__file__).parent / "examples").glob("*.json"))
VALID = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES] + [copy.deepcopy(d) for _, _, d in CASES]


def _step(document: dict, **changes) -> dict:
    """The document with its last separation step changed (a step added when it has none)."""
    changed = copy.deepcopy(document)
    steps = changed["separation"] or [{"method": "sec"}]
    changed["separation"] = [*steps[:-1], {**steps[-1], **changes}]
    return changed


def _invalid(document: dict) -> list[dict]:
    """Documents wrong in their chain only, in the rest only, and in both."""
    wrong_chain = [
        _step(document, method="spin"),
        _step(document, method="ultracentrifugation", params={"g_force": "fast"}),
        _step(document, colour="red"),
        {**copy.deepcopy(document), "separation": {"method": "sec"}},
        {**copy.deepcopy(document), "separation": [["sec"]]},
    ]
    wrong_rest = [
        {**copy.deepcopy(document), "sample": {**document["sample"], "biofluid": "blood"}},
        {**copy.deepcopy(document), "colour": "amber"},
        {key: value for key, value in copy.deepcopy(document).items() if key != "sample"},
    ]
    return [*wrong_chain, *wrong_rest, {**wrong_chain[0], "colour": "amber"}]


def _issues(check) -> frozenset | None:
    try:
        check()
    except ExperimentDocumentError as error:
        return frozenset(error.issues)
    return None


def test_the_schema_keeps_the_chain_apart():
    assert _part_validators() is not None


def test_parts_accept_what_the_whole_accepts_and_give_the_chain_bytes():
    chains: set[bytes] = set()
    for document in VALID + VALID:  # the second time, every chain is known
        assert validate_in_parts(document, chains) is not None
    assert len(chains) < len(VALID)


@pytest.mark.parametrize("known", [False, True], ids=["chain unseen", "chain seen before"])
def test_parts_refuse_what_the_whole_refuses_with_the_same_issues(known):
    compared = 0
    for document in VALID[:60]:
        for invalid in _invalid(document):
            expected = _issues(lambda invalid=invalid: validate_document(invalid))
            assert expected, "each variant is invalid"
            chains: set[bytes] = set()
            if known:
                # Its chain met before in a document whose rest is valid (remembered only if the chain is valid).
                seen = {**document, "separation": invalid["separation"]}
                _issues(lambda seen=seen, chains=chains: validate_in_parts(seen, chains))
            assert _issues(lambda invalid=invalid, chains=chains: validate_in_parts(invalid, chains)) == expected
            compared += 1
    assert compared > 300


def test_an_invalid_chain_is_never_remembered():
    document = next(d for d in VALID if d["separation"])
    invalid = _step(document, params={"g_force": "fast"})
    chains: set[bytes] = set()
    for _ in range(2):
        with pytest.raises(ExperimentDocumentError):
            validate_in_parts(invalid, chains)
    assert not chains


def test_evaluate_many_refuses_a_document_whose_rest_is_invalid_after_its_chain_passed():
    document = next(d for d in VALID if d["separation"])
    wrong = {**copy.deepcopy(document), "sample": {**document["sample"], "biofluid": "blood"}}
    with pytest.raises(ExperimentDocumentError, match=r"^document 1: \$\.sample\.biofluid") as caught:
        evaluate_many([document, wrong])
    assert caught.value.document_index == 1
