"""The tenancy matrix: every URL of the plugin that names a record, asked for lab A's record by each role of
lab B, and by nobody at all. The cases come from the URL resolver, so a new route is checked as soon as it
exists, and a route whose parameters this suite cannot fill fails ``test_every_id_route_has_a_case``.

A user of lab B must get 403 or 404 (405 where the method does not exist), never a page, a file, a redirect
that acted, or a server error; nothing may be written; lab A's names and barcodes never appear.
"""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evlims.core.models import AuditEvent, Role
from evlims.samples.models import CustodyEvent
from tests.security.conftest import body_of
from tests.security.routes import cases_for, evlims_routes, id_routes, plain_urls
from tests.security.world import NANOSIGHT, ROLES

pytestmark = pytest.mark.django_db

REFUSED = {403, 404, 405}
WEB_METHODS = ("get", "post")
API_METHODS = ("get", "post", "put", "patch", "delete")
# Pages anybody may open: signing in and out, and the API's description (no lab data; see docs/security.md).
# The sign-in pages, and single sign-on's start and return (404 while it is off; the provider's answer, when on).
PUBLIC = {"evlims:login", "evlims:logout", "evlims:sso-login", "evlims:sso-callback"}
PUBLIC_API = {"evlims:api:schema", "evlims:api:swagger-ui", "evlims:api:redoc"}
# Filters a list may take; each is tried with lab A's record.
FILTERS = {
    "project": "project",
    "sample": "sample",
    "aliquot": "aliquot",
    "donor": "donor",
    "box": "box",
    "storage_unit": "box",
    "run": "run",
    "preparation": "preparation",
    "protocol": "protocol",
    "protocol_version": "protocol_version",
    "instrument": "instrument",
    "lab": "lab",
    "ingestion": "ingestion",
    "material": "control_material",
}
SEARCHES = ("q", "search", "barcode")
# Pages that show no lab data, so filters change nothing (and the schema is slow to build).
UNFILTERED = {"schema", "swagger-ui", "redoc", "import-template"}


def _request(client, method, url, api):
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    if api:
        return getattr(client, method)(url, data={}, content_type="application/json")
    return getattr(client, method)(url, data={})


def _leaks(body: bytes, secrets) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [secret for secret in secrets if secret in text]


def _written():
    return AuditEvent.objects.count(), CustodyEvent.objects.count()


def test_every_id_route_has_a_case(alpha):
    """A route taking a parameter the matrix cannot fill is a route nobody checked."""
    cases, unfilled = cases_for(alpha)
    assert not unfilled, "routes without a tenancy case (teach tests/security/routes.py): " + ", ".join(
        f"{route.name} {route.route}" for route in unfilled
    )
    covered = {case.route.name for case in cases}
    assert covered == {route.name for route in id_routes()}
    # The walk sees both halves of the plugin and many records.
    assert any(route.is_api for route in id_routes()) and any(not route.is_api for route in id_routes())
    assert len(covered) >= 30


@pytest.mark.parametrize("role", ROLES)
def test_another_labs_records_are_refused_to_every_role(alpha, beta, client_for, role):
    client = client_for(beta.users[role])
    cases, _ = cases_for(alpha)
    before = _written()
    failures = []
    for case in cases:
        url = reverse(case.route.name, kwargs=case.kwargs)
        for method in API_METHODS if case.route.is_api else WEB_METHODS:
            response = _request(client, method, url, case.route.is_api)
            leaks = _leaks(body_of(response), alpha.secrets)
            if response.status_code not in REFUSED or leaks:
                failures.append(f"{method.upper()} {url} ({case}) → {response.status_code} {leaks or ''}")
    assert not failures, f"{role} of lab B reached lab A:\n" + "\n".join(failures)
    assert _written() == before, "a refused request wrote something"


def _list_urls(records, *, filtered: bool):
    """Each page naming no record; with ``filtered``, asked with every filter set to lab A's records and
    with searches for lab A's marker (a reflected query term is no leak: the marker alone is not a secret)."""
    filters = urlencode({name: getattr(records, attribute).pk for name, attribute in FILTERS.items()})
    searches = urlencode({name: records.marker for name in SEARCHES})
    for route, url in plain_urls():
        if route.name in PUBLIC:
            continue
        if not filtered:
            yield url
        elif route.url_name not in UNFILTERED:
            yield f"{url}?{filters}"
            yield f"{url}?{searches}"


def _list_failures(client, urls, secrets):
    failures, bodies = [], []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"GET {url} → {response.status_code}")
            continue
        body = body_of(response)
        bodies.append(body)
        leaks = _leaks(body, secrets)
        if leaks:
            failures.append(f"GET {url} → {response.status_code} shows {leaks}")
    return failures, bodies


@pytest.mark.parametrize("role", ROLES)
def test_lists_and_exports_show_only_own_lab(alpha, beta, client_for, role):
    client = client_for(beta.users[role])
    failures, bodies = _list_failures(client, _list_urls(alpha, filtered=False), alpha.secrets)
    assert not failures, f"{role} of lab B saw lab A's records:\n" + "\n".join(failures)
    assert any(beta.sample.barcode.encode() in body for body in bodies), "lab B sees its own records"


