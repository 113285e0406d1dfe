"""Instrument keys: ``Authorization: Api-Key evl_…`` on the API, never on the web pages.

A valid key authenticates the request as an :class:`InstrumentPrincipal`, not as a user. The principal
carries the instrument, its lab and the key's scopes; it counts as a member of that one lab with the
``instrument`` role, so every lab-scoped selector shows it exactly its instrument's lab. It has no
username and no password, is never stored as an actor (services receive the instrument itself), and
is refused by every endpoint that does not declare which scope a key needs there
(see ``permissions.LabRolePermission``).

People keep session and HTTP Basic authentication; this class only looks at the ``Api-Key`` scheme.
Django's own authentication (the web pages) never reads the header, so a key opens no page.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..core.models import Role
from ..instruments.models import InstrumentApiKey
from ..instruments.services import api_key_authenticate
from .scopes import key_scope_needed

KEYWORD = "Api-Key"
READ = InstrumentApiKey.Scope.READ.value
RESULTS_WRITE = InstrumentApiKey.Scope.RESULTS_WRITE.value


class InstrumentPrincipal:
    """Who sent a request signed with an instrument key: the instrument, its lab and the key's scopes."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: InstrumentApiKey):
        self.key = key
        self.instrument = key.instrument
        self.lab_id = key.instrument.lab_id
        self.scopes = frozenset(key.scopes)
        # The membership cache read by evlims.core.tenancy: one lab, the instrument role.
        self._evlims_memberships = {self.lab_id: Role.INSTRUMENT.value}

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def __str__(self):
        return f"{self.instrument} (key {self.key.prefix}…)"


def is_instrument(principal) -> bool:
    return isinstance(principal, InstrumentPrincipal)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``. A missing header leaves the request to the other schemes; a wrong,
    malformed or revoked key is refused outright."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Api-Key <key>'.")
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        key = api_key_authenticate(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return InstrumentPrincipal(key), key

    def authenticate_header(self, request):
        return KEYWORD


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "evlims.api.authentication.ApiKeyAuthentication"
    name = "instrumentKey"

    def get_security_requirement(self, auto_schema):
        # Listed only on operations that accept keys (the view declares the scope a key needs there).
        return {self.name: []} if key_scope_needed(auto_schema.view, auto_schema.method) else None

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An instrument key, sent as `Authorization: Api-Key evl_…`. Issued by a lab admin "
            "(POST /api/v1/instruments/{id}/keys/); scopes `read` and `results:write`.",
        }
