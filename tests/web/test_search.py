"""The top bar's search: a scanned code opens its record (samples, aliquots, preparations, runs, boxes) in the
user's labs only; other words list donors, samples, runs and preparations, grouped, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.isolation import services as isolation_services
from evlims.isolation.models import RunStep
from evlims.isolation.search import SEARCH_LIMIT
from tests.factories import DonorFactory, ProjectFactory, storage_box

from .conftest import register_sample
from .test_protocols import LAB_PROTOCOL

SEARCH = reverse("evlims:search")


@pytest.fixture
def version(lab, staff, qa_manager):
    draft = isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    return isolation_services.protocol_version_approve(actor=qa_manager, version=draft)


@pytest.fixture
def bench(staff, project, box, version):
    """A donor's sample with two aliquots in a box, and a run planned from one of them with its preparation."""
    donor = DonorFactory(lab=project.lab, project=project, code="DON-77", diagnosis="Pancreatic cancer")
    sample = register_sample(staff, project, donor=donor, aliquots=[500, 500], box=box, external_id="SITE-4411")
    first, second = sample.aliquots.order_by("id")
    run = isolation_services.run_plan(actor=staff, project=project, protocol_version=version, inputs=[(first, 200)])
    return {"donor": donor, "sample": sample, "aliquot": second, "run": run, "preparation": run.preparations.get()}


@pytest.fixture
def foreign(outsider, foreign_project, foreign_box):
    sample = register_sample(outsider, foreign_project, aliquots=[300], box=foreign_box, barcode="LEAK-0001")
    DonorFactory(lab=foreign_project.lab, project=foreign_project, code="DON-LEAK")
    return sample


def _jumps(client, q, expected):
    response = client.get(SEARCH, {"q": q})
    assert response.status_code == 302, (q, response.status_code)
    assert response["Location"] == expected
    return response


class TestJumpByCode:
    def test_each_kind_of_record_opens_its_page(self, member_client, bench, box):
        sample, aliquot, run, preparation = bench["sample"], bench["aliquot"], bench["run"], bench["preparation"]
        _jumps(member_client, sample.barcode, reverse("evlims:sample-detail", args=[sample.pk]))
        _jumps(
            member_client, aliquot.barcode, reverse("evlims:sample-detail", args=[sample.pk]) + f"#aliquot-{aliquot.pk}"
        )
        _jumps(member_client, run.code, reverse("evlims:run-detail", args=[run.pk]))
        _jumps(member_client, preparation.barcode, reverse("evlims:preparation-detail", args=[preparation.pk]))
        _jumps(member_client, box.name, reverse("evlims:box-detail", args=[box.pk]))

    def test_a_scanners_enter_spaces_and_small_letters_are_ignored(self, member_client, bench):
        sample = bench["sample"]
        target = reverse("evlims:sample-detail", args=[sample.pk])
        for typed in (
            f"{sample.barcode}\r\n",
            f"  {sample.barcode}\t",
            sample.barcode.lower(),
            f" {sample.barcode.lower()}\n",
        ):
            _jumps(member_client, typed, target)

    def test_a_code_stored_in_mixed_case_is_found_in_any_case(self, member_client, staff, project):
        sample = register_sample(staff, project, barcode="Ev-Plasma-07")
        _jumps(member_client, "ev-plasma-07", reverse("evlims:sample-detail", args=[sample.pk]))

    def test_the_landing_page_answers(self, member_client, bench):
        response = member_client.get(SEARCH, {"q": bench["preparation"].barcode}, follow=True)
        assert response.status_code == 200
        assert bench["preparation"].barcode in response.content.decode()

    def test_another_labs_code_is_not_found(self, member_client, bench, foreign):
        for code in (foreign.barcode, foreign.aliquots.get().barcode, "Foreign box"):
            response = member_client.get(SEARCH, {"q": code})
            assert response.status_code == 200, code
            assert "Nothing in your labs matches" in response.content.decode()
            assert response.context["code_matches"] == [] and response.context["total"] == 0
            assert reverse("evlims:sample-detail", args=[foreign.pk]) not in response.content.decode()

    def test_a_code_naming_several_records_lists_them(self, member_client, lab, bench):
        other = storage_box(lab, name="Box 1")  # the fixture's box is also called "Box 1", in another rack
        response = member_client.get(SEARCH, {"q": "box 1"})
        assert response.status_code == 200
        urls = {match["url"] for match in response.context["code_matches"]}
        assert urls == {reverse("evlims:box-detail", args=[pk]) for pk in (bench["aliquot"].box_id, other.pk)}
        assert "This code names 2 records in your labs" in response.content.decode()


