"""Django admin: labs, projects and memberships, and a read-only view of the audit trail.

The admin is one more adapter: saving here goes through the tenancy services (evlims/core/labs.py), so the
audit trail records who changed what and the reason typed on the form, and a staff user who is not a
superuser sees and manages only the labs they are an admin of. Everything else in evlims is managed on its
own pages, where the lab's rules apply.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .core import labs
from .core.models import AuditEvent, Lab, Membership, Project, Role
from .core.tenancy import labs_where

ADDED_REASON = "Added in the admin"
REMOVED_REASON = "Removed in the admin"


class ReasonForm(forms.ModelForm):
    """A model form with the reason the audit trail keeps: required for a change, optional for an addition."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        required=False,
        help_text="Why: kept in the audit trail. Required when changing a record.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if self.instance.pk and not reason:
            raise ValidationError("Say why this record is being changed.")
        return reason or ADDED_REASON

    def changes(self, editable) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in editable}


class LabForm(ReasonForm):
    class Meta:
        model = Lab
        fields = ["name", "slug"]


class ProjectForm(ReasonForm):
    # The version the form was opened at: a save after someone else's is refused instead of overwriting it.
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Project
        fields = ["lab", "code", "title", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = Project.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if cleaned.get("expected_version") != current:
                raise ValidationError(
                    "This project was changed by someone else since you opened it. Reload it and apply yours again."
                )
        return cleaned


class MembershipForm(ReasonForm):
    class Meta:
        model = Membership
        fields = ["user", "lab", "role"]


def administered_labs(request):
    """The labs a staff user may manage here: every lab for a superuser, otherwise those they are an admin of."""
    if request.user.is_superuser:
        return Lab.objects.all()
    return Lab.objects.filter(pk__in=labs_where(request.user, {Role.LAB_ADMIN}))


class ServiceAdmin(admin.ModelAdmin):
    """Saves through a tenancy service instead of ``obj.save()``; the admin then goes on with the saved row."""

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data["reason"]
        current = type(obj).objects.get(pk=obj.pk) if change else None
        saved = self.save_with_service(request.user, obj, current, form, reason)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_with_service(self, actor, obj, current, form, reason):
        """Create ``obj`` (``current`` is None) or change ``current`` to the form's values; return the row."""
        raise NotImplementedError


class LabScopedAdmin(ServiceAdmin):
    """Rows, and the labs offered on the form, limited to the labs the user administers."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(lab__in=administered_labs(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lab":
            kwargs["queryset"] = administered_labs(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Lab)
class LabAdmin(ServiceAdmin):
    form = LabForm
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return administered_labs(request)

    def has_add_permission(self, request):
        return request.user.is_superuser  # the service's rule: only a site administrator creates labs

    def has_delete_permission(self, request, obj=None):
        return False  # every record and audit event points at its lab

    def save_with_service(self, actor, obj, current, form, reason):
        if current is None:
            return labs.lab_create(actor=actor, name=obj.name, slug=obj.slug, reason=reason)
        return labs.lab_update(current, actor=actor, reason=reason, changes=form.changes(labs.LAB_FIELDS))


@admin.register(Project)
class ProjectAdmin(LabScopedAdmin):
    form = ProjectForm
    list_display = ("code", "title", "lab", "created_at")
    list_filter = ("lab",)
    search_fields = ("code", "title")

    def get_readonly_fields(self, request, obj=None):
        return ("lab",) if obj else ()  # a project's samples stay in its lab

    def has_delete_permission(self, request, obj=None):
        return False  # samples and donors point at their project

    def save_with_service(self, actor, obj, current, form, reason):
        if current is None:
            fields = {name: getattr(obj, name) for name in labs.PROJECT_FIELDS}
            return labs.project_create(actor=actor, lab=obj.lab, reason=reason, **fields)
        return labs.project_update(
            current,
            actor=actor,
            reason=reason,
            expected_version=form.cleaned_data["expected_version"],
            changes=form.changes(labs.PROJECT_FIELDS),
        )


@admin.register(Membership)
class MembershipAdmin(LabScopedAdmin):
    form = MembershipForm
    list_display = ("user", "lab", "role", "created_at")
    list_filter = ("lab", "role")
    search_fields = ("user__username", "lab__name")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("user", "lab") if obj else ()  # only the role of a membership changes

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        actor = request.user

        class ActorMembershipForm(form):
            def clean(self):
                cleaned = super().clean()
                current = self.instance
                if current.pk and cleaned.get("role") not in (None, Role.LAB_ADMIN):
                    stored = Membership.objects.select_related("user").get(pk=current.pk)
                    if labs.is_last_admin(stored, actor=actor):
                        self.add_error("role", labs.last_admin_message(stored, "changing their role"))
                return cleaned

        return ActorMembershipForm

    def has_delete_permission(self, request, obj=None):
        # The last admin of a lab is not offered for deletion (the service would refuse it).
        if obj is not None and labs.is_last_admin(obj, actor=request.user):
            return False
        return super().has_delete_permission(request, obj)

    def save_with_service(self, actor, obj, current, form, reason):
        return labs.membership_set(actor=actor, lab=obj.lab, user=obj.user, role=obj.role, reason=reason)

    def delete_model(self, request, obj):
        labs.membership_remove(obj, actor=request.user, reason=REMOVED_REASON)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("lab", "user"):
            if labs.is_last_admin(membership, actor=request.user):
                self.message_user(
                    request, labs.last_admin_message(membership, "removing them") + " Not removed.", messages.ERROR
                )
                continue
            labs.membership_remove(membership, actor=request.user, reason=REMOVED_REASON)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, to read: it is append-only, so nothing here adds, edits or deletes."""

    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_repr", "lab")
    list_filter = ("action", "object_type", "lab")
    search_fields = ("object_repr", "actor_label", "reason", "request_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("lab",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(lab__in=administered_labs(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
