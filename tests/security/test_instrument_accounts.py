"""A person's account whose only role is ``instrument`` has an instrument key's reach and no more: no web page,
and in the API only the endpoints where a key posts results (scope ``results:write``) — never a list, a
detail or another write, over the session or HTTP Basic alike."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse

from evlims.api.authentication import RESULTS_WRITE
from evlims.api.permissions import ACCOUNT_NOT_ACCEPTED, key_scope_needed
from evlims.core.models import Membership, Role
from evlims.core.tenancy import is_instrument_account
from evlims.instruments.models import Ingestion
from evlims.web.views.common import INSTRUMENT_ACCOUNT_REFUSED
from tests.factories import member
from tests.fixtures.instruments import NANOSIGHT_FULL, instrument_path
from tests.security.conftest import body_of
from tests.security.routes import cases_for, plain_urls
from tests.security.test_tenancy_matrix import PUBLIC, PUBLIC_API, _leaks, _written
from tests.security.world import PASSWORD

API_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def robot(alpha):
    return member(alpha.lab, Role.INSTRUMENT, username="alpha-robot")


@pytest.fixture
def basic(client):
    def authorise(user):
        token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
        client.defaults["HTTP_AUTHORIZATION"] = f"Basic {token}"
        return client

    return authorise


def targets(world, api: bool):
    cases, _ = cases_for(world)
    urls = [(c.route, reverse(c.route.name, kwargs=c.kwargs)) for c in cases if c.route.is_api == api]
    urls += [(r, url) for r, url in plain_urls() if r.is_api == api and r.name not in PUBLIC | PUBLIC_API]
    return urls


def accepts_keys_for(url: str, method: str) -> bool:
    view = resolve(url).func
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    return view_class is not None and key_scope_needed(view_class, method.upper()) == RESULTS_WRITE


def test_only_accounts_whose_every_role_is_instrument_are_instrument_accounts(alpha, beta, robot):
    assert is_instrument_account(robot)
    assert not any(is_instrument_account(user) for user in alpha.users.values())
    both = member(alpha.lab, Role.LAB_STAFF, username="alpha-both")
    Membership.objects.create(user=both, lab=beta.lab, role=Role.INSTRUMENT)
    assert not is_instrument_account(both)


def test_every_web_page_refuses_an_instrument_account(alpha, robot, client_for):
    client = client_for(robot)
    pages = targets(alpha, api=False)
    before = _written()
    failures = []
    for route, url in pages:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code == 405:
                continue  # a POST-only (or GET-only) page refuses the other method before anything else
            if response.status_code != 403 or _leaks(body_of(response), alpha.secrets):
                failures.append(f"{method.upper()} {url} ({route}) → {response.status_code}")
            elif INSTRUMENT_ACCOUNT_REFUSED.split(":")[0] not in body_of(response).decode():
                failures.append(f"{method.upper()} {url} ({route}) → 403 without the instrument-account message")
    assert not failures, "an instrument account opened a page:\n" + "\n".join(failures)
    assert _written() == before
    assert len(pages) > 60
    home = client.get(reverse("evlims:home"))
    assert home.status_code == 403 and "Instruments post results and files through the API" in home.content.decode()


def test_the_api_refuses_an_instrument_account_everywhere_but_ingest(alpha, robot, basic):
    client = basic(robot)
    before = _written()
    failures, ingest = [], set()
    for route, url in targets(alpha, api=True):
        for method in API_METHODS:
            kwargs = {"data": {}, "content_type": "application/json"} if method in ("post", "put", "patch") else {}
            response = getattr(client, method)(url, **kwargs)
            if accepts_keys_for(url, method):
                ingest.add(route.name)
                if response.status_code == 403 and ACCOUNT_NOT_ACCEPTED in response.content.decode():
                    failures.append(f"{method.upper()} {url} → refused although keys may post results there")
                continue
            if response.status_code not in (403, 404, 405) or _leaks(body_of(response), alpha.secrets):
                failures.append(f"{method.upper()} {url} ({route}) → {response.status_code}")
    assert not failures, "an instrument account reached the API:\n" + "\n".join(failures)
    assert {"evlims:api:results", "evlims:api:files", "evlims:api:ingestion-commit"} <= ingest
    assert _written() == before


LISTS = ["project", "donor", "sample", "aliquot", "ingestion", "measurement", "preparation", "run", "review"]


@pytest.mark.parametrize("name", LISTS)
def test_api_lists_are_refused_with_the_reason(alpha, robot, basic, name):
    response = basic(robot).get(reverse(f"evlims:api:{name}-list"))
    assert response.status_code == 403
    assert response.json()["detail"] == ACCOUNT_NOT_ACCEPTED
    # The control: the same request by the lab's staff over HTTP Basic is answered.
    assert basic(alpha.staff).get(reverse(f"evlims:api:{name}-list")).status_code == 200


def post_a_result(client, world):
    document = {
        "kind": "marker",
        "method": "western_blot",
        "preparation": world.preparation.barcode,
        "marker": {"protein": "CD63", "detected": True, "antibody": {"clone": "H5C6"}},
    }
    return client.post(
        reverse("evlims:api:results"), {"lab": world.lab.pk, "results": [document]}, content_type="application/json"
    )


def test_the_ingest_endpoint_admits_an_instrument_account(alpha, robot, basic):
    """The permission lets the account through on the ingest endpoints, where a key with results:write goes."""
    response = post_a_result(basic(robot), alpha)
    assert ACCOUNT_NOT_ACCEPTED not in response.content.decode()


def test_an_instrument_account_stores_results_through_the_api(alpha, robot, basic):
    response = post_a_result(basic(robot), alpha)
    assert response.status_code == 201, response.content


def test_an_instrument_account_uploads_and_commits_a_file(alpha, robot, basic):
    path = instrument_path(NANOSIGHT_FULL)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), "text/csv")
    response = basic(robot).post(reverse("evlims:api:files"), {"file": upload, "lab": alpha.lab.pk})
    assert response.status_code == 201, response.content
    ingestion = Ingestion.objects.get(pk=response.json()["id"])
    name = ingestion.parsed["samples"][0]["name"]
    committed = basic(robot).post(
        reverse("evlims:api:ingestion-commit", args=[ingestion.pk]),
        {"mapping": {name: alpha.preparation.barcode}, "dilutions": {name: 200}},
        content_type="application/json",
    )
    assert committed.status_code == 200, committed.content
    ingestion.refresh_from_db()
    assert ingestion.status == Ingestion.Status.COMMITTED
