"""Canonical JSON: one text for one content, so that its hash names the content wherever it is computed.

Keys sorted, no insignificant white space, non-ASCII characters escaped, and values JSON does not know (dates,
decimals) written as their ``str()``. The audit trail's seals and the compliance evidence and signature hashes
are computed over this text, so its bytes must never change: a new form would need a new name.

Pure Python (no Django). The protocol library keeps its own canonical form (protocols/hashing.py), which also
rounds numbers and keeps non-ASCII text, because a protocol's hash is published with it.
"""

import hashlib
import json


def canonical_json(content) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def canonical_hash(content) -> str:
    """SHA-256 (hex) of the canonical JSON of ``content``."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
