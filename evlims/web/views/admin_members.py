"""A lab's members: the list with each role and since when, adding an existing account, changing a role and
removing a member, each through the tenancy services (evlims/core/labs.py) with the reason typed on the form."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...core import labs
from ...core.models import Role
from ...core.selectors import lab_members, membership_get
from ..forms.lab_admin import ROLE_HELP, MemberAddForm, MemberRemoveForm, MemberRoleForm
from .common import member_view, run_service
from .lab_admin import admin_lab, ensure_lab_admin


def _members_page(request, lab, members, add_form, status=200):
    roles = [{"label": label, "help": ROLE_HELP[value]} for value, label in Role.choices]
    context = {"lab": lab, "members": members, "add_form": add_form, "roles": roles, "section": "members"}
    return render(request, "evlims/lab_admin/members.html", context, status=status)


@member_view
def members(request, lab_pk):
    lab = admin_lab(request.user, lab_pk)
    found = list(lab_members(lab.pk))
    form = MemberAddForm(request.POST or None, members=found)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        membership = run_service(
            form,
            lambda: labs.membership_set(
                actor=request.user, lab=lab, user=form.user, role=data["role"], reason=data["reason"]
            ),
        )
        if membership is not None:
            messages.success(
                request, f"{form.user.get_username()} joined {lab.name} as {membership.get_role_display()}."
            )
            return redirect("evlims:lab-admin-members", lab_pk=lab.pk)
    return _members_page(request, lab, found, form, status=400 if form.errors else 200)


def _member_page(request, membership, role_form, remove_form, status=200):
    context = {
        "lab": membership.lab,
        "membership": membership,
        "role_form": role_form,
        "remove_form": remove_form,
        "section": "members",
    }
    return render(request, "evlims/lab_admin/member.html", context, status=status)


def _after_change(request, membership):
    """Back to the members, or to the start page for an admin who has just given up administering the lab."""
    if membership.user_id == request.user.pk:
        return redirect("evlims:home")
    return redirect("evlims:lab-admin-members", lab_pk=membership.lab_id)


def _admin_membership(request, pk):
    membership = membership_get(request.user, pk)
    ensure_lab_admin(request.user, membership.lab_id)
    return membership


@member_view
def member_detail(request, pk):
    """One member: change their role, or remove them."""
    membership = _admin_membership(request, pk)
    role_form = MemberRoleForm(initial={"role": membership.role}, membership=membership)
    return _member_page(request, membership, role_form, MemberRemoveForm())


@require_POST
@member_view
def member_role(request, pk):
    membership = _admin_membership(request, pk)
    form = MemberRoleForm(request.POST, membership=membership)
    if form.is_valid():
        data = form.cleaned_data
        changed = run_service(
            form,
            lambda: labs.membership_set(
                actor=request.user, lab=membership.lab, user=membership.user, role=data["role"], reason=data["reason"]
            ),
        )
        if changed is not None:
            messages.success(request, f"{membership.user.get_username()} is now {changed.get_role_display()}.")
            return _after_change(request, membership)
    return _member_page(request, membership, form, MemberRemoveForm(), status=400)


@require_POST
@member_view
def member_remove(request, pk):
    membership = _admin_membership(request, pk)
    form = MemberRemoveForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        run_service(form, lambda: labs.membership_remove(membership, actor=request.user, reason=reason))
        if not form.errors:
            messages.success(request, f"{membership.user.get_username()} was removed from {membership.lab.name}.")
            return _after_change(request, membership)
    role_form = MemberRoleForm(initial={"role": membership.role}, membership=membership)
    return _member_page(request, membership, role_form, form, status=400)
