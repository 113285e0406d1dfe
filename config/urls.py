from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.cache import cache_control
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from evlims.api.docs import OfflineRedocView


@cache_control(max_age=86400, public=True)
def favicon(request):
    """The plugin's icon, looked up when asked (a hashed static name exists only after collectstatic); not a
    permanent redirect, so a new icon reaches browsers that cached the old one."""
    return redirect(static("evlims/favicon.ico"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/swagger/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/schema/redoc/", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON, the admin): the plugin's icon.
    path("favicon.ico", favicon, name="favicon"),
    path("", include("evlims.urls")),
]

# Error pages in the lab's words (evlims/web/views/errors.py); the 500 page needs neither request nor database.
handler403 = "evlims.web.views.errors.permission_denied"
handler404 = "evlims.web.views.errors.page_not_found"
handler500 = "evlims.web.views.errors.server_error"