def test_filters_and_searches_naming_another_labs_records_show_nothing_of_it(alpha, beta, client_for):
    client = client_for(beta.users[Role.LAB_STAFF])
    failures, bodies = _list_failures(client, _list_urls(alpha, filtered=True), alpha.secrets)
    assert not failures, "lab B reached lab A's records through a filter or search:\n" + "\n".join(failures)
    assert len(bodies) > 20


def test_the_matrix_would_see_a_leak(alpha, client_for):
    """The same requests made by lab A's own staff do find lab A's records: the matrix can fail."""
    client = client_for(alpha.users[Role.LAB_STAFF])
    cases, _ = cases_for(alpha)
    reached = set()
    for case in cases:
        if case.route.is_api or case.route.name.endswith(("-csv", "-pdf", "-json")):
            continue
        response = client.get(reverse(case.route.name, kwargs=case.kwargs))
        if response.status_code == 200 and _leaks(body_of(response), alpha.secrets):
            reached.add(case.route.name)
    assert {"evlims:sample-detail", "evlims:box-detail", "evlims:run-detail"} <= reached


def test_anonymous_web_pages_redirect_to_login(alpha):
    from django.test import Client

    client = Client()
    login = reverse(settings.LOGIN_URL)
    cases, _ = cases_for(alpha)
    targets = [(c.route, reverse(c.route.name, kwargs=c.kwargs)) for c in cases if not c.route.is_api]
    targets += [(r, url) for r, url in plain_urls() if not r.is_api and r.name not in PUBLIC]
    failures = []
    for _route, url in targets:
        response = client.get(url)
        location = response.headers.get("Location", "")
        if response.status_code == 405:
            continue  # POST-only endpoints refuse a GET before anything else
        if response.status_code != 302 or not location.startswith(login):
            failures.append(f"GET {url} → {response.status_code} {location}")
        post = client.post(url, data={})
        if post.status_code not in (302, 403, 405) or (
            post.status_code == 302 and not post["Location"].startswith(login)
        ):
            failures.append(f"POST {url} → {post.status_code}")
    assert not failures, "\n".join(failures)
    assert len(targets) > 40


def test_anonymous_api_is_refused(alpha):
    from django.test import Client

    client = Client()
    cases, _ = cases_for(alpha)
    targets = [(c.route, reverse(c.route.name, kwargs=c.kwargs)) for c in cases if c.route.is_api]
    targets += [(r, url) for r, url in plain_urls() if r.is_api]
    failures = []
    before = _written()
    for route, url in targets:
        for method in API_METHODS:
            response = _request(client, method, url, True)
            allowed = (401, 403, 405) if route.name not in PUBLIC_API else (200, 401, 403, 405)
            if response.status_code not in allowed or _leaks(body_of(response), alpha.secrets):
                failures.append(f"{method.upper()} {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _written() == before


def test_every_route_is_under_the_plugin_namespace():
    """The walk found the routes (a resolver change that hid them would make every check above vacuous)."""
    names = {route.name for route in evlims_routes()}
    assert {"evlims:sample-detail", "evlims:api:sample-detail", "evlims:login"} <= names


def _foreign_payload(records) -> dict:
    """Every reference a create payload may take, pointing at lab A's records."""
    payload = {name: getattr(records, attribute).pk for name, attribute in FILTERS.items()}
    payload |= {
        "parent": records.box.pk,
        "input_aliquot": records.aliquot.pk,
        "inputs": [{"aliquot": records.aliquot.pk, "volume_ul": "10"}],
        "aliquots": [records.aliquot.pk],
        "results": [
            {
                "kind": "marker",
                "method": "western_blot",
                "preparation": records.preparation.barcode,
                "marker": {"protein": "CD9", "detected": True},
            }
        ],
        "code": "INTRUDER",
        "name": "Intruder",
        "kind": "site",
        "biofluid": "serum",
        "volume_ml": "1",
        "source_text": "slug: intruder",
    }
    return payload


@pytest.mark.parametrize("role", ROLES)
def test_creates_that_name_another_labs_records_are_refused(alpha, beta, client_for, role):
    """A create through the API whose references all point into lab A writes nothing."""
    client = client_for(beta.users[role])
    payload = _foreign_payload(alpha)
    before = _written()
    failures = []
    for route, url in plain_urls():
        if not route.is_api or route.name in PUBLIC_API:
            continue
        response = client.post(url, data=payload, content_type="application/json")
        if response.status_code == 415:  # a file endpoint: the same references as a multipart upload
            fields = {k: v for k, v in payload.items() if isinstance(v, int | str)}
            response = client.post(url, data=fields | {"file": SimpleUploadedFile("x.csv", NANOSIGHT.read_bytes())})
        if response.status_code not in (400, 403, 404, 405) or _leaks(body_of(response), alpha.secrets):
            failures.append(f"POST {url} → {response.status_code} {body_of(response)[:200]!r}")
    assert not failures, "\n".join(failures)
    assert _written() == before