class TestTextSearch:
    def test_results_are_grouped_by_kind_with_counts(self, member_client, bench):
        response = member_client.get(SEARCH, {"q": "PLASMA1"})  # the project's code: every kind carries it
        assert response.status_code == 200
        groups = {group["kind"]: group for group in response.context["groups"]}
        assert {kind: group["count"] for kind, group in groups.items()} == {
            "donor": 1,
            "sample": 1,
            "run": 1,
            "preparation": 1,
        }
        html = response.content.decode()
        for title in ("Donors", "Samples", "Isolation runs", "EV preparations"):
            assert title in html
        assert bench["run"].code in html and bench["preparation"].barcode in html and "DON-77" in html

    def test_words_in_donor_codes_site_ids_diagnoses_and_step_notes(self, member_client, bench):
        def counts(q):
            return {g["kind"]: g["count"] for g in member_client.get(SEARCH, {"q": q}).context["groups"]}

        assert counts("don-7")["sample"] == 1 and counts("don-7")["donor"] == 1
        assert counts("site-44")["sample"] == 1
        assert counts("pancreatic")["donor"] == 1
        run = bench["run"]
        RunStep.objects.create(
            run=run, number=1, method="sec", recorded_by=run.operator, notes="Column lot 4471 cloudy"
        )
        assert counts("lot 4471")["run"] == 1

    def test_at_most_twenty_of_a_kind_with_a_link_to_the_list(self, member_client, staff, project):
        for n in range(SEARCH_LIMIT + 3):
            register_sample(staff, project, barcode=f"BATCH-{n:03d}")
        response = member_client.get(SEARCH, {"q": "batch-"})
        samples = next(group for group in response.context["groups"] if group["kind"] == "sample")
        assert samples["count"] == SEARCH_LIMIT + 3 and len(samples["rows"]) == SEARCH_LIMIT
        assert samples["see_all"] == reverse("evlims:sample-list") + "?q=batch-"
        html = response.content.decode()
        assert f"see all {SEARCH_LIMIT + 3} in the list" in html
        assert member_client.get(samples["see_all"]).context["page"].paginator.count == SEARCH_LIMIT + 3

    def test_another_labs_records_are_never_listed(self, member_client, bench, foreign):
        response = member_client.get(SEARCH, {"q": "LEAK"})
        assert response.context["total"] == 0
        assert "DON-LEAK" not in response.content.decode()
        response = member_client.get(SEARCH, {"q": "FOREIGN"})
        assert response.context["total"] == 0

    def test_nothing_found_says_what_to_try(self, member_client, bench):
        response = member_client.get(SEARCH, {"q": "no-such-thing"})
        assert response.status_code == 200
        assert "Check the barcode on the label" in response.content.decode()


class TestInput:
    def test_an_empty_query_shows_help(self, member_client):
        for params in ({}, {"q": ""}, {"q": "   \n"}):
            response = member_client.get(SEARCH, params)
            assert response.status_code == 200
            assert "Find a record" in response.content.decode()

    def test_too_long_or_null_characters_are_a_400_naming_the_field(self, member_client):
        response = member_client.get(SEARCH, {"q": "x" * 101})
        assert response.status_code == 400
        assert "Search text: at most 100 characters" in response.content.decode()
        response = member_client.get(SEARCH, {"q": "EVS\x00-1"})
        assert response.status_code == 400
        assert "Null characters are not allowed" in response.content.decode()

    def test_anonymous_visitors_are_sent_to_sign_in(self, client):
        response = client.get(SEARCH, {"q": "EVS-1"})
        assert response.status_code == 302 and reverse("evlims:login") in response["Location"]

    def test_the_top_bar_has_the_search_box(self, member_client):
        html = member_client.get(reverse("evlims:sample-list")).content.decode()
        assert f'action="{SEARCH}"' in html and 'accesskey="k"' in html and 'name="q"' in html


def _grow(staff, project, lab, box, version, count, start):
    for n in range(start, start + count):
        donor = DonorFactory(lab=lab, project=project, code=f"GROW-D{n}")
        sample = register_sample(staff, project, donor=donor, aliquots=[300], box=box, barcode=f"GROW-S{n}")
        isolation_services.run_plan(
            actor=staff, project=project, protocol_version=version, inputs=[(sample.aliquots.get(), 100)]
        )


def test_query_counts_do_not_grow_with_the_data(
    member_client, staff, project, lab, box, version, django_assert_max_num_queries
):
    _grow(staff, project, lab, box, version, 2, 0)
    sample = register_sample(staff, project, barcode="COUNT-ME")
    searches = [{"q": "grow"}, {"q": "PLASMA1"}, {"q": "nothing-here"}, {"q": sample.barcode}, {"q": "box 1"}]

    def measure():
        counts = []
        for params in searches:
            with CaptureQueriesContext(connection) as captured:
                response = member_client.get(SEARCH, params)
            assert response.status_code in (200, 302)
            counts.append(len(captured))
        return counts

    small = measure()
    _grow(staff, project, lab, box, version, SEARCH_LIMIT + 5, 2)
    ProjectFactory(lab=lab)
    large = measure()
    assert small == large
    for params, count in zip(searches, large, strict=True):
        with django_assert_max_num_queries(count):
            member_client.get(SEARCH, params)
