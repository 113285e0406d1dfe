"""List pages cut the page before computing per-row figures, and reach any depth by keyset cursor.

Walking a list by its "Next" links (page numbers first, then ``?after=`` cursors) must visit every row
exactly once, in the list's order, with ties on the sort timestamp and NULL timestamps falling across page
boundaries. A damaged cursor is a 400 page that offers the first page, never a 500.
"""

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from evlims.characterization.models import Measurement
from evlims.compliance.models import Review
from evlims.isolation.models import EVPreparation, IsolationRun, RunStep
from evlims.samples.models import Aliquot, Sample
from tests.run_states import completed_run_fields, in_state

from .conftest import register_sample
from .test_results import make_preparation

pytestmark = pytest.mark.django_db

NEXT_LINK = re.compile(r'<a class="page-link" href="\?([^"]*)"[^>]*>Next</a>')
T0 = timezone.make_aware(dt.datetime(2025, 3, 1, 8, 0))


@pytest.fixture
def small_pages(settings):
    settings.EVLIMS = {"PAGE_SIZE": 3}


@pytest.fixture
def cursor_links(monkeypatch):
    """Next links are cursors from the first page on (normally from page 5)."""
    monkeypatch.setattr("evlims.web.views.common.NUMBERED_PAGES", 1)


def walk(client, url, params="") -> tuple[list[int], list[str]]:
    """Ids of every row shown by following the Next links from the first page, and the links followed."""
    seen, links = [], []
    query = params
    for _ in range(100):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, response.content.decode()[:300]
        seen.extend(row.pk for row in response.context["page"].object_list)
        following = NEXT_LINK.search(response.content.decode())
        if following is None:
            return seen, links
        query = html.unescape(following.group(1))
        links.append(query)
    raise AssertionError("the Next links never end")


@pytest.fixture
def tied_samples(staff, project):
    """17 samples: ties of 4 and 3 on one timestamp, two without a time, the rest distinct."""
    minutes = [5, 5, 5, 5, None, 9, 9, 9, 1, 2, None, 3, 7, 8, 10, 11, 12]
    ids = []
    for n, offset in enumerate(minutes):
        sample = register_sample(staff, project, aliquots=[100], external_id=f"TIE-{n}")
        when = None if offset is None else T0 + dt.timedelta(minutes=offset)
        Sample.objects.filter(pk=sample.pk).update(collected_at=when)
        ids.append(sample.pk)
    return ids


def database_order(queryset, *ordering) -> list[int]:
    """The order the database itself gives (NULLs where this database puts them)."""
    return list(queryset.order_by(*ordering).values_list("pk", flat=True))


def test_sample_list_walk_visits_every_row_once_in_order(member_client, small_pages, tied_samples):
    seen, links = walk(member_client, reverse("evlims:sample-list"))
    assert seen == database_order(Sample.objects.all(), "-collected_at", "-id")
    assert len(set(seen)) == len(tied_samples) == 17
    # Pages 2..5 by number, then cursors: both kinds of link were followed.
    assert [link.split("=")[0] for link in links] == ["page"] * 4 + ["after"]


def test_cursor_pages_alone_cover_the_list_across_ties(member_client, small_pages, tied_samples):
    first = member_client.get(reverse("evlims:sample-list"))
    seen = [row.pk for row in first.context["page"].object_list]
    cursor = first.context["page"].next_cursor
    while cursor:
        page = member_client.get(reverse("evlims:sample-list"), {"after": cursor}).context["page"]
        assert page.keyset and len(page.object_list) <= 3
        seen.extend(row.pk for row in page.object_list)
        cursor = page.next_cursor
    assert seen == database_order(Sample.objects.all(), "-collected_at", "-id")


def test_cursor_page_keeps_filters_and_counts_the_whole_list(member_client, small_pages, cursor_links, staff, project):
    for n in range(8):
        register_sample(staff, project, aliquots=[100], biofluid="serum" if n % 2 else "blood_plasma")
    seen, links = walk(member_client, reverse("evlims:sample-list"), "biofluid=serum")
    serum = database_order(Sample.objects.filter(biofluid="serum"), "-collected_at", "-id")
    assert seen == serum and len(serum) == 4
    assert links and all("biofluid=serum" in link and "after=" in link for link in links)
    page = member_client.get(reverse("evlims:sample-list"), {"biofluid": "serum", "after": ""})
    assert page.status_code == 400


def test_sample_list_counts_available_aliquots_per_row(member_client, staff, project):
    kept = register_sample(staff, project, aliquots=[100, 100, 100], external_id="KEPT")
    used = register_sample(staff, project, aliquots=[100, 100], external_id="USED")
    Aliquot.objects.filter(sample=used).update(status=Aliquot.Status.CONSUMED)
    Aliquot.objects.filter(pk=kept.aliquots.order_by("id").first().pk).update(status=Aliquot.Status.SHIPPED)
    rows = {row.pk: row.aliquot_count for row in member_client.get(reverse("evlims:sample-list")).context["page"]}
    assert rows == {kept.pk: 2, used.pk: 0}


def test_search_by_aliquot_barcode_lists_the_sample_once(member_client, staff, project):
    sample = register_sample(staff, project, aliquots=[100, 100, 100])
    barcode = sample.aliquots.order_by("id").last().barcode
    page = member_client.get(reverse("evlims:sample-list"), {"q": barcode.lower()}).context["page"]
    assert [row.pk for row in page] == [sample.pk] and page.paginator.count == 1
    assert page[0].aliquot_count == 3


