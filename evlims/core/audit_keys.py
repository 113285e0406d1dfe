"""The secret keys that seal the audit trail. They live in the settings, never in the database.

Settings (top-level, next to ``SECRET_KEY``):

``EVLIMS_AUDIT_KEYS``
    ``{key id: secret}``: every key that sealed events still kept. Ids are short names (``k1``, ``2027-01``);
    secrets are long random strings (32 characters or more).
``EVLIMS_AUDIT_KEY_ID``
    The id of the key that seals new events and anchors. May be left out when ``EVLIMS_AUDIT_KEYS`` holds a
    single key.

Without ``EVLIMS_AUDIT_KEYS`` the key is derived from ``SECRET_KEY`` (an HMAC of it under a fixed label, as
Django derives its own signing keys), under the id ``sk-`` followed by a fingerprint; the keys derived from
``SECRET_KEY_FALLBACKS`` verify what an earlier ``SECRET_KEY`` sealed. Derived keys are always kept for
verification, so a site that starts with them and later configures keys of its own still verifies its older
events. A key of its own is better: rotating ``SECRET_KEY`` then leaves the audit trail alone.

Rotation: add the new key to ``EVLIMS_AUDIT_KEYS`` and make its id ``EVLIMS_AUDIT_KEY_ID``; keep the old ones,
or the events they sealed are reported as unverifiable. docs/audit-trail.md has the procedure.

This module reads settings only when called, so settings modules may import it (``keys_from_environment``).
"""

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DERIVED_PREFIX = "sk-"
DERIVATION_LABEL = b"evlims.audit-trail.key"
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MIN_SECRET_LENGTH = 32


def _secret_bytes(secret) -> bytes:
    return secret if isinstance(secret, bytes) else str(secret).encode()


def derived_key(secret_key) -> tuple[str, bytes]:
    """(id, key) derived from a Django ``SECRET_KEY``; the id is a fingerprint that reveals nothing of it."""
    key = hmac.new(_secret_bytes(secret_key), DERIVATION_LABEL, hashlib.sha256).digest()
    fingerprint = hashlib.sha256(b"fingerprint:" + key).hexdigest()[:12]
    return f"{DERIVED_PREFIX}{fingerprint}", key


