"""Through the API, a sample's "received" custody events take its received time."""

import pytest


@pytest.mark.django_db
def test_api_dates_the_received_event_at_the_given_time(staff_api, project):
    payload = {
        "project": project.pk,
        "biofluid": "serum",
        "volume_ml": "2",
        "received_at": "2024-05-02T09:40:00Z",
        "aliquot_volumes_ul": ["500.0"],
    }
    response = staff_api.post("/api/v1/samples/", payload, format="json")
    assert response.status_code == 201, response.json()
    events = staff_api.get(f"/api/v1/custody-events/?sample={response.json()['id']}&kind=received").json()
    assert [row["occurred_at"] for row in events["results"]] == ["2024-05-02T09:40:00Z"]
