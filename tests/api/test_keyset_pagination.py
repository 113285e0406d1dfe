"""API lists: ``?page=`` as before, and ``?cursor=`` keyset paging that visits every row exactly once in the
list's order (ties and NULL sort values across page boundaries included); per-row figures are computed for
the page only and stay correct; a damaged cursor is a 400 naming ``cursor``."""

import datetime as dt

import pytest
from django.utils import timezone

from evlims.characterization.models import Measurement
from evlims.isolation.models import EVPreparation, IsolationRun
from evlims.samples.models import Aliquot, Sample
from tests.factories import SampleFactory
from tests.run_states import completed_run_fields
from tests.web.test_results import make_preparation

pytestmark = pytest.mark.django_db

SAMPLES = "/api/v1/samples/"
T0 = timezone.make_aware(dt.datetime(2025, 3, 1, 8, 0))


def walk(client, url) -> list[dict]:
    """Every row of the list by following ``next`` from ``url`` (which carries ``cursor=``)."""
    rows = []
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert "count" not in body and "previous" not in body
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        assert "cursor=" in body["next"] and "page=" not in body["next"]
        url = body["next"].replace("http://testserver", "")
    raise AssertionError("next never ends")


@pytest.fixture
def tied_samples(project):
    """16 samples: a tie of 4, a tie of 3, three without a collection time, the rest distinct."""
    minutes = [5, 5, 5, 5, None, 9, 9, 9, 1, 2, None, 3, 7, None, 10, 11]
    samples = [
        SampleFactory(project=project, collected_at=None if m is None else T0 + dt.timedelta(minutes=m))
        for m in minutes
    ]
    return [sample.pk for sample in samples]


def database_order(queryset, *ordering) -> list[int]:
    return list(queryset.order_by(*ordering).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "ordering", ["", "collected_at", "-collected_at", "barcode", "-barcode", "received_at", "created_at"]
)
def test_cursor_walk_visits_every_sample_once_in_order(staff_api, tied_samples, ordering):
    query = f"?cursor=&page_size=3&ordering={ordering}" if ordering else "?cursor=&page_size=3"
    rows = walk(staff_api, SAMPLES + query)
    # The id breaks ties in the direction of the sort.
    sort = ordering or "-collected_at"
    expected = database_order(Sample.objects.all(), sort, "-id" if sort.startswith("-") else "id")
    assert [row["id"] for row in rows] == expected
    assert len(expected) == len(tied_samples) == 16


def test_cursor_walk_keeps_filters_and_search(staff_api, project):
    for n in range(9):
        SampleFactory(project=project, biofluid="serum" if n % 3 else "urine", external_id=f"SITE-{n % 2}")
    rows = walk(staff_api, SAMPLES + "?cursor=&page_size=2&biofluid=serum&search=SITE-1")
    expected = database_order(Sample.objects.filter(biofluid="serum", external_id="SITE-1"), "-collected_at", "-id")
    assert [row["id"] for row in rows] == expected and len(expected) == 3


def test_page_numbers_are_unchanged(staff_api, tied_samples):
    body = staff_api.get(SAMPLES + "?page=2&page_size=5").json()
    assert body["count"] == 16 and body["next"].endswith("page=3&page_size=5") and body["previous"]
    expected = database_order(Sample.objects.all(), "-collected_at", "-id")[5:10]
    assert [row["id"] for row in body["results"]] == expected


def test_sample_rows_carry_their_available_aliquots(staff_api, ours, project):
    Aliquot.objects.filter(pk=ours.aliquots[0].pk).update(status=Aliquot.Status.CONSUMED)
    empty = SampleFactory(project=project)
    for query in ("", "?cursor="):
        rows = {row["id"]: row["available_aliquots"] for row in staff_api.get(SAMPLES + query).json()["results"]}
        assert rows == {ours.sample.pk: 1, empty.pk: 0}


