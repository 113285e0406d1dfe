"""Isolation runs: list, run page and the wizard from planning to completion."""

from django.urls import path

from .views import runs

urlpatterns = [
    path("", runs.run_list, name="run-list"),
    path("new/", runs.run_new, name="run-new"),
    path("new/aliquots/", runs.aliquot_picker, name="run-aliquot-picker"),
    path("<int:pk>/", runs.run_detail, name="run-detail"),
    path("<int:pk>/start/", runs.run_start, name="run-start"),
    path("<int:pk>/steps/<int:number>/", runs.run_step, name="run-step"),
    path("<int:pk>/complete/", runs.run_complete, name="run-complete"),
    path("<int:pk>/abort/", runs.run_abort, name="run-abort"),
    path("<int:pk>/edit/", runs.run_edit, name="run-edit"),
]
