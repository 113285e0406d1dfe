"""The single exception type every parser raises for input it cannot read."""

from __future__ import annotations


class ParseError(ValueError):
    """An instrument file could not be parsed.

    ``line`` is the 1-based physical line of the file (after line-ending normalisation) and
    ``field`` the row label, header key or option that was wrong, when known. Both are folded
    into the message so that a plain ``str(error)`` already tells the user where to look.
    """

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        self.reason = message
        self.line = line
        self.field = field
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason
