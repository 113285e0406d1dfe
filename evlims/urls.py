"""URLs of the plugin. A host site includes them once: ``path("", include("evlims.urls"))``."""

from django.urls import include, path

app_name = "evlims"

urlpatterns = [
    path("api/v1/", include("evlims.api.urls")),
    path("", include("evlims.web.urls")),
]
