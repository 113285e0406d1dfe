"""EV preparations: the list and the preparation page."""

from django.urls import path

from .views import preparations

urlpatterns = [
    path("", preparations.preparation_list, name="preparation-list"),
    path("<int:pk>/", preparations.preparation_detail, name="preparation-detail"),
]