def test_preparation_list_counts_results_of_each_row_by_kind(member_client, staff, lab, project):
    preps = [make_preparation(staff, project, f"EVP-K{n}") for n in range(3)]
    kinds = [
        ["particle", "particle", "marker"],
        ["protein", "imaging", "imaging", "lipid"],
        [],
    ]
    for prep, prep_kinds in zip(preps, kinds, strict=True):
        for kind in prep_kinds:
            Measurement.objects.create(lab=lab, preparation=prep, kind=kind, method="x", measured_at=T0)
    page = member_client.get(reverse("evlims:preparation-list")).context["page"]
    counts = {row.barcode: (row.particle_count, row.protein_count, row.marker_count, row.imaging_count) for row in page}
    assert counts == {"EVP-K0": (2, 0, 1, 0), "EVP-K1": (0, 1, 0, 2), "EVP-K2": (0, 0, 0, 0)}


def test_preparation_list_walk_with_tied_creation_times(member_client, small_pages, cursor_links, staff, project):
    run = IsolationRun.objects.create(
        lab=project.lab,
        project=project,
        code="RUN-TIE",
        protocol_name="SEC",
        method="sec",
        operator=staff,
        **completed_run_fields(),
    )
    preps = [make_preparation(staff, project, f"EVP-T{n:02d}", run=run) for n in range(11)]
    for n, prep in enumerate(preps):
        EVPreparation.objects.filter(pk=prep.pk).update(created_at=T0 + dt.timedelta(seconds=n // 4))
    seen, links = walk(member_client, reverse("evlims:preparation-list"), "method=sec")
    assert all("after=" in link for link in links) and len(links) == 3
    assert seen == database_order(EVPreparation.objects.all(), "-created_at", "-id") and len(seen) == 11


def test_run_list_counts_preparations_and_recorded_steps(member_client, staff, project):
    busy = in_state(make_preparation(staff, project, "EVP-R1").run, IsolationRun.Status.PLANNED)
    make_preparation(staff, project, "EVP-R2", run=busy)
    idle = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-IDLE", protocol_name="SEC", method="sec", operator=staff
    )
    for number in (1, 2, 3):
        RunStep.objects.create(run=busy, number=number, method="sec", recorded_by=staff)
    page = member_client.get(reverse("evlims:run-list")).context["page"]
    assert {row.code: (row.preparation_count, row.step_count) for row in page} == {busy.code: (2, 3), idle.code: (0, 0)}
    filtered = member_client.get(reverse("evlims:run-list"), {"status": "completed"}).context["page"]
    assert list(filtered) == []


def test_qa_queue_walk_oldest_first(client, qa_manager, staff, project, small_pages, cursor_links):
    client.force_login(qa_manager)
    submitted = T0
    for n in range(7):
        prep = make_preparation(staff, project, f"EVP-Q{n}")
        Review.objects.create(lab=project.lab, preparation=prep, submitted_by=staff, submitted_at=submitted)
        submitted += dt.timedelta(hours=n % 2)  # pairs share a submission time
    seen, links = walk(client, reverse("evlims:qa-queue"))
    assert all("after=" in link for link in links) and len(links) == 2
    assert seen == database_order(Review.objects.all(), "submitted_at", "id") and len(seen) == 7


@pytest.mark.parametrize(
    "cursor",
    ["", "not-a-cursor", "eyJvIjpbXX0", "W10", "eyJvIjpbIi1jb2xsZWN0ZWRfYXQiLCItaWQiXSwidiI6WyJzb29uIiwxXX0"],
)
def test_bad_cursor_is_a_400_page_with_a_way_back(member_client, cursor):
    response = member_client.get(reverse("evlims:sample-list"), {"biofluid": "serum", "after": cursor})
    assert response.status_code == 400
    text = response.content.decode()
    assert "This page link is not valid" in text
    assert f'href="{reverse("evlims:sample-list")}?biofluid=serum"' in text


def test_cursor_of_another_list_is_refused(member_client, small_pages, staff, project):
    for n in range(4):
        make_preparation(staff, project, f"EVP-X{n}")
    cursor = member_client.get(reverse("evlims:preparation-list")).context["page"].next_cursor
    assert cursor
    response = member_client.get(reverse("evlims:sample-list"), {"after": cursor})
    assert response.status_code == 400 and "another list or sort order" in response.content.decode()


def test_run_filter_offers_recent_runs_and_keeps_the_one_asked_for(member_client, staff, project, monkeypatch):
    monkeypatch.setattr("evlims.characterization.selectors.RUN_CHOICES", 2)
    preps = [make_preparation(staff, project, f"EVP-F{n}") for n in range(4)]
    url = reverse("evlims:preparation-list")
    offered = member_client.get(url).context["form"].fields["run"].queryset
    assert [run.pk for run in offered] == [preps[3].run_id, preps[2].run_id]
    oldest = member_client.get(url, {"run": preps[0].run_id})
    assert [row.pk for row in oldest.context["page"]] == [preps[0].pk]
    assert preps[0].run_id in {run.pk for run in oldest.context["form"].fields["run"].queryset}
    for junk in ("99999999999999999999999", "-1", "abc"):
        refused = member_client.get(url, {"run": junk})
        assert refused.status_code == 200 and "run" in refused.context["form"].errors
