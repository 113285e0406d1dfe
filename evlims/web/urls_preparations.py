"""EV preparations: the list and the preparation page."""

from django.urls import path

from .views import preparations

urlpatterns = [
    path("", preparations.preparation_list, name="preparation-list"),
    path("<int:pk>/", preparations.preparation_detail, name="preparation-detail"),
    path("<int:pk>/edit/", preparations.preparation_edit, name="preparation-edit"),
    path(
        "<int:pk>/functional-studies/new/",
        preparations.preparation_functional_study,
        name="preparation-functional-study",
    ),
]
