"""Login throttling behind a reverse proxy: the address axes counts against is the client's, not the proxy's.

TRUSTED_PROXY_COUNT (config/settings/base.py) says how many proxies append to X-Forwarded-For. axes reads its
AXES_CLIENT_IP_CALLABLE, and the callable reads TRUSTED_PROXY_COUNT, on every request, so override_settings
is enough here.
"""

import base64

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from config.settings.base import client_address
from evlims.core.models import Role
from tests.factories import LabFactory, UserFactory, member

PASSWORD = "correct horse battery"
PROXY = "172.18.0.5"


def login(username, password, forwarded=None, remote=PROXY):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post(reverse("evlims:login"), {"username": username, "password": password}, **headers)


def test_the_site_hands_axes_its_client_address_callable():
    assert settings.AXES_CLIENT_IP_CALLABLE is client_address
    assert settings.TRUSTED_PROXY_COUNT == 0


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_one_client_is_locked_and_another_still_signs_in(db):
    UserFactory(username="shared")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login("shared", "wrong password", forwarded="203.0.113.10").status_code == 200
    assert login("shared", "wrong password", forwarded="203.0.113.10").status_code == 429
    # Client A is locked, the right password included.
    assert login("shared", PASSWORD, forwarded="203.0.113.10").status_code == 429
    # Client B comes through the same proxy and signs in.
    assert login("shared", PASSWORD, forwarded="198.51.100.20").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.10"}


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_a_client_cannot_dodge_the_lockout_with_its_own_header(db):
    UserFactory(username="shared")
    # The proxy appends the address it saw; whatever the client wrote stays to the left and is not read.
    for forged in range(settings.AXES_FAILURE_LIMIT):
        login("shared", "wrong password", forwarded=f"10.9.9.{forged}, 203.0.113.10")
    assert login("shared", PASSWORD, forwarded="10.9.9.99, 203.0.113.10").status_code == 429
    assert login("shared", PASSWORD, forwarded="203.0.113.10").status_code == 429
    assert login("shared", PASSWORD, forwarded="198.51.100.20").status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_without_a_trusted_proxy_a_forged_header_is_ignored(db):
    UserFactory(username="direct")
    for forged in range(settings.AXES_FAILURE_LIMIT):
        response = login("direct", "wrong password", forwarded=f"10.9.9.{forged}", remote="192.0.2.7")
    assert response.status_code == 429
    # A new forged address does not lift the lockout: REMOTE_ADDR counts.
    assert login("direct", PASSWORD, forwarded="198.51.100.20", remote="192.0.2.7").status_code == 429
    assert login("direct", PASSWORD, remote="192.0.2.8").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.7"}


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_api_basic_authentication_counts_the_client_too(db):
    user = member(LabFactory(), Role.LAB_STAFF, username="api-shared")

    def call(password, forwarded):
        token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
        return Client().get(
            "/api/v1/samples/",
            HTTP_AUTHORIZATION=f"Basic {token}",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert call("wrong password", "203.0.113.10").status_code in (401, 403)
    assert call(PASSWORD, "203.0.113.10").status_code in (401, 403, 429)
    assert call(PASSWORD, "198.51.100.20").status_code == 200


class Request:
    def __init__(self, remote="192.0.2.7", forwarded=None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, None, "192.0.2.7"),
        (0, "203.0.113.10", "192.0.2.7"),
        (1, None, "192.0.2.7"),
        (1, "", "192.0.2.7"),
        (1, "203.0.113.10", "203.0.113.10"),
        (1, "10.9.9.9,203.0.113.10", "203.0.113.10"),
        (1, " 10.9.9.9 ,  2001:db8::1 ", "2001:db8::1"),
        (2, "10.9.9.9, 203.0.113.10, 172.18.0.9", "203.0.113.10"),
        (2, "203.0.113.10", "192.0.2.7"),
        (1, "not-an-address", "192.0.2.7"),
        (1, "203.0.113.10:4711", "192.0.2.7"),
    ],
)
def test_client_address_takes_the_entry_the_nearest_proxies_wrote(count, forwarded, expected):
    with override_settings(TRUSTED_PROXY_COUNT=count):
        assert client_address(Request(forwarded=forwarded)) == expected
