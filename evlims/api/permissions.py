"""Who may call the API: members of a lab, with write access only for the roles that change records.

Lists and details are already scoped to the user's labs by the selectors (another lab's object is a
404), so the permission decides only between reading and writing. Later authentication schemes
(instrument keys, for instance) extend it by overriding ``role_in_lab`` / ``labs_with_role`` or by
declaring other ``read_roles`` / ``write_roles`` on a subclass.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..core.tenancy import READER_ROLES, WRITER_ROLES, labs_where, role_in


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
        # A create names its lab in the payload; the service checks that lab. Here we only refuse
        # early someone who could not write anywhere.
        return bool(self.labs_with_role(request, self.roles_for(request)))

    def has_object_permission(self, request, view, obj):
        return self.role_in_lab(request, obj.lab_id) in self.roles_for(request)
