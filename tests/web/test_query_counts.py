"""List and detail pages keep the same number of queries as the data grow."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evlims.samples import services
from tests.factories import DonorFactory

from .conftest import register_sample


def queries_for(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def add_samples(staff, project, lab, box, count):
    for index in range(count):
        donor = DonorFactory(lab=lab)
        sample = register_sample(staff, project, donor=donor, external_id=f"EXT-{index}", aliquots=[100, 100], box=box)
        services.aliquot_thaw(actor=staff, aliquot=sample.aliquots.order_by("id").first())


def test_sample_list_is_flat(member_client, staff, project, lab, box):
    url = reverse("evlims:sample-list")
    add_samples(staff, project, lab, box, 2)
    small = queries_for(member_client, url), queries_for(member_client, url, {"q": "EXT", "biofluid": "blood_plasma"})
    add_samples(staff, project, lab, box, 10)
    large = queries_for(member_client, url), queries_for(member_client, url, {"q": "EXT", "biofluid": "blood_plasma"})
    assert small == large


def test_sample_detail_is_flat(member_client, staff, sample, box):
    url = reverse("evlims:sample-detail", args=[sample.pk])
    small = queries_for(member_client, url)
    first, second = sample.aliquots.order_by("id")
    children = services.aliquot_split(actor=staff, aliquot=first, volumes_ul=[50, 50, 50], box=box)
    services.aliquot_split(actor=staff, aliquot=children[0], volumes_ul=[10, 10])
    for column, aliquot in enumerate([second, *children[1:]], start=1):
        services.aliquot_thaw(actor=staff, aliquot=aliquot)
        services.aliquot_move(actor=staff, aliquot=aliquot, box=box, row=9, column=column)
    large = queries_for(member_client, url)
    assert small == large


def test_box_pages_are_flat(member_client, staff, project, lab, box):
    add_samples(staff, project, lab, box, 1)
    small = [
        queries_for(member_client, reverse("evlims:box-detail", args=[box.pk])),
        queries_for(member_client, reverse("evlims:box-list")),
    ]
    add_samples(staff, project, lab, box, 8)
    large = [
        queries_for(member_client, reverse("evlims:box-detail", args=[box.pk])),
        queries_for(member_client, reverse("evlims:box-list")),
    ]
    assert small == large


def test_home_and_audit_are_flat(member_client, staff, sample):
    home, audit = reverse("evlims:home"), reverse("evlims:audit", args=["sample", sample.pk])
    small = [queries_for(member_client, home), queries_for(member_client, audit)]
    for n in range(5):
        services.sample_update(
            sample=sample, actor=staff, reason=f"edit {n}", expected_version=sample.version, changes={"passage": n + 1}
        )
        services.aliquot_thaw(actor=staff, aliquot=sample.aliquots.order_by("id").first())
    large = [queries_for(member_client, home), queries_for(member_client, audit)]
    assert small == large
