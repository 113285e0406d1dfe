"""Plugin settings: one ``EVLIMS = {...}`` dict in the host's settings, every key optional.

Follows DRF's APISettings pattern: attribute access with defaults, dotted paths imported lazily,
and the cache dropped when a test overrides the setting.
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS = {
    # Barcodes: prefix + zero-padded sequence; the generator is swappable for a lab's own scheme.
    "SAMPLE_BARCODE_PREFIX": "EVS",
    "ALIQUOT_BARCODE_PREFIX": "EVA",
    "PREPARATION_BARCODE_PREFIX": "EVP",
    "BARCODE_DIGITS": 7,
    "BARCODE_GENERATOR": "evlims.core.barcodes.sequential_barcode",
    # Bulk manifest import: the largest file accepted and the row count above which progress is shown.
    "IMPORT_MAX_BYTES": 20 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 50_000,
    # Pages
    "PAGE_SIZE": 50,
    # Watched instrument folders: the one folder they must lie under (empty: none may be watched), how long a file
    # must sit unchanged before it is read when it was not seen unchanged on an earlier look, and how many files
    # one pass over a folder takes (the rest wait for the next pass).
    "WATCH_ROOT": "",
    "WATCH_SETTLE_SECONDS": 60,
    "WATCH_MAX_FILES": 50,
    # QA review: how many distinct verifiers an approval needs.
    "REQUIRED_VERIFIERS": 1,
    # Flow cytometry: the largest FCS file read (10⁶ events of 20 float parameters are 80 MB).
    "FCS_MAX_BYTES": 256 * 1024 * 1024,
    # Notification e-mails: the site's address their links start with ("https://lims.example.org").
    "SITE_URL": "",
}

IMPORT_STRINGS = {"BARCODE_GENERATOR"}


class EvlimsSettings:
    def __init__(self):
        self._cache = {}

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown evlims setting: {name}")
        if name not in self._cache:
            value = getattr(settings, "EVLIMS", {}).get(name, DEFAULTS[name])
            if name in IMPORT_STRINGS and isinstance(value, str):
                value = import_string(value)
            self._cache[name] = value
        return self._cache[name]

    def reload(self):
        self._cache.clear()


evlims_settings = EvlimsSettings()


def _reload(*, setting, **kwargs):
    if setting == "EVLIMS":
        evlims_settings.reload()


setting_changed.connect(_reload)
