"""Plate layouts: the lab's saved BCA plate maps, drawn on a plate and chosen at upload."""

from django.urls import path

from .views import plate_layouts

urlpatterns = [
    path("", plate_layouts.layout_list, name="plate-layout-list"),
    path("new/", plate_layouts.layout_new, name="plate-layout-new"),
    path("<int:pk>/", plate_layouts.layout_detail, name="plate-layout-detail"),
    path("<int:pk>/retire/", plate_layouts.layout_retire, name="plate-layout-retire"),
]
