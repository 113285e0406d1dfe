"""API reference pages that work without internet access.

drf-spectacular's Swagger UI page already takes everything from drf-spectacular-sidecar's static
files. Its Redoc page also asks Google Fonts for two typefaces, which a lab network without
internet cannot reach (and which tells a third party who reads the docs), so the Redoc page here
drops those links and keeps only the sidecar's script.
"""

from django.http import HttpResponse
from django.template import Context, Template
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

REDOC_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <title>{{ title }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="{{ schema_url }}"></redoc>
    <script src="{{ redoc_standalone }}"></script>
  </body>
</html>
"""


class OfflineRedocView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        context = Context(
            {
                "title": self.title or "API",
                "schema_url": self._get_schema_url(request),
                "redoc_standalone": self._redoc_standalone(),
            }
        )
        return HttpResponse(Template(REDOC_PAGE).render(context))
