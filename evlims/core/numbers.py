"""Numbers as the lab writes them, for pages and reports: never Python's float repr or e-notation.

Django-free and import-free, so every layer (metrics figures, web tables, compliance wording) prints the same.
"""

from __future__ import annotations

import math

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def significant(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant figures, in plain notation with thousands separators."""
    if value == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):,.{max(decimals, 0)}f}"


def power_of_ten(value: float, unit: str = "", digits: int = 3) -> str:
    """4.31e10 → '4.31 × 10¹⁰' then the unit; magnitudes from 0.001 to 9999 stay plain."""
    if value == 0:
        return f"0{unit}"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 4:
        return significant(value, digits) + unit
    mantissa = value / 10**exponent
    if round(abs(mantissa), digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits - 1}f} × 10{str(exponent).translate(SUPERSCRIPT)}{unit}"


def superscript_exponent(text: str) -> str:
    """A formatted number's e-notation written out: '5e+10' → '5 × 10¹⁰', '1.20e-05' → '1.20 × 10⁻⁵'."""
    mantissa, separator, exponent = text.partition("e")
    if not separator:
        return text
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"
