"""Pages for signing in, donors, sample tracking, storage, the audit trail and labels."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import aliquots, audit, donors, labels, samples, sso, storage

urlpatterns = [
    path("login/", sso.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("donors/", donors.donor_list, name="donor-list"),
    path("donors/new/", donors.donor_create, name="donor-create"),
    path("donors/<int:pk>/", donors.donor_detail, name="donor-detail"),
    path("donors/<int:pk>/edit/", donors.donor_edit, name="donor-edit"),
    path("samples/", samples.sample_list, name="sample-list"),
    path("samples/new/", samples.sample_create, name="sample-create"),
    path("samples/<int:pk>/", samples.sample_detail, name="sample-detail"),
    path("samples/<int:pk>/edit/", samples.sample_edit, name="sample-edit"),
    path("aliquots/<int:pk>/split/", aliquots.aliquot_split, name="aliquot-split"),
    path("aliquots/<int:pk>/move/", aliquots.aliquot_move, name="aliquot-move"),
    path("aliquots/<int:pk>/thaw/", aliquots.aliquot_thaw, name="aliquot-thaw"),
    path("aliquots/<int:pk>/release/", aliquots.aliquot_release, name="aliquot-release"),
    path("boxes/", storage.box_list, name="box-list"),
    path("boxes/<int:pk>/", storage.box_detail, name="box-detail"),
    path("boxes/picker/", storage.box_picker, name="box-picker"),
    path("storage/new/", storage.storage_create, name="storage-create"),
    path("audit/<str:object_type>/<int:pk>/", audit.audit_trail, name="audit"),
    path("labels/", labels.label_sheet, name="labels"),
    path("labels/print/", labels.label_print, name="labels-print"),
]
