"""Browser-facing protections: the Content Security Policy and what it allows beyond this site's own files.

The policy itself lives in settings (``CONTENT_SECURITY_POLICY``, django-csp 4). Pages of evlims load scripts
from static files only; an inline ``<script>`` needs the per-request nonce (``nonce="{{ request.csp_nonce }}"``).
Two exceptions are made here, each as narrow as the browser allows:

* inline event handlers listed in :data:`INLINE_HANDLERS` are allowed by their exact hash (``'unsafe-hashes'``
  applies the hashes to attributes such as ``onclick``; any other handler text stays blocked);
* the third-party API reference pages (Swagger UI) render one inline script of their own: the middleware allows
  exactly the inline scripts of that response, by hash, and nothing on any other page.

This module is imported by settings, so it imports nothing from Django's app registry.
"""

from __future__ import annotations

import base64
import hashlib
import re

from csp.middleware import CSPMiddleware

# Inline event handlers the templates use, verbatim. A handler whose text is not here is refused by browsers.
INLINE_HANDLERS = ("window.print()",)

# URL names of pages rendered by drf-spectacular, whose inline bootstrap script cannot carry our nonce.
API_REFERENCE_PAGES = frozenset({"swagger-ui"})

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def csp_hash(source: str | bytes) -> str:
    """The CSP source expression allowing exactly this script text: ``'sha256-<base64>'``."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii") + "'"


INLINE_HANDLER_SOURCES = ("'unsafe-hashes'", *(csp_hash(handler) for handler in INLINE_HANDLERS))


def inline_script_hashes(html: bytes) -> list[str]:
    """Hash sources of every inline ``<script>`` body in ``html`` (scripts with ``src`` are not inline)."""
    return sorted({csp_hash(body) for body in _INLINE_SCRIPT.findall(html)})


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus: on the API reference pages the page's own inline scripts are allowed by
    hash. A hash covers the exact text served, so nothing injected into another page can match it."""

    def process_response(self, request, response):
        match = getattr(request, "resolver_match", None)
        if (
            match is not None
            and match.url_name in API_REFERENCE_PAGES
            and not getattr(response, "streaming", False)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            hashes = inline_script_hashes(response.content)
            if hashes:
                update = dict(getattr(response, "_csp_update", None) or {})
                update["script-src"] = [*update.get("script-src", []), *hashes]
                response._csp_update = update
        return super().process_response(request, response)