def _derived_keys() -> dict[str, bytes]:
    found = [getattr(settings, "SECRET_KEY", ""), *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return dict(derived_key(secret) for secret in found if secret)


def _own_keys() -> dict[str, bytes]:
    keys = getattr(settings, "EVLIMS_AUDIT_KEYS", None) or {}
    if not isinstance(keys, Mapping):
        raise ImproperlyConfigured("EVLIMS_AUDIT_KEYS must be a mapping of key id to secret.")
    own = {}
    for key_id, secret in keys.items():
        if not KEY_ID.match(str(key_id)) or str(key_id).startswith(DERIVED_PREFIX):
            raise ImproperlyConfigured(
                f"EVLIMS_AUDIT_KEYS: {key_id!r} is not a usable key id (letters, digits, '_', '.', '-'; "
                f"at most 40 characters; not starting with {DERIVED_PREFIX!r})."
            )
        if not secret:
            raise ImproperlyConfigured(f"EVLIMS_AUDIT_KEYS: the key {key_id!r} has an empty secret.")
        own[str(key_id)] = _secret_bytes(secret)
    return own


def verification_keys() -> dict[str, bytes]:
    """Every key an event or anchor may have been sealed with: the configured ones and the derived ones."""
    return _derived_keys() | _own_keys()


def current_key_id() -> str:
    """The id of the key that seals new events (see the module's docstring for how it is chosen)."""
    own = _own_keys()
    chosen = getattr(settings, "EVLIMS_AUDIT_KEY_ID", "") or ""
    if chosen:
        if chosen not in own and chosen not in _derived_keys():
            raise ImproperlyConfigured(
                f"EVLIMS_AUDIT_KEY_ID is {chosen!r}, but EVLIMS_AUDIT_KEYS holds no key of that id."
            )
        return chosen
    if len(own) == 1:
        return next(iter(own))
    if own:
        raise ImproperlyConfigured("EVLIMS_AUDIT_KEYS holds several keys: name the current one in EVLIMS_AUDIT_KEY_ID.")
    key_id, _ = derived_key(settings.SECRET_KEY)
    return key_id


def current_key() -> tuple[str, bytes]:
    """(id, secret) of the key that seals new events and anchors."""
    key_id = current_key_id()
    return key_id, verification_keys()[key_id]


def seal(key: bytes, message: str) -> str:
    """HMAC-SHA256 of ``message`` under ``key``, as 64 hex digits."""
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(str(a), str(b))


# Reading keys from the environment (settings modules) ---------------------------------------------------------


def parse_keys(text: str, *, default_id: str = "k1") -> dict[str, str]:
    """Keys written as ``id:secret`` entries, separated by commas or new lines; one bare ``secret`` takes
    ``default_id``. Blank lines and lines starting with ``#`` are skipped."""
    keys = {}
    for line in re.split(r"[,\n]", text or ""):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, secret = entry.partition(":")
        if sep and KEY_ID.match(key_id.strip()) and secret.strip():
            keys[key_id.strip()] = secret.strip()
        else:
            keys[default_id] = entry
    return keys


def keys_from_environment(environ: Mapping | None = None) -> tuple[dict[str, str], str]:
    """(``EVLIMS_AUDIT_KEYS``, ``EVLIMS_AUDIT_KEY_ID``) from environment variables, for a settings module.

    ``EVLIMS_AUDIT_KEY`` holds the key (or ``id:secret`` entries), ``EVLIMS_AUDIT_KEY_FILE`` names a file that
    holds it (a Docker or Kubernetes secret; one entry per line), ``EVLIMS_AUDIT_KEY_ID`` names the current one
    (default: the last entry read). Nothing configured gives ``({}, "")``.
    """
    environ = os.environ if environ is None else environ
    named = (environ.get("EVLIMS_AUDIT_KEY_ID") or "").strip()
    default_id = named or "k1"
    keys = {}
    path = (environ.get("EVLIMS_AUDIT_KEY_FILE") or "").strip()
    if path:
        try:
            keys |= parse_keys(Path(path).read_text(encoding="utf-8"), default_id=default_id)
        except OSError as error:
            raise ImproperlyConfigured(f"EVLIMS_AUDIT_KEY_FILE: cannot read {path}: {error.strerror}.") from error
    keys |= parse_keys(environ.get("EVLIMS_AUDIT_KEY") or "", default_id=default_id)
    if not keys:
        return {}, ""
    return keys, named or list(keys)[-1]


def demo_key_file(path: Path, *, key_id: str = "demo") -> tuple[dict[str, str], str]:
    """The demo site's key: read from ``path``, created there (mode 0600) the first time. Not for production:
    the key sits next to the demo's database file."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("# The demo site's audit key (evlims.core.audit_keys). Keep it with var/.\n")
            handle.write(f"{key_id}:{secrets.token_hex(32)}\n")
        try:
            os.link(temporary, path)  # fails if another process created it first: theirs is kept
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    keys = parse_keys(path.read_text(encoding="utf-8"), default_id=key_id)
    return keys, list(keys)[-1]


class DemoKeyFile(Mapping):
    """``EVLIMS_AUDIT_KEYS`` of the demo site: the key in ``path``, read (and the file created) when the audit
    trail first needs it, not when the settings are loaded."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._keys = None

    def _load(self) -> dict[str, str]:
        if self._keys is None:
            self._keys, _ = demo_key_file(self.path)
        return self._keys

    def __getitem__(self, key_id):
        return self._load()[key_id]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())

    def __repr__(self):
        return f"DemoKeyFile({str(self.path)!r})"
