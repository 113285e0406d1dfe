"""Lab administration (lab admins only): members and roles, instruments and their API keys."""

from django.urls import path

from .views import admin_instruments, admin_labels, admin_members, lab_admin

urlpatterns = [
    path("", lab_admin.lab_admin_home, name="lab-admin"),
    path("<int:lab_pk>/members/", admin_members.members, name="lab-admin-members"),
    path("members/<int:pk>/", admin_members.member_detail, name="lab-admin-member"),
    path("members/<int:pk>/role/", admin_members.member_role, name="lab-admin-member-role"),
    path("members/<int:pk>/remove/", admin_members.member_remove, name="lab-admin-member-remove"),
    path("<int:lab_pk>/instruments/", admin_instruments.instruments, name="lab-admin-instruments"),
    path("instruments/<int:pk>/", admin_instruments.instrument_detail, name="lab-admin-instrument"),
    path(
        "instruments/<int:pk>/watch-folder/",
        admin_instruments.instrument_watch_folder,
        name="lab-admin-instrument-watch-folder",
    ),
    path("keys/<int:pk>/revoke/", admin_instruments.key_revoke, name="lab-admin-key-revoke"),
    path("<int:lab_pk>/labels/", admin_labels.label_template, name="lab-admin-labels"),
]
