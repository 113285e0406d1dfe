"""A real OpenID Connect provider for the single sign-on tests (tests/sso/provider), started here in a process
of its own on a free localhost port, and a person's browser at it (``ProviderBrowser``, plain HTTP with its
cookies: the provider's sign-in form is filled in as a person would).

The evlims side runs in the test process (Django's test client) with single sign-on switched on by the same
environment variables a site sets (``sso_config.oidc_settings``); it reaches the provider's token, user info
and key endpoints over real HTTP."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from evlims.core.identity import config as sso_config

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "evlims-test-site", "evlims-test-client-secret-0123456789"
RP = "http://testserver"
PEOPLE = [
    {
        "username": "ines",
        "password": "provider-password-ines",
        "email": "ines.moreau@example.org",
        "first_name": "Inès",
        "last_name": "Moreau",
        "groups": ["ev-core-qa", "all-staff"],
    },
    {
        "username": "tom",
        "password": "provider-password-tom",
        "email": "tom.berg@example.org",
        "first_name": "Tom",
        "last_name": "Berg",
        "groups": ["all-staff"],
    },
]


@dataclass
class Provider:
    issuer: str
    discovery: dict
    people: dict

    def environment(self, **extra) -> dict:
        """The EVLIMS_OIDC_* variables a site would set for this provider (copied from its discovery document)."""
        return {
            "EVLIMS_OIDC_CLIENT_ID": CLIENT_ID,
            "EVLIMS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "EVLIMS_OIDC_ISSUER": self.discovery["issuer"],
            "EVLIMS_OIDC_AUTHORIZATION_ENDPOINT": self.discovery["authorization_endpoint"],
            "EVLIMS_OIDC_TOKEN_ENDPOINT": self.discovery["token_endpoint"],
            "EVLIMS_OIDC_USERINFO_ENDPOINT": self.discovery["userinfo_endpoint"],
            "EVLIMS_OIDC_JWKS_ENDPOINT": self.discovery["jwks_uri"],
            "EVLIMS_OIDC_PROVIDER_NAME": "Campus login",
            **extra,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_provider(folder: Path, site: str = RP):
    """The test provider running in a process of its own until the block ends; ``site`` is the evlims address
    its redirect URIs name (the test client's, or a live server's)."""
    port = _free_port()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    issuer = f"http://127.0.0.1:{port}/o"
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "tests.sso.provider.settings",
        "PYTHONPATH": str(REPO),
        "PROVIDER_DB": str(folder / "provider.sqlite3"),
        "PROVIDER_RSA_KEY": pem,
        "PROVIDER_ISSUER": issuer,
        "PROVIDER_CLIENT_ID": CLIENT_ID,
        "PROVIDER_CLIENT_SECRET": CLIENT_SECRET,
        "PROVIDER_REDIRECT_URIS": f"{site}/sso/callback/ {site}/sso/sign/callback/",
        "PROVIDER_PEOPLE": json.dumps(PEOPLE),
    }
    subprocess.run(
        [sys.executable, "-m", "tests.sso.provider.prepare"], env=environment, cwd=REPO, check=True, timeout=300
    )
    log = open(folder / "provider.log", "w")  # noqa: SIM115 (closed after the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=environment,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        discovery = _wait_for(f"{issuer}/.well-known/openid-configuration", process, folder / "provider.log")
        yield Provider(issuer=issuer, discovery=discovery, people={person["username"]: person for person in PEOPLE})
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider


def switch_on(settings, provider: Provider, **extra) -> dict:
    """Single sign-on on, configured as a site would: by the EVLIMS_OIDC_* variables."""
    configured = sso_config.oidc_settings(provider.environment(**extra))
    for name, value in configured.items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = sso_config.authentication_backends(
        list(settings.AUTHENTICATION_BACKENDS), oidc=configured, ldap={}
    )
    return configured


def _wait_for(url: str, process, log: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test identity provider stopped:\n{log.read_text()[-3000:]}")
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code == 200:
                return answer.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the test identity provider did not start in time:\n{log.read_text()[-3000:]}")


@pytest.fixture
def sso_on(settings, oidc_provider):
    """Switches single sign-on on for this test (with extra EVLIMS_OIDC_* variables given as keywords)."""
    return lambda **extra: switch_on(settings, oidc_provider, **extra)


class ProviderBrowser:
    """A person's browser at the provider: follows its redirects, fills its sign-in form, and stops at the
    redirect back to evlims (the test client follows that one)."""

    def __init__(self, person: dict):
        self.person = person
        self.session = requests.Session()
        self.sign_ins = 0  # how often the provider asked for the password

    def authorize(self, url: str, *, before_return=None) -> str:
        """Go to the provider's authorization URL; sign in when asked; return the evlims URL it sends back to."""
        answer = self.session.get(url, allow_redirects=False, timeout=30)
        for _ in range(10):
            if answer.status_code == 200 and "csrfmiddlewaretoken" in answer.text:
                answer = self._sign_in(answer)
                continue
            assert answer.status_code in (301, 302), (answer.status_code, answer.text[:500])
            location = urljoin(answer.url, answer.headers["Location"])
            if location.startswith(RP):
                if before_return is not None:
                    before_return()
                return location
            answer = self.session.get(location, allow_redirects=False, timeout=30)
        raise AssertionError("the provider did not send the browser back")

    def _sign_in(self, page):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        following = re.search(r'name="next" value="([^"]*)"', page.text).group(1).replace("&amp;", "&")
        self.sign_ins += 1
        return self.session.post(
            page.url,
            data={
                "csrfmiddlewaretoken": token,
                "username": self.person["username"],
                "password": self.person["password"],
                "next": following,
            },
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=30,
        )


def local_path(url: str) -> str:
    """The path and query of an evlims URL, for the test client."""
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path
