"""Record ids typed by users (query strings, form fields, JSON bodies) read strictly.

``str.isdigit()`` accepts "²" and "١٢", and ``int()`` of twenty nines overflows the database's 64-bit
integer: both used to end as server errors. An id is ASCII digits naming a number from 0 to 2**63 - 1.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")


def parse_id(value) -> int | None:
    """The id ``value`` names (text of ASCII digits, or an int), or None when it names none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_ID else None
