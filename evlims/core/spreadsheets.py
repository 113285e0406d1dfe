"""Safe text for CSV and Excel exports."""

# A spreadsheet runs a cell starting with one of these as a formula; a leading apostrophe keeps it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell) -> str:
    """The cell as text a spreadsheet shows as typed, never runs."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
