"""Links from a failing rule to the form that records what it lacks, for a stored preparation."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import resolve

from evlims.compliance.write_paths import WRITE_PATHS
from evlims.web.reports import fix_links
from tests.web import test_compliance_pages as pages

sec_version = pages.sec_version


@pytest.fixture
def preparation(staff, project, sec_version):
    return pages.make_run(staff, project, sec_version, count=1).preparations.get()


@pytest.mark.parametrize("entry", WRITE_PATHS, ids=[entry.path for entry in WRITE_PATHS])
def test_every_write_path_resolves_to_a_form_of_this_preparation(preparation, entry):
    link = fix_links.path_link(preparation, entry.path, step=0)
    assert link is not None, entry.path
    parts = urlsplit(link.url)
    match = resolve(parts.path)
    assert f"evlims:{match.url_name}" in (entry.form_url, "evlims:sample-edit")
    focus = parse_qs(parts.query).get("focus", [""])[0]
    if entry.form_field != "*" and not entry.path.startswith("separation[].params"):
        assert focus == link.field != ""
    sample = preparation.input_aliquot.sample
    expected_pk = {
        "evlims:sample-edit": sample.pk,
        "evlims:preparation-edit": preparation.pk,
        "evlims:preparation-functional-study": preparation.pk,
        "evlims:result-new": preparation.pk,
        "evlims:run-step": preparation.run_id,
        "evlims:aliquot-thaw": preparation.input_aliquot_id,
    }.get(f"evlims:{match.url_name}")
    if expected_pk is not None:
        assert match.kwargs["pk"] == expected_pk
    assert link.text.startswith(("Record ", "Add ")) and "_" not in link.text.split(" on sample ")[0]


def test_a_result_path_opens_the_result_form_of_its_kind(preparation):
    link = fix_links.path_link(preparation, "characterization.markers[].lysate.buffer")
    assert resolve(urlsplit(link.url).path).kwargs == {"pk": preparation.pk, "kind": "marker"}
    assert link.url.endswith("?focus=lysate_buffer")
    assert link.text == "Record the lysis buffer as a marker result"


def test_a_step_parameter_opens_the_step_that_lacks_it(preparation):
    document = {
        "sample": {"biofluid": "blood_plasma"},
        "separation": [
            {"method": "differential_centrifugation", "params": {"g_force": 2500}},
            {"method": "ultracentrifugation", "params": {"g_force": 100000, "duration_min": 70}},
        ],
    }
    links = fix_links.rule_links(preparation, document, "ev_metric", 2, "EVM.UC_SPECIFICS")
    assert len(links) == 1
    match = resolve(urlsplit(links[0].url).path)
    assert match.url_name == "run-step" and match.kwargs == {"pk": preparation.run_id, "number": 2}
    assert links[0].field == "k_factor"  # the first lacking parameter, in the order the rule's paths sort
    assert links[0].text == f"Record the k factor and rotor at step 2 of run {preparation.run.code}"


def test_storage_of_the_preparation_links_the_preparation_form_once(preparation):
    links = fix_links.rule_links(
        preparation, {"sample": {"biofluid": "blood_plasma"}}, "misev2023", 2, "M23.STORAGE.PREP"
    )
    assert [resolve(urlsplit(link.url).path).url_name for link in links] == ["preparation-edit"]
    assert links[0].url.endswith("?focus=buffer")
    assert links[0].text.startswith("Record the storage buffer, storage container, ")
    assert links[0].text.endswith(" on the preparation")


def test_a_rule_failing_on_values_links_the_forms_of_what_it_reads(preparation):
    document = {
        "sample": {"biofluid": "blood_plasma"},
        "characterization": {"markers": [{"protein": "ALB", "detected": True}]},
    }
    links = fix_links.rule_links(preparation, document, "misev2018", 2, "M18.PROT.CAT1")
    assert [link.text for link in links] == ["Add a marker result"]