def test_preparation_rows_carry_result_counts_by_kind(staff_api, staff, lab, project):
    kinds = {"EVP-A": ["particle", "marker", "marker", "rna"], "EVP-B": ["protein", "imaging"], "EVP-C": []}
    for barcode, prep_kinds in kinds.items():
        prep = make_preparation(staff, project, barcode)
        for kind in prep_kinds:
            Measurement.objects.create(lab=lab, preparation=prep, kind=kind, method="x", measured_at=T0)
    expected = {"EVP-A": (1, 0, 2, 0), "EVP-B": (0, 1, 0, 1), "EVP-C": (0, 0, 0, 0)}
    for query in ("", "?cursor=&page_size=2", "?page=1&page_size=2&ordering=barcode"):
        rows = walk(staff_api, "/api/v1/preparations/" + query) if "cursor" in query else None
        rows = rows or staff_api.get("/api/v1/preparations/" + query).json()["results"]
        counts = {
            row["barcode"]: (row["particle_count"], row["protein_count"], row["marker_count"], row["imaging_count"])
            for row in rows
        }
        assert counts == {barcode: expected[barcode] for barcode in counts} and counts


def test_run_rows_carry_their_preparation_count(staff_api, staff, project):
    first = make_preparation(staff, project, "EVP-R1")
    make_preparation(staff, project, "EVP-R2", run=first.run)
    idle = IsolationRun.objects.create(
        lab=project.lab, project=project, code="RUN-IDLE", protocol_name="SEC", method="sec", operator=staff
    )
    rows = walk(staff_api, "/api/v1/runs/?cursor=&page_size=1")
    assert {row["code"]: row["preparation_count"] for row in rows} == {first.run.code: 2, idle.code: 0}


def test_preparations_walk_across_tied_creation_times(staff_api, staff, project):
    run = IsolationRun.objects.create(
        lab=project.lab,
        project=project,
        code="RUN-TIES",
        protocol_name="SEC",
        method="sec",
        operator=staff,
        **completed_run_fields(),
    )
    for n in range(10):
        prep = make_preparation(staff, project, f"EVP-T{n}", run=run)
        EVPreparation.objects.filter(pk=prep.pk).update(created_at=T0 + dt.timedelta(seconds=n // 3))
    rows = walk(staff_api, f"/api/v1/preparations/?cursor=&page_size=4&run={run.pk}")
    assert [row["id"] for row in rows] == database_order(EVPreparation.objects.all(), "-created_at", "-id")


def test_aliquots_and_measurements_walk_by_cursor(staff_api, ours, lab):
    for minutes in (3, 1, 1, 2):
        Measurement.objects.create(
            lab=lab,
            input_sample=ours.sample,
            kind="particle",
            method="nta",
            measured_at=T0 + dt.timedelta(minutes=minutes),
        )
    measured = walk(staff_api, "/api/v1/measurements/?cursor=&page_size=1")
    assert [row["id"] for row in measured] == database_order(Measurement.objects.all(), "measured_at", "id")
    aliquots = walk(staff_api, "/api/v1/aliquots/?cursor=&page_size=1")
    assert [row["barcode"] for row in aliquots] == sorted(a.barcode for a in ours.aliquots)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "eyJvIjpbXX0",  # {"o": []}
        "W10",  # []
        "eyJvIjpbIi1jb2xsZWN0ZWRfYXQiLCItaWQiXSwidiI6WyJzb29uIiwxXX0",  # a time that is not one
        "eyJvIjpbIi1jb2xsZWN0ZWRfYXQiLCItaWQiXSwidiI6W251bGwsbnVsbF19",  # no id
        "eyJvIjpbIi1jb2xsZWN0ZWRfYXQiLCItaWQiXSwidiI6WyIyMDI1LTAzLTAxVDA4OjAwOjAwIiwxXX0",  # naive time
        "x" * 2000,
    ],
)
def test_bad_cursor_is_a_400_naming_the_parameter(staff_api, tied_samples, cursor):
    response = staff_api.get(SAMPLES, {"cursor": cursor})
    assert response.status_code == 400 and list(response.json()) == ["cursor"]


def test_cursor_of_another_ordering_is_refused(staff_api, tied_samples):
    following = staff_api.get(SAMPLES + "?cursor=&page_size=2&ordering=barcode").json()["next"]
    cursor = following.split("cursor=")[1].split("&")[0]
    response = staff_api.get(SAMPLES, {"cursor": cursor, "page_size": 2})
    assert response.status_code == 400 and "another list or sort order" in response.json()["cursor"][0]


def test_schema_documents_the_cursor(staff_api):
    schema = staff_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/v1/samples/", "/api/v1/preparations/", "/api/v1/runs/", "/api/v1/measurements/"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert "cursor" in parameters and "page" in parameters
        assert "next" in parameters["cursor"]["description"]
    page = schema["components"]["schemas"]["PaginatedSampleListOutputList"]
    assert page["required"] == ["results"] and "cursor" in page["properties"]["count"]["description"]
