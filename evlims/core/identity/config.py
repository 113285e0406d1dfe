"""Single sign-on settings read from the environment (docs/sso.md). Plain functions of a mapping, so a settings
module can call them before Django is set up, and tests can call them with any environment.

OpenID Connect is on when ``EVLIMS_OIDC_CLIENT_ID`` is set; then the issuer and the four endpoints are required
(they are read from the provider's ``/.well-known/openid-configuration``; the site copies them, so starting the
site never depends on reaching the provider). LDAP is on when ``EVLIMS_LDAP_SERVER_URI`` is set.
"""

from django.core.exceptions import ImproperlyConfigured

# The roles a group may give, lowest first: a person in two groups mapped to one lab gets the higher role.
# The instrument role is for API keys' accounts, never for people.
ROLE_RANK = ("lab_staff", "qa_manager", "lab_admin")
REQUIRED = {
    "EVLIMS_OIDC_ISSUER": "the provider's issuer (its 'issuer' in /.well-known/openid-configuration)",
    "EVLIMS_OIDC_AUTHORIZATION_ENDPOINT": "the provider's authorization_endpoint",
    "EVLIMS_OIDC_TOKEN_ENDPOINT": "the provider's token_endpoint",
    "EVLIMS_OIDC_USERINFO_ENDPOINT": "the provider's userinfo_endpoint",
    "EVLIMS_OIDC_JWKS_ENDPOINT": "the provider's jwks_uri",
    "EVLIMS_OIDC_CLIENT_SECRET": "the secret the provider issued with the client id",
}
DEFAULT_SIGNATURE_MAX_AGE = 300


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(environ, name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds, not {raw!r}.")
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be more than 0 seconds, not {raw!r}.")
    return value


def parse_group_map(text: str) -> dict[str, list[tuple[str, str]]]:
    """``"group=lab-slug:role, other-group=lab-slug:role"`` (commas, semicolons or new lines between entries) as
    ``{group: [(lab slug, role), ...]}``; one group may give roles in several labs."""
    mapping: dict[str, list[tuple[str, str]]] = {}
    for number, entry in enumerate(text.replace(";", ",").replace("\n", ",").split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        group, equals, target = entry.partition("=")
        slug, colon, role = target.partition(":")
        group, slug, role = group.strip(), slug.strip(), role.strip()
        if not (equals and colon and group and slug and role):
            raise ImproperlyConfigured(
                f"EVLIMS_OIDC_GROUP_MAP entry {number} ({entry!r}) is not written group=lab-slug:role."
            )
        if role not in ROLE_RANK:
            raise ImproperlyConfigured(
                f"EVLIMS_OIDC_GROUP_MAP entry {number} ({entry!r}) names the role {role!r}; "
                f"roles a group may give: {', '.join(ROLE_RANK)}."
            )
        mapping.setdefault(group, []).append((slug, role))
    return mapping


def oidc_settings(environ) -> dict:
    """The Django settings OpenID Connect sign-in needs, or ``{}`` when the site has not configured it."""
    client_id = environ.get("EVLIMS_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        return {}
    missing = [f"{name} ({what})" for name, what in REQUIRED.items() if not environ.get(name, "").strip()]
    if missing:
        raise ImproperlyConfigured("EVLIMS_OIDC_CLIENT_ID is set, so single sign-on also needs " + "; ".join(missing))
    return {
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": environ["EVLIMS_OIDC_CLIENT_SECRET"].strip(),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": environ["EVLIMS_OIDC_AUTHORIZATION_ENDPOINT"].strip(),
        "OIDC_OP_TOKEN_ENDPOINT": environ["EVLIMS_OIDC_TOKEN_ENDPOINT"].strip(),
        "OIDC_OP_USER_ENDPOINT": environ["EVLIMS_OIDC_USERINFO_ENDPOINT"].strip(),
        "OIDC_OP_JWKS_ENDPOINT": environ["EVLIMS_OIDC_JWKS_ENDPOINT"].strip(),
        "OIDC_RP_SIGN_ALGO": environ.get("EVLIMS_OIDC_SIGN_ALGO", "").strip() or "RS256",
        "OIDC_RP_SCOPES": environ.get("EVLIMS_OIDC_SCOPES", "").strip() or "openid email profile",
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": _int(environ, "EVLIMS_OIDC_TIMEOUT", 10),
        "OIDC_VERIFY_SSL": not _truthy(environ.get("EVLIMS_OIDC_INSECURE_TLS", "")),
        "OIDC_AUTHENTICATION_CALLBACK_URL": "evlims:sso-callback",
        "OIDC_CREATE_USER": not _truthy(environ.get("EVLIMS_OIDC_NO_NEW_ACCOUNTS", "")),
        "EVLIMS_SSO": {
            "PROVIDER_NAME": environ.get("EVLIMS_OIDC_PROVIDER_NAME", "").strip() or "single sign-on",
            "ISSUER": environ["EVLIMS_OIDC_ISSUER"].strip(),
            "GROUPS_CLAIM": environ.get("EVLIMS_OIDC_GROUPS_CLAIM", "").strip() or "groups",
            "GROUP_MAP": parse_group_map(environ.get("EVLIMS_OIDC_GROUP_MAP", "")),
            "SIGNATURE_MAX_AGE": _int(environ, "EVLIMS_OIDC_SIGNATURE_MAX_AGE", DEFAULT_SIGNATURE_MAX_AGE),
        },
    }


OIDC_BACKEND = "evlims.core.identity.backend.OIDCBackend"
LDAP_BACKEND = "django_auth_ldap.backend.LDAPBackend"


def ldap_settings(environ) -> dict:
    """django-auth-ldap's settings (``pip install evlims[ldap]``), or ``{}`` without ``EVLIMS_LDAP_SERVER_URI``.

    People are found by a search under ``EVLIMS_LDAP_USER_BASE`` with ``EVLIMS_LDAP_USER_FILTER`` (default
    ``(uid=%(user)s)``), bound as ``EVLIMS_LDAP_BIND_DN`` / ``EVLIMS_LDAP_BIND_PASSWORD`` (anonymous when
    empty). They sign with the LDAP password they sign in with: django-auth-ldap checks it against the
    directory, so signing keeps its password path for them."""
    uri = environ.get("EVLIMS_LDAP_SERVER_URI", "").strip()
    if not uri:
        return {}
    base = environ.get("EVLIMS_LDAP_USER_BASE", "").strip()
    if not base:
        raise ImproperlyConfigured("EVLIMS_LDAP_SERVER_URI is set, so EVLIMS_LDAP_USER_BASE is needed too.")
    user_filter = environ.get("EVLIMS_LDAP_USER_FILTER", "").strip() or "(uid=%(user)s)"
    try:
        import ldap
        from django_auth_ldap.config import LDAPSearch
    except ImportError:
        raise ImproperlyConfigured(
            "EVLIMS_LDAP_SERVER_URI is set: install django-auth-ldap (pip install evlims[ldap])."
        )
    return {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": environ.get("EVLIMS_LDAP_BIND_DN", "").strip(),
        "AUTH_LDAP_BIND_PASSWORD": environ.get("EVLIMS_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_START_TLS": _truthy(environ.get("EVLIMS_LDAP_START_TLS", "")),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
    }


def authentication_backends(base: list[str], *, oidc: dict, ldap: dict) -> list[str]:
    """``base`` (axes first, then Django's model backend) with the configured single sign-on backends after."""
    return [*base, *([LDAP_BACKEND] if ldap else []), *([OIDC_BACKEND] if oidc else [])]
