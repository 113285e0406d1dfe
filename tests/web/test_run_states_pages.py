"""The pages know a preparation exists once its run is completed: the typed-result forms refuse the preparations
of planned, in-progress and aborted runs with the reason, and the preparation list hides them unless asked,
marking their state in the lab's words."""

import pytest
from django.urls import reverse

from evlims.characterization.models import Measurement
from evlims.isolation.models import IsolationRun
from tests.run_states import in_state
from tests.web.test_results import MARKER, make_preparation

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "status, message",
    [
        (IsolationRun.Status.PLANNED, "which is not completed yet: complete the run before recording results."),
        (IsolationRun.Status.IN_PROGRESS, "which is not completed yet: complete the run before recording results."),
        (IsolationRun.Status.ABORTED, "which is aborted: it produced no preparation."),
    ],
)
def test_a_typed_result_for_an_unproduced_preparation_is_refused(member_client, staff, project, status, message):
    preparation = make_preparation(staff, project, "EVP-STATE")
    run = in_state(preparation.run, status)
    response = member_client.post(reverse("evlims:result-new", args=[preparation.pk, "marker"]), MARKER)
    assert response.status_code == 200
    assert f"EVP-STATE belongs to run {run.code} {message}" in response.content.decode()
    assert not Measurement.objects.exists()


def test_the_list_hides_unproduced_preparations_unless_asked(member_client, staff, project):
    make_preparation(staff, project, "EVP-MADE")
    waiting = make_preparation(staff, project, "EVP-WAITING")
    in_state(waiting.run, IsolationRun.Status.PLANNED)
    lost = make_preparation(staff, project, "EVP-LOST")
    in_state(lost.run, IsolationRun.Status.ABORTED, abort_reason="Column clogged")
    url = reverse("evlims:preparation-list")

    html = member_client.get(url).content.decode()
    assert ">EVP-MADE</a>" in html and ">EVP-WAITING</a>" not in html and ">EVP-LOST</a>" not in html
    assert "Include planned and aborted" in html

    html = member_client.get(url, {"include_unproduced": "on"}).content.decode()
    assert ">EVP-MADE</a>" in html and ">EVP-WAITING</a>" in html and ">EVP-LOST</a>" in html
    assert ">Not produced yet</span>" in html and ">Aborted: Column clogged</span>" in html
    assert "not_produced" not in html


def test_the_preparation_page_says_it_is_not_produced_yet(member_client, staff, project):
    preparation = make_preparation(staff, project, "EVP-SOON")
    run = in_state(preparation.run, IsolationRun.Status.IN_PROGRESS)
    html = member_client.get(reverse("evlims:preparation-detail", args=[preparation.pk])).content.decode()
    assert "Not produced yet" in html and f"Run {run.code} is not completed yet" in html
