"""Which endpoints accept instrument keys, and with which scope.

A view declares ``api_key_scopes = {"read": READ, "write": RESULTS_WRITE}`` ("read" for GET/HEAD/OPTIONS,
"write" for the other methods); a view without it refuses keys. Read by the permission that lets keys in
(``permissions.LabRolePermission``), the key's OpenAPI security scheme (``authentication.ApiKeyScheme``) and
the schema's error answers (``schema.ApiSchema``).
"""

from rest_framework.permissions import SAFE_METHODS


def key_scope_needed(view, method: str) -> str | None:
    """The scope a key needs for ``method`` on ``view``, or None when keys are not accepted there."""
    scopes = getattr(view, "api_key_scopes", None) or {}
    return scopes.get("read" if method in SAFE_METHODS else "write")
