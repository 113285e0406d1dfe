"""What a host project adds to its settings to run evlims: the plugin's defaults in one place.

A host merges these into the settings ``django-admin startproject`` wrote (the README's block shows how);
the demo site (``config/settings/base.py``) is built from the same values. Nothing here touches Django's
app registry, so a settings module can import it.
"""

from csp.constants import NONCE, NONE, SELF

from .core.security import INLINE_HANDLER_SOURCES
from .schedule import BEAT_SCHEDULE

__all__ = [
    "BEAT_APPS",
    "BEAT_SCHEDULE",
    "CONTENT_SECURITY_POLICY",
    "CONTEXT_PROCESSORS",
    "CRISPY_TEMPLATE_PACK",
    "INSTALLED_APPS",
    "LOGIN_REDIRECT_URL",
    "LOGIN_URL",
    "LOGOUT_REDIRECT_URL",
    "MIDDLEWARE",
    "REST_FRAMEWORK",
    "SPECTACULAR_SETTINGS",
]

# The apps evlims needs next to Django's defaults (auth, contenttypes, sessions, messages, staticfiles), and
# evlims itself. django.contrib.admin is not needed; with it, labs, projects and memberships are managed there.
INSTALLED_APPS = [
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from static files, no CDN
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "evlims",
]

# With ``pip install evlims[beat]``: beat's database scheduler, whose schedules are rows edited in the admin.
BEAT_APPS = ["django_celery_beat"]

# The audit trail's key and anchor folder are the host's own, so they have no defaults here: EVLIMS_AUDIT_KEYS,
# EVLIMS_AUDIT_KEY_ID (evlims.core.audit_keys.keys_from_environment reads them from the environment) and
# EVLIMS_AUDIT_ANCHOR_DIR. Without a key the trail is sealed with one derived from SECRET_KEY; without a folder
# no anchors are written. docs/audit-trail.md has the threat model and the rotation procedure.

# After Django's own middleware (sessions and authentication must come first).
MIDDLEWARE = [
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # who made each historical record
    "evlims.core.middleware.RequestIdMiddleware",  # the request id on every audit event
]

CONTEXT_PROCESSORS = ["evlims.web.context_processors.evlims"]

# Where signing in starts and ends. Without the redirects Django sends a new login to /accounts/profile/
# (a 404) and renders the admin's "logged out" template after a logout (a 500 without django.contrib.admin).
LOGIN_URL = "evlims:login"
LOGIN_REDIRECT_URL = "evlims:home"
LOGOUT_REDIRECT_URL = "evlims:login"

# Forms render with Bootstrap 5: CRISPY_ALLOWED_TEMPLATE_PACKS = CRISPY_TEMPLATE_PACK = host.CRISPY_TEMPLATE_PACK
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # The OpenAPI schema (/api/v1/schema/ under the mount point) is built by drf-spectacular.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A stale edit answers 409 and a domain error 400 with field errors, instead of a 500.
    "EXCEPTION_HANDLER": "evlims.api.exceptions.exception_handler",
    # Requests per instrument key (evlims.api.throttling); people are not throttled by it.
    "DEFAULT_THROTTLE_RATES": {"instrument_key": "600/min"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "evlims API",
    "DESCRIPTION": "Samples, aliquots, storage and custody of an extracellular-vesicle laboratory.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The reference pages load their scripts from drf-spectacular-sidecar's static files: offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name ("status", "kind") get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "AliquotStatusEnum": "evlims.samples.models.Aliquot.Status",
        "IngestionStatusEnum": "evlims.instruments.models.Ingestion.Status",
        "ProtocolVersionStatusEnum": "evlims.isolation.models.ProtocolVersion.Status",
        "RunStatusEnum": "evlims.isolation.models.IsolationRun.Status",
        "ReviewStateEnum": "evlims.compliance.models.Review.State",
        "PreparationStateEnum": "evlims.isolation.models.PreparationState",
        "InstrumentKindEnum": "evlims.instruments.models.Instrument.Kind",
        "MeasurementKindEnum": "evlims.characterization.models.Measurement.Kind",
        "MeasurementStatusEnum": "evlims.characterization.models.Measurement.Status",
        "StorageUnitKindEnum": "evlims.samples.models.StorageUnit.Kind",
        "CustodyEventKindEnum": "evlims.samples.models.CustodyEvent.Kind",
        "ApiKeyScopeEnum": "evlims.instruments.models.InstrumentApiKey.Scope",
        "FlowCalibrationKindEnum": "evlims.cytometry.models.FlowCalibration.Kind",
        "FlowAcquisitionStatusEnum": "evlims.cytometry.models.FlowAcquisition.Status",
        "FlowAcquisitionRoleEnum": "evlims.cytometry.models.FlowAcquisition.Role",
        "ReferenceLotUnitEnum": "evlims.standards.models.UNIT_CHOICES",
        "TracerReadoutUnitEnum": "evlims.standards.models.READOUT_UNIT_CHOICES",
        "DilutionTechniqueEnum": "evlims.standards.models.DilutionSeries.Technique",
    },
}

# Optional hardening (django-csp 4, with "evlims.core.security.ContentSecurityPolicyMiddleware" placed right
# after SecurityMiddleware): scripts only from the site or carrying the per-request nonce, the few inline
# handlers the pages use by hash. Inline styles stay allowed: progress bars and plots are sized with them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, *INLINE_HANDLER_SOURCES],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
