"""System checks for a host project's configuration of evlims."""

from django.conf import settings
from django.core.checks import Error, register

REQUIRED_APPS = ("rest_framework", "django_filters", "simple_history", "crispy_forms", "crispy_bootstrap5")


@register()
def check_required_apps(app_configs, **kwargs):
    missing = [app for app in REQUIRED_APPS if app not in settings.INSTALLED_APPS]
    return [
        Error(f"evlims needs '{app}' in INSTALLED_APPS.", id="evlims.E001", hint="See README: installing evlims.")
        for app in missing
    ]
