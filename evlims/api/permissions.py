"""Who may call the API: members of a lab, with write access only for the roles that change records.

Lists and details are already scoped to the user's labs by the selectors (another lab's object is a
404), so the permission decides only between reading and writing. Subclasses declare other
``read_roles`` / ``write_roles`` (lab admins for instruments and keys, reviewers for protocol approval).

Instrument keys (``authentication.InstrumentPrincipal``) are refused everywhere except on endpoints that
declare the scope a key needs there: ``api_key_scopes = {"read": READ, "write": RESULTS_WRITE}`` on the
view ("read" for GET/HEAD/OPTIONS, "write" for the other methods). A key reaches only its instrument's lab.

A person's account whose only role is ``instrument`` (``tenancy.is_instrument_account``) gets no more than a
key: only the endpoints where a key posts results (scope ``results:write``), in the labs where it holds that
role. Every list, detail and other write answers 403.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..core.models import Role
from ..core.tenancy import READER_ROLES, REVIEWER_ROLES, WRITER_ROLES, is_instrument_account, labs_where, role_in
from .authentication import RESULTS_WRITE, is_instrument
from .scopes import key_scope_needed

KEY_NOT_ACCEPTED = "Instrument keys cannot use this endpoint."
ACCOUNT_NOT_ACCEPTED = "Instrument accounts may only post results and instrument files."


class LabRolePermission(BasePermission):
    read_roles = READER_ROLES
    write_roles = WRITER_ROLES
    message = "Your role does not allow this."

    def role_in_lab(self, request, lab_id: int) -> str | None:
        return role_in(request.user, lab_id)

    def labs_with_role(self, request, roles) -> list[int]:
        return labs_where(request.user, roles)

    def roles_for(self, request):
        return self.read_roles if request.method in SAFE_METHODS else self.write_roles

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if is_instrument(request.user):
            return self._key_allowed(request, view)
        if is_instrument_account(request.user):
            if key_scope_needed(view, request.method) != RESULTS_WRITE:
                self.message = ACCOUNT_NOT_ACCEPTED
                return False
            return True
        # A create names its lab in the payload; the service checks that lab. Here we only refuse
        # early someone who could not write anywhere.
        return bool(self.labs_with_role(request, self.roles_for(request)))

    def has_object_permission(self, request, view, obj):
        lab_id = view.lab_id_of(obj) if hasattr(view, "lab_id_of") else obj.lab_id
        if is_instrument(request.user):
            return lab_id == request.user.lab_id
        if is_instrument_account(request.user):
            return lab_id is not None and self.role_in_lab(request, lab_id) == Role.INSTRUMENT.value
        if lab_id is None:
            # Shared records (library protocols): anyone may read; a write is for the service to refuse.
            return request.method in SAFE_METHODS or bool(self.labs_with_role(request, self.roles_for(request)))
        return self.role_in_lab(request, lab_id) in self.roles_for(request)

    def _key_allowed(self, request, view) -> bool:
        needed = key_scope_needed(view, request.method)
        if needed is None:
            self.message = KEY_NOT_ACCEPTED
            return False
        if not request.user.has_scope(needed):
            self.message = f"This key does not have the '{needed}' scope."
            return False
        return True


class LabAdminPermission(LabRolePermission):
    """Registering instruments and issuing or revoking their keys: lab admins only."""

    write_roles = frozenset({Role.LAB_ADMIN})


class ReviewerPermission(LabRolePermission):
    """Approving and retiring protocol versions: QA managers and lab admins."""

    write_roles = REVIEWER_ROLES
