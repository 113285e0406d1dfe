"""The result documents' validation decides two things once per declared field instead of per document checked:
a field not sent that is simply left out (no call, no _Skip raised), and which fields refused_input looks
into. Both must give exactly what the full walk gives: the same values, the same errors under the same paths."""

import copy

import pytest
from django.core.exceptions import ValidationError

from evlims.characterization.payloads import Document, refused_input, validate_result_documents
from evlims.characterization.payloads import documents as engine
from evlims.characterization.payloads.fields import EMPTY, Choice, Flag, Items, Number, Text, _Skip

pytestmark = pytest.mark.django_db

PROTEIN = {
    "kind": "protein",
    "method": "bca",
    "preparation": "EVP-1",
    "protein": {"assay": "bca", "concentration_ug_per_ml": 3},
}
PARTICLE = {
    "kind": "particle",
    "method": "nta",
    "preparation": "EVP-2",
    "measured_at": "2026-01-05T10:00:00Z",
    "particle": {
        "technique": "nta",
        "concentration_per_ml": 1e10,
        "computed": ["d50_nm"],
        "captures": [{"name": "c1", "concentration_per_ml": 1e10}, {"name": "c2", "valid": "no"}],
        "histogram": {"bin_center_nm": [50, 100], "concentration_per_ml": [1, 2]},
    },
}
MARKER = {
    "kind": "marker",
    "method": "western_blot",
    "input_sample": "S-1",
    "marker": {"protein": "CD63", "detected": True, "antibody": {"clone": "H5C6"}, "lysate": None},
}
ANALYTE = {
    "kind": "rna",
    "method": "qpcr",
    "preparation": "EVP-3",
    "analyte": {"assay": "miR-21", "value": 2, "unit": "ng"},
}
IMAGING = {"kind": "imaging", "method": "tem", "preparation": "EVP-4", "imaging": {"technique": "tem"}}


def _bad_documents():
    """Documents refused in as many ways as the fields have: unknown keys at every level, choices, nulls,
    blanks, missing parts, bad numbers and lists, surrogates."""
    bad = [
        {**PROTEIN, "colour": "red"},
        {**PROTEIN, "kind": "spectroscopy"},
        {**PROTEIN, "protein": {**PROTEIN["protein"], "assay": "lowry", "extra": 1}},
        {**PROTEIN, "preparation": None},
        {**PROTEIN, "preparation": "", "input_sample": "  "},
        {**PROTEIN, "method": "x" * 41, "software_version": None},
        {**PROTEIN, "protein": {"assay": "bca"}},
        {**PROTEIN, "particle": PARTICLE["particle"]},
        {"kind": "protein"},
        {},
        "not a document",
        None,
        {**PARTICLE, "particle": {**PARTICLE["particle"], "technique": "spr", "captures": [{"nom": "c"}, "x", {}]}},
        {
            **PARTICLE,
            "particle": {
                **PARTICLE["particle"],
                "histogram": {"bin_center_nm": [1, "a"], "concentration_per_ml": "no"},
            },
        },
        {**PARTICLE, "particle": {**PARTICLE["particle"], "computed": [None, 3], "captures": "many"}},
        {**PARTICLE, "measured_at": "yesterday", "particle": {**PARTICLE["particle"], "dilution_factor": 0.5}},
        {**MARKER, "method": "blot", "marker": {"protein": "NOTAPROTEIN1", "antibody": {"clone": "x", "colour": 1}}},
        {**MARKER, "marker": {"protein": "CD\ud83d63\udc00", "detected": "maybe", "topology": {"assy": "pk"}}},
        {**MARKER, "marker": {**MARKER["marker"], "lysate": {"reducing": [], "buffer": "RIPA\x00"}}},
        {**ANALYTE, "analyte": {"assay": "", "value": -1, "unit": None}},
        {**IMAGING, "imaging": {"technique": "xray", "wide_field": "sometimes"}},
    ]
    return bad


def _full_walk(monkeypatch):
    """The validation as it ran before the shortcuts: every field called, every field looked into."""
    for document in _documents():
        monkeypatch.setattr(document, "inspected", dict(document.fields))
        for field in document.fields.values():
            for part in (field, getattr(field, "child", None)):
                if part is not None:
                    monkeypatch.setattr(part, "left_out_when_absent", False)


def _documents():
    found, pending = [], list(Document.__subclasses__())
    while pending:
        document = pending.pop()
        found.append(document)
        pending.extend(document.__subclasses__())
    return found


def _outcome(documents):
    try:
        return "ok", validate_result_documents(copy.deepcopy(documents))
    except ValidationError as error:
        return "refused", error.message_dict


@pytest.mark.parametrize("case", range(len(_bad_documents()) + 1))
def test_the_same_values_and_errors_as_the_full_walk(case, monkeypatch):
    if case < len(_bad_documents()):
        documents = [PROTEIN, _bad_documents()[case], MARKER]
    else:
        documents = [PROTEIN, PARTICLE, MARKER, ANALYTE, IMAGING]
    quick = _outcome(documents)
    _full_walk(monkeypatch)
    assert _outcome(documents) == quick
    assert quick[0] == ("ok" if case == len(_bad_documents()) else "refused")


def test_a_field_left_out_when_absent_is_exactly_one_whose_run_skips():
    for document in _documents():
        for field in document.fields.values():
            try:
                field.run(EMPTY)
                skipped = False
            except _Skip:
                skipped = True
            except engine.Invalid:
                skipped = False
            assert field.left_out_when_absent is skipped, (document, field)


def test_fields_not_inspected_never_refuse_anything():
    samples = ["x", "", 3, None, [1, "y"], {"a": 1}, [{"a": 1}], True]
    for document in _documents():
        assert document.accepted == ", ".join(document.fields)
        for name, field in document.fields.items():
            if name in document.inspected:
                assert isinstance(field, Choice | engine.Nested | Items)
                continue
            assert all(refused_input(field, sample) is None for sample in samples), (document, name)


def test_lists_of_plain_values_are_not_inspected_lists_of_choices_are():
    assert not engine._may_refuse(Items(child=Text()))
    assert not engine._may_refuse(Items(child=Number()))
    assert not engine._may_refuse(Flag())
    assert engine._may_refuse(Items(child=Choice(["a"])))
    assert engine._may_refuse(Choice(["a"]))


def test_the_first_surrogate_is_named():
    text = Text(max_length=200)
    with pytest.raises(engine.Invalid) as refused:
        text.run("ab\udc01c\ud800")
    assert refused.value.detail == ["Surrogate characters are not allowed: U+DC01."]
    assert text.run("CD63 \u00e9\U0001f600") == "CD63 \u00e9\U0001f600"
