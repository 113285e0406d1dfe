"""Single sign-on is configured by environment variables (docs/sso.md): off without them, refused at start-up
when half configured, and the group map read strictly. LDAP (django-auth-ldap, an optional extra) is checked
here as configuration only: no directory server runs in the suite."""

import sys
import types

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from evlims.core.identity import config
from evlims.core.identity.services import mapped_roles
from evlims.review import services as review_services
from tests.security.world import build_lab

COMPLETE = {
    "EVLIMS_OIDC_CLIENT_ID": "evlims",
    "EVLIMS_OIDC_CLIENT_SECRET": "secret",
    "EVLIMS_OIDC_ISSUER": "https://login.example.org/realms/lab",
    "EVLIMS_OIDC_AUTHORIZATION_ENDPOINT": "https://login.example.org/auth",
    "EVLIMS_OIDC_TOKEN_ENDPOINT": "https://login.example.org/token",
    "EVLIMS_OIDC_USERINFO_ENDPOINT": "https://login.example.org/userinfo",
    "EVLIMS_OIDC_JWKS_ENDPOINT": "https://login.example.org/certs",
}


def test_single_sign_on_is_off_without_a_client_id():
    assert config.oidc_settings({}) == {}
    assert config.ldap_settings({}) == {}
    base = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
    assert config.authentication_backends(base, oidc={}, ldap={}) == base


def test_a_complete_configuration_gives_the_library_its_settings():
    configured = config.oidc_settings(COMPLETE | {"EVLIMS_OIDC_GROUP_MAP": "qa=core:qa_manager"})
    assert configured["OIDC_RP_CLIENT_ID"] == "evlims"
    assert configured["OIDC_OP_USER_ENDPOINT"] == "https://login.example.org/userinfo"
    assert configured["OIDC_RP_SIGN_ALGO"] == "RS256" and configured["OIDC_USE_PKCE"] is True
    assert configured["OIDC_RP_SCOPES"] == "openid email profile"
    assert configured["EVLIMS_SSO"]["SIGNATURE_MAX_AGE"] == 300
    assert configured["EVLIMS_SSO"]["GROUP_MAP"] == {"qa": [("core", "qa_manager")]}
    backends = config.authentication_backends(["django.contrib.auth.backends.ModelBackend"], oidc=configured, ldap={})
    assert backends[-1] == "evlims.core.identity.backend.OIDCBackend"


def test_a_half_configuration_is_refused_naming_what_is_missing():
    partial = {k: v for k, v in COMPLETE.items() if k not in {"EVLIMS_OIDC_ISSUER", "EVLIMS_OIDC_JWKS_ENDPOINT"}}
    with pytest.raises(ImproperlyConfigured, match="EVLIMS_OIDC_ISSUER .*EVLIMS_OIDC_JWKS_ENDPOINT"):
        config.oidc_settings(partial)
    with pytest.raises(ImproperlyConfigured, match="EVLIMS_OIDC_SIGNATURE_MAX_AGE must be more than 0"):
        config.oidc_settings(COMPLETE | {"EVLIMS_OIDC_SIGNATURE_MAX_AGE": "0"})
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        config.oidc_settings(COMPLETE | {"EVLIMS_OIDC_SIGNATURE_MAX_AGE": "5 min"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("qa=core", "entry 1 .* is not written group=lab-slug:role"),
        ("qa=core:qa_manager, robots=core:instrument", "entry 2 .* names the role 'instrument'"),
        ("=core:lab_staff", "entry 1"),
    ],
)
def test_the_group_map_is_read_strictly(text, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        config.parse_group_map(text)


def test_the_highest_mapped_role_wins_in_each_lab():
    group_map = config.parse_group_map(
        "staff=core:lab_staff; qa=core:qa_manager\nadmins=core:lab_admin, admins=other:lab_staff"
    )
    assert mapped_roles(["staff", "qa"], group_map) == {"core": "qa_manager"}
    assert mapped_roles(["qa", "admins", "unknown"], group_map) == {"core": "lab_admin", "other": "lab_staff"}
    assert mapped_roles([], group_map) == {}


def test_ldap_is_configured_by_its_variables():
    assert config.ldap_settings({"EVLIMS_LDAP_USER_BASE": "ou=people,dc=example,dc=org"}) == {}
    with pytest.raises(ImproperlyConfigured, match="EVLIMS_LDAP_USER_BASE"):
        config.ldap_settings({"EVLIMS_LDAP_SERVER_URI": "ldaps://ldap.example.org"})
    environment = {"EVLIMS_LDAP_SERVER_URI": "ldaps://ldap.example.org", "EVLIMS_LDAP_USER_BASE": "ou=people"}
    try:
        import django_auth_ldap  # noqa: F401
    except ImportError:
        with pytest.raises(ImproperlyConfigured, match=r"install django-auth-ldap \(pip install evlims\[ldap\]\)"):
            config.ldap_settings(environment)
        return
    configured = config.ldap_settings(environment)
    assert configured["AUTH_LDAP_SERVER_URI"] == "ldaps://ldap.example.org"
    assert configured["AUTH_LDAP_USER_SEARCH"].base_dn == "ou=people"
    assert config.authentication_backends([], oidc={}, ldap=configured) == ["django_auth_ldap.backend.LDAPBackend"]


@pytest.mark.django_db
def test_an_ldap_account_signs_with_the_directory_password(settings, monkeypatch):
    """An account django-auth-ldap made has no password here: the signature's password is checked by the LDAP
    backend for that same account (the backend is replaced here: no directory server runs in the suite)."""
    world = build_lab("LDAP")
    qa = world.users["qa_manager"]
    qa.set_unusable_password()
    qa.save()
    asked = []

    class LDAPBackend:
        def authenticate(self, request, *, username, password):
            asked.append((username, password))
            return qa if password == "directory-password" else None

    monkeypatch.setitem(sys.modules, "django_auth_ldap.backend", types.SimpleNamespace(LDAPBackend=LDAPBackend))
    settings.AUTH_LDAP_SERVER_URI = "ldaps://ldap.example.org"
    with pytest.raises(ValidationError, match="The password is not correct"):
        review_services.review_verify(actor=qa, review=world.review, password="guess", statement="ok")
    review_services.review_verify(actor=qa, review=world.review, password="directory-password", statement="ok")
    assert asked == [("ldap-qa_manager", "guess"), ("ldap-qa_manager", "directory-password")]
    assert world.review.signatures.get().method == "password"
