"""Error pages through the demo host site's handlers (DEBUG off): they say what happened and what to do, in the
lab's words; the 500 page needs neither the database nor the request. A locked sign-in answers 429 with the wait.
/favicon.ico answers."""

import base64
import datetime as dt
import json

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.urls import get_resolver, reverse

from config import urls as host_urls
from evlims.core.models import Role
from evlims.web.views import errors, home
from tests.factories import LabFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def test_the_demo_site_names_the_plugins_handlers():
    assert host_urls.handler403 == "evlims.web.views.errors.permission_denied"
    assert host_urls.handler404 == "evlims.web.views.errors.page_not_found"
    assert host_urls.handler500 == "evlims.web.views.errors.server_error"
    assert settings.AXES_LOCKOUT_CALLABLE == "evlims.web.views.errors.locked_out"
    assert not settings.DEBUG


class TestNotFound:
    def test_a_record_outside_the_users_labs(self, member_client, foreign_sample):
        response = member_client.get(reverse("evlims:sample-detail", args=[foreign_sample.pk]))
        assert response.status_code == 404
        html = _text(response)
        assert "No such record in your labs" in html and "Check the barcode on the label" in html
        assert f'action="{reverse("evlims:search")}"' in html and 'data-status="404"' in html
        assert foreign_sample.barcode not in html

    def test_an_unknown_address_signed_out(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        html = _text(response)
        assert "No such record in your labs" in html
        assert 'name="q"' not in html  # the search needs a signed-in member

    def test_the_handler_is_the_404_page(self, rf, staff):
        request = rf.get("/anything/")
        request.user = staff
        response = get_resolver().resolve_error_handler(404)(request, exception=None)
        assert response.status_code == 404 and "No such record in your labs" in _text(response)


class TestForbidden:
    def test_a_qa_manager_registering_a_sample_is_told_which_role_it_needs(self, client, qa_manager):
        client.force_login(qa_manager)
        response = client.get(reverse("evlims:sample-create"))
        assert response.status_code == 403
        html = _text(response)
        assert "Your role does not allow registering or changing records." in html
        assert "Lab staff" in html and "Lab admin" in html and "You are QA manager in Vesicle Lab" in html

    def test_the_handler_shows_the_reason_and_the_roles(self, rf, staff):
        request = rf.get("/admin/")
        request.user = staff
        response = get_resolver().resolve_error_handler(403)(request, exception=PermissionDenied("Only QA signs."))
        assert response.status_code == 403
        html = _text(response)
        assert "Only QA signs." in html and 'id="roles-needed"' in html and "You are Lab staff in Vesicle Lab" in html

    def test_without_a_reason_the_page_still_says_what_to_do(self, rf, staff):
        request = rf.get("/admin/")
        request.user = staff
        response = get_resolver().resolve_error_handler(403)(request, exception=PermissionDenied())
        assert "Your role does not allow this action." in _text(response)


class TestServerError:
    def test_a_failing_page_shows_the_500_page(self, member_client, monkeypatch):
        def broken(user):
            raise RuntimeError("database went away")

        monkeypatch.setattr(home.overview, "open_runs", broken)
        member_client.raise_request_exception = False
        response = member_client.get(reverse("evlims:home"))
        assert response.status_code == 500
        html = _text(response)
        assert "Something went wrong on our side" in html
        assert "Nothing was saved that was not confirmed" in html and "tell the admin of your lab" in html
        assert "database went away" not in html and "Traceback" not in html

    def test_it_needs_neither_the_database_nor_the_request(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            response = get_resolver().resolve_error_handler(500)(None)
        assert response.status_code == 500 and 'data-status="500"' in _text(response)


def _login(client, username, password, address="10.0.0.30"):
    return client.post(reverse("evlims:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


class TestLockedOut:
    def test_too_many_wrong_passwords_say_how_long_to_wait(self):
        UserFactory(username="forgetful-tech")
        client = Client()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            response = _login(client, "forgetful-tech", "wrong password")
        assert response.status_code == 429
        minutes = round(settings.AXES_COOLOFF_TIME * 60)
        assert response["Retry-After"] == str(minutes * 60)
        html = _text(response)
        assert "Too many wrong passwords: wait, then try again" in html
        assert f"{minutes} minutes" in html and "forgetful-tech" in html and 'id="retry-at"' in html
        # The right password is refused the same way while it is paused.
        assert _login(client, "forgetful-tech", "correct horse battery").status_code == 429

    @override_settings(AXES_COOLOFF_TIME=dt.timedelta(minutes=1))
    def test_the_wait_follows_the_sites_setting(self, rf):
        response = errors.locked_out(_anonymous(rf.post("/login/", {"username": "ana"})))
        assert response.status_code == 429 and response["Retry-After"] == "60"
        assert "1 minute" in _text(response) and "1 minutes" not in _text(response)

    @override_settings(AXES_COOLOFF_TIME=None)
    def test_an_unknown_wait_is_not_invented(self, rf):
        response = errors.locked_out(_anonymous(rf.post("/login/", {"username": "ana"})))
        assert response.status_code == 429 and "Retry-After" not in response
        assert 'id="cooloff"' not in _text(response) and "wait, then try again" in _text(response)

    def test_the_api_gets_json(self, rf):
        request = _anonymous(rf.get("/api/v1/samples/"))
        request.resolver_match = get_resolver().resolve("/api/v1/samples/")
        response = errors.locked_out(request)
        assert response.status_code == 429 and response["Content-Type"] == "application/json"
        assert "Too many wrong passwords" in json.loads(response.content)["detail"]

    def test_the_api_locks_basic_authentication_without_an_html_page(self):
        user = member(LabFactory(), Role.LAB_STAFF, username="api-locked")
        client = Client()

        def call(password):
            token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
            return client.get("/api/v1/samples/", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR="10.0.0.31")

        for _ in range(settings.AXES_FAILURE_LIMIT + 1):
            response = call("wrong password")
        assert response.status_code in (401, 403, 429)
        assert response["Content-Type"].startswith("application/json")


def _anonymous(request):
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return request


def test_favicon_answers(client, staff):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == settings.STATIC_URL + "evlims/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
    assert finders.find("evlims/favicon.ico") and finders.find("evlims/favicon.svg")
    with open(finders.find("evlims/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    client.force_login(staff)
    html = client.get(reverse("evlims:home")).content.decode()
    assert 'rel="icon" href="/static/evlims/favicon.svg"' in html
