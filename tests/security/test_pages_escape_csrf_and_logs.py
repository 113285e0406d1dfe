"""What users type is shown as text, never as markup; every form carries a CSRF token and a POST without one
is refused; instrument keys never reach the logs or the database in clear."""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from evlims.core.models import Role
from tests.security.conftest import body_of
from tests.security.routes import cases_for, plain_urls
from tests.security.world import build_lab

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror", "onerror=alert(1)>")
TEXTS = {
    "project": f"Project {SCRIPT}",
    "donor": f"D{IMAGE}",
    "diagnosis": f"Diagnosis {SCRIPT}",
    "box": f"Box {IMAGE}",
    "external_id": f"EXT{SCRIPT}",
    "remarks": f"Remarks {IMAGE}",
    "protocol": SCRIPT,
    "equipment": f"Column {IMAGE}",
    "instrument": f"NTA {SCRIPT}",
    "control": f"Control {IMAGE}",
    "manifest": f"manifest{IMAGE}.csv",
}
# The API's own description pages: static text, slow to build, no lab data.
API_DESCRIPTION = {"schema", "swagger-ui", "redoc"}
MARKUP_TYPES = ("text/html", "image/svg+xml", "application/xhtml+xml")


@pytest.fixture
def hostile(db):
    return build_lab("XSS", texts=TEXTS)


def _pages(world):
    cases, _ = cases_for(world)
    # PDFs are no markup (and slow to typeset); the HTML report with the same content is checked.
    urls = [reverse(case.route.name, kwargs=case.kwargs) for case in cases if not case.route.name.endswith("-pdf")]
    urls += [url for route, url in plain_urls() if route.url_name not in API_DESCRIPTION]
    urls += [f"{reverse('evlims:labels')}?aliquot={world.aliquot.pk}&format=svg"]
    return urls


def _post_forms(html: str) -> list[str]:
    return re.findall(r"<form\b[^>]*\bmethod=[\"']?post[\"']?[^>]*>.*?</form>", html, flags=re.I | re.S)


def test_pages_escape_user_text_and_their_forms_carry_csrf_tokens(hostile):
    """One walk over every page as the lab's admin (who sees every form: writer's and reviewer's)."""
    client = Client()
    client.force_login(hostile.users[Role.LAB_ADMIN])
    shown, forms = 0, 0
    failures = []
    for url in _pages(hostile):
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"GET {url} → {response.status_code}")
            continue
        if not response.get("Content-Type", "").startswith(MARKUP_TYPES):
            continue
        body = body_of(response).decode("utf-8", "replace")
        found = [raw for raw in RAW_MARKUP if raw in body]
        if found:
            failures.append(f"GET {url} shows {found} unescaped")
        shown += body.count("&lt;script&gt;alert(1)") + body.count("&lt;img src=x onerror")
        for form in _post_forms(body):
            forms += 1
            if 'name="csrfmiddlewaretoken"' not in form:
                failures.append(f"GET {url}: POST form without CSRF token: {form[:120]}")
    assert not failures, "\n".join(failures)
    assert shown > 10, "the hostile names are on the pages (escaped), so the check above looked at them"
    assert forms > 10, "the pages have POST forms, so the token check looked at them"
    assert 'name="csrfmiddlewaretoken"' in Client().get(reverse("evlims:login")).content.decode()


def test_a_post_without_csrf_token_is_refused_everywhere(hostile):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hostile.users[Role.LAB_ADMIN])
    refused = []
    for url in _pages(hostile):
        response = client.post(url, data={})
        if response.status_code != 403:
            refused.append(f"POST {url} → {response.status_code}")
    assert not refused, "accepted a POST without a CSRF token:\n" + "\n".join(refused)


def test_instrument_keys_never_reach_the_logs_or_the_database(hostile, caplog):
    raw_key = hostile.raw_api_key
    secret = raw_key.split("_", 2)[2]
    caplog.set_level(logging.DEBUG)
    client = Client()
    good = client.get("/api/v1/measurements/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert good.status_code == 200
    wrong = raw_key[:-4] + ("AAAA" if not raw_key.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/measurements/", HTTP_AUTHORIZATION=f"Api-Key {wrong}").status_code in (401, 403)
    assert client.get("/api/v1/samples/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}x").status_code in (401, 403)
    assert caplog.records, "the requests were logged (401s are)"
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert secret not in text and secret[:16] not in text, record.getMessage()
        assert wrong.split("_", 2)[2][:16] not in text
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for column in columns:
                cursor.execute(
                    f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE %s', [f"%{secret}%"]
                )
                assert cursor.fetchone()[0] == 0, f"the key is stored in clear in {table}.{column}"
