"""Every list answers in a fixed number of queries, whatever the number of rows on the page."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evlims.samples import services
from tests.api.endpoints import LISTS
from tests.factories import DonorFactory, ProjectFactory, storage_box

pytestmark = pytest.mark.django_db


def grow(staff, lab, count):
    """``count`` more of everything: projects, donors, boxes, samples, aliquots, custody events."""
    for _ in range(count):
        project = ProjectFactory(lab=lab)
        donor = DonorFactory(lab=lab, project=project)
        box = storage_box(lab, name=f"Grown box {project.code}")
        sample = services.sample_register(
            actor=staff,
            project=project,
            donor=donor,
            biofluid="serum",
            volume_ml=Decimal("2"),
            aliquot_volumes_ul=[100, 100],
            box=box,
        )
        first = sample.aliquots.order_by("id").first()
        services.aliquot_split(actor=staff, aliquot=first, volumes_ul=[10])
        services.aliquot_thaw(actor=staff, aliquot=first)


def measure(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("endpoint", LISTS, ids=str)
def test_list_query_count_is_flat(staff_api, staff, lab, ours, endpoint):
    path = endpoint.path(ours)
    grow(staff, lab, 2)
    small_queries, small_rows = measure(staff_api, path)
    grow(staff, lab, 4)
    large_queries, large_rows = measure(staff_api, path)
    assert large_rows > small_rows
    assert large_queries == small_queries


def test_sample_detail_query_count_does_not_grow_with_aliquots(staff_api, staff, ours):
    path = f"/api/v1/samples/{ours.sample.pk}/"
    few, _ = measure_detail(staff_api, path)
    services.aliquots_create(actor=staff, sample=ours.sample, volumes_ul=[10] * 8, box=ours.box)
    many, body = measure_detail(staff_api, path)
    assert body["aliquots"]["total"] == 10 and many == few


def test_box_grid_query_count_does_not_grow_with_tubes(staff_api, staff, ours):
    path = f"/api/v1/storage-units/{ours.box.pk}/grid/"
    few, _ = measure_detail(staff_api, path)
    services.aliquots_create(actor=staff, sample=ours.sample, volumes_ul=[10] * 8, box=ours.box)
    many, body = measure_detail(staff_api, path)
    assert body["occupied"] == 10 and many == few


def measure_detail(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response.json()
