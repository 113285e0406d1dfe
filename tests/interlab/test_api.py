"""A round through the API: the coordinator defines, ships and closes it; participants report and read only
their own results, then their scores and the pseudonymised summary."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from evlims.interlab.models import ComparisonRound
from tests.interlab.world import build_ring

pytestmark = pytest.mark.django_db
API = "/api/v1"


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_a_round_from_definition_to_scores():
    ring = build_ring(0)
    from tests.factories import LabFactory, member

    labs = [LabFactory(name=f"Partner lab {i}", slug=f"partner-{i}") for i in range(3)]
    people = [member(lab, username=f"partner-{i}") for i, lab in enumerate(labs)]
    coordinator = client_for(ring.coordinator_staff)
    answer = coordinator.post(
        f"{API}/comparison-schemes/",
        {"lab": ring.coordinator.pk, "code": "API-EQA", "name": "EV count", "quantity": "particles_per_ml"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    scheme = answer.json()["id"]
    answer = coordinator.post(
        f"{API}/comparison-rounds/",
        {"scheme": scheme, "code": "R1", "material": "Pooled plasma", "sigma_pt": 5e8},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    round_id = answer.json()["id"]
    assert answer.json()["your_role"] == "coordinator"
    for lab in labs:
        assert (
            coordinator.post(
                f"{API}/comparison-rounds/{round_id}/participants/", {"lab": lab.slug}, format="json"
            ).status_code
            == 200
        )
    codes = ComparisonRound.objects.get(pk=round_id).participants.values_list("code", flat=True)
    for code in codes:
        answer = coordinator.post(f"{API}/comparison-rounds/{round_id}/items/", {"participant": code}, format="json")
        assert answer.status_code == 200, answer.json()
    answer = coordinator.post(
        f"{API}/comparison-rounds/{round_id}/checks/",
        {"homogeneity_pairs": [[5e9, 5.05e9], [5.1e9, 5.0e9], [4.95e9, 5.0e9]]},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert (
        coordinator.post(f"{API}/comparison-rounds/{round_id}/ship/", {"reason": "courier"}, format="json").status_code
        == 200
    )

    for person, value in zip(people, [5.0e9, 5.2e9, 6.9e9], strict=True):
        participant = client_for(person)
        items = participant.get(f"{API}/comparison-items/").json()["results"]
        assert len(items) == 1
        answer = participant.post(
            f"{API}/comparison-items/{items[0]['id']}/result/",
            {"value": value, "standard_uncertainty": 1e8},
            format="json",
        )
        assert answer.status_code == 201, answer.json()
        # Before closing a participant sees its own result, no figures and no other lab.
        stats = participant.get(f"{API}/comparison-rounds/{round_id}/statistics/").json()
        assert [row["value"] for row in stats["results"]] == [value]
        assert stats["summary"] == [] and stats["assigned_value"] is None
        assert all(row["z"] is None for row in stats["results"])

    assert coordinator.post(f"{API}/comparison-rounds/{round_id}/close/", {}, format="json").status_code == 200
    stats = coordinator.get(f"{API}/comparison-rounds/{round_id}/statistics/").json()
    assert {row["lab"] for row in stats["results"]} == {lab.name for lab in labs}
    assert stats["homogeneity"]["passed"] is True
    assert stats["assigned_value"] == pytest.approx(ComparisonRound.objects.get(pk=round_id).assigned_value)

    mine = client_for(people[2]).get(f"{API}/comparison-rounds/{round_id}/statistics/")
    body = mine.json()
    assert len(body["results"]) == 1 and body["results"][0]["z"] is not None
    assert "lab" not in body["results"][0]
    assert len(body["summary"]) == 3
    text = mine.content.decode()
    for lab in labs:
        assert lab.name not in text and lab.slug not in text


def test_a_participant_cannot_run_the_round_or_report_for_another_lab():
    ring = build_ring(2)
    participant = client_for(ring.staff[0])
    assert participant.post(f"{API}/comparison-rounds/{ring.round.pk}/ship/", {}, format="json").status_code == 403
    client_for(ring.coordinator_staff).post(f"{API}/comparison-rounds/{ring.round.pk}/ship/", {}, format="json")
    other_item = ring.items[1]
    answer = participant.post(f"{API}/comparison-items/{other_item.pk}/result/", {"value": 1.0}, format="json")
    assert answer.status_code == 404


def test_an_outsider_sees_nothing_of_the_round():
    ring = build_ring(1)
    outsider = build_ring(0, marker="OUT")
    client = client_for(outsider.coordinator_staff)
    assert client.get(f"{API}/comparison-rounds/{ring.round.pk}/").status_code == 404
    assert client.get(f"{API}/comparison-rounds/{ring.round.pk}/statistics/").status_code == 404
    listed = [row["id"] for row in client.get(f"{API}/comparison-rounds/").json()["results"]]
    assert listed == [outsider.round.pk]


def test_bad_input_is_named():
    ring = build_ring(1)
    client = client_for(ring.coordinator_staff)
    answer = client.post(
        f"{API}/comparison-rounds/{ring.round.pk}/participants/", {"lab": "no-such-lab"}, format="json"
    )
    assert answer.status_code == 400 and "lab" in answer.json()
    answer = client.post(f"{API}/comparison-rounds/{ring.round.pk}/items/", {"participant": "Lab 00"}, format="json")
    assert answer.status_code == 400 and "participant" in answer.json()
    client.post(f"{API}/comparison-rounds/{ring.round.pk}/ship/", {}, format="json")
    answer = client.post(f"{API}/comparison-rounds/{ring.round.pk}/close/", {}, format="json")
    assert answer.status_code == 400 and "at least 3 results" in str(answer.json())
    answer = client_for(ring.staff[0]).post(f"{API}/comparison-items/{ring.items[0].pk}/result/", {}, format="json")
    assert answer.status_code == 400 and "value" in answer.json()


def test_a_participant_does_not_learn_the_reference_value_before_the_round_closes():
    ring = build_ring(3, assigned_from="reference")
    participant = client_for(ring.staff[0])
    assert participant.get(f"{API}/comparison-rounds/{ring.round.pk}/").json()["reference_value"] is None
    assert (
        client_for(ring.coordinator_staff).get(f"{API}/comparison-rounds/{ring.round.pk}/").json()["reference_value"]
        == 5.0e9
    )
    page = Client()
    page.force_login(ring.staff[0])
    assert "5.00 × 10⁹" not in page.get(f"/comparison-rounds/{ring.round.pk}/").content.decode()
