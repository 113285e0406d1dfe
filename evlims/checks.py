"""System checks for a host project's configuration of evlims.

Each one names a setting the README's block (``evlims.host``) provides and what breaks without it, so a
host that merged its settings by hand hears about a gap from ``manage.py check``, not from a 500.
"""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from . import host
from .core import audit_keys

REQUIRED_APPS = (
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
)
HINT = "See the README, 'Installing evlims into an existing Django project' (evlims.host holds the values)."
# Django's defaults, which lead nowhere on a site without an accounts app.
DJANGO_LOGIN_REDIRECT = "/accounts/profile/"


@register()
def check_required_apps(app_configs, **kwargs):
    missing = [app for app in REQUIRED_APPS if app not in settings.INSTALLED_APPS]
    return [Error(f"evlims needs '{app}' in INSTALLED_APPS.", id="evlims.E001", hint=HINT) for app in missing]


def _is(dotted: str | None, expected: str) -> bool:
    """``dotted`` names ``expected`` or a subclass of it (a host may extend the class)."""
    if not dotted:
        return False
    if dotted == expected:
        return True
    try:
        found, wanted = import_string(dotted), import_string(expected)
    except ImportError:
        return False
    return found is wanted or (isinstance(found, type) and issubclass(found, wanted))


@register()
def check_api_settings(app_configs, **kwargs):
    api = getattr(settings, "REST_FRAMEWORK", {})
    problems = []
    schema_class = host.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]
    if not _is(api.get("DEFAULT_SCHEMA_CLASS"), schema_class):
        problems.append(
            Warning(
                f"REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS'] is not {schema_class}: the API schema page answers 500.",
                id="evlims.W001",
                hint=HINT,
            )
        )
    handler = host.REST_FRAMEWORK["EXCEPTION_HANDLER"]
    if api.get("EXCEPTION_HANDLER") != handler:
        problems.append(
            Warning(
                f"REST_FRAMEWORK['EXCEPTION_HANDLER'] is not {handler}: a stale edit answers 500 instead of 409 "
                "and refusals lose their field errors.",
                id="evlims.W002",
                hint=HINT,
            )
        )
    return problems


@register()
def check_request_pipeline(app_configs, **kwargs):
    missing = [name for name in host.MIDDLEWARE if name not in settings.MIDDLEWARE]
    problems = [Warning(f"evlims needs '{name}' in MIDDLEWARE.", id="evlims.W003", hint=HINT) for name in missing]
    processors = [
        processor
        for engine in settings.TEMPLATES
        if engine["BACKEND"] == "django.template.backends.django.DjangoTemplates"
        for processor in engine.get("OPTIONS", {}).get("context_processors", [])
    ]
    problems += [
        Warning(
            f"evlims's pages need the context processor '{name}' (the navigation and the user's labs).",
            id="evlims.W004",
            hint=HINT,
        )
        for name in host.CONTEXT_PROCESSORS
        if name not in processors
    ]
    return problems


def _leads_somewhere(url: str) -> bool:
    try:
        reverse(url)
    except NoReverseMatch:
        return "/" in url and url != DJANGO_LOGIN_REDIRECT  # a path the host serves itself
    return True


@register()
def check_login_flow(app_configs, **kwargs):
    problems = []
    if not _leads_somewhere(str(settings.LOGIN_REDIRECT_URL)):
        problems.append(
            Warning(
                f"LOGIN_REDIRECT_URL is {settings.LOGIN_REDIRECT_URL!r}: a user who signs in lands on a 404.",
                id="evlims.W005",
                hint=f"Set LOGIN_REDIRECT_URL = {host.LOGIN_REDIRECT_URL!r} (or a page of your site).",
            )
        )
    if settings.LOGOUT_REDIRECT_URL is None and "django.contrib.admin" not in settings.INSTALLED_APPS:
        problems.append(
            Warning(
                "LOGOUT_REDIRECT_URL is not set and django.contrib.admin is not installed: signing out answers "
                "500 (Django's logged-out page comes with the admin).",
                id="evlims.W006",
                hint=f"Set LOGOUT_REDIRECT_URL = {host.LOGOUT_REDIRECT_URL!r} (or a page of your site).",
            )
        )
    return problems


@register()
def check_media_root(app_configs, **kwargs):
    if settings.MEDIA_ROOT:
        return []
    return [
        Warning(
            "MEDIA_ROOT is not set: uploaded manifests and instrument files would be written into the "
            "server's working directory.",
            id="evlims.W007",
            hint="Set MEDIA_ROOT to a directory that is backed up with the database.",
        )
    ]


AUDIT_HINT = "See docs/audit-trail.md, 'Key configuration': set EVLIMS_AUDIT_KEYS and EVLIMS_AUDIT_KEY_ID."


def _guessable(secret: str) -> bool:
    """Django's own test for a SECRET_KEY that is a placeholder or too weak (``check --deploy``)."""
    return str(secret).startswith("django-insecure-") or len(set(str(secret))) < 5 or len(str(secret)) < 50


@register()
def check_audit_key(app_configs, **kwargs):
    """The audit trail is sealed with a key outside the database; without a usable one it is not tamper-evident."""
    try:
        key_id, key = audit_keys.current_key()
    except ImproperlyConfigured as error:
        return [
            Error(
                f"The audit key is misconfigured: {error} No audit event can be written.",
                id="evlims.E002",
                hint=AUDIT_HINT,
            )
        ]
    if key_id.startswith(audit_keys.DERIVED_PREFIX):
        if not _guessable(settings.SECRET_KEY):
            return []  # derived from a strong SECRET_KEY: as secret as the key Django signs sessions with
        return [
            Warning(
                "No audit key is configured (EVLIMS_AUDIT_KEYS), and the key derived from SECRET_KEY is no secret: "
                "SECRET_KEY is a placeholder or too short. Anyone with database access could rewrite the audit "
                "trail and re-seal it.",
                id="evlims.W008",
                hint=AUDIT_HINT,
            )
        ]
    if len(key) < audit_keys.MIN_SECRET_LENGTH:
        return [
            Warning(
                f"The audit key '{key_id}' is shorter than {audit_keys.MIN_SECRET_LENGTH} characters: it could be "
                "guessed, and the audit trail rewritten and re-sealed.",
                id="evlims.W009",
                hint='Generate one with: python -c "import secrets; print(secrets.token_hex(32))"',
            )
        ]
    return []
