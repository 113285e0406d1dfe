"""The rows of a NanoSight ``ExperimentSummary.csv``, with each block of graph data kept as one piece of text.

An NTA 3.x export of a few hundred kilobytes is mostly graph data: one line per size (or diffusion) bin and
weighting block, tens of thousands of lines of plain numbers. Reading each line into a ``Row`` cost more than
everything else the parser does, so the lines right after a ``Bin centre`` header that start with a plain number
are kept as one ``GraphRows`` text: a layout scan takes it whole, and the parser reads its columns whole
(``text.number_column``). Anything unusual in it (a space, an empty cell, a decimal comma) makes the parser ask
for its rows, which are then exactly what ``text.read_rows`` gives for those lines.

Text with a quote character or a non-breaking space, or with a line longer than the csv module's field limit,
is read by ``text.read_rows`` alone (``read_export_rows`` answers None).
"""

from __future__ import annotations

import csv
import re

from .text import Row, normalise_label

# A plain number as ``text.parse_number`` reads one, bounded so that every match is a finite float.
# Each number matches in one way only (no backtracking between two runs of digits).
_NUMBER = r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,2})?"
_RUNS: dict[str, re.Pattern] = {}


class GraphRows:
    """Consecutive graph-data lines (each ending in a line break), read into rows only when asked."""

    __slots__ = ("_rows", "delimiter", "first_line", "text")

    def __init__(self, first_line: int, text: str, delimiter: str):
        self.first_line, self.text, self.delimiter, self._rows = first_line, text, delimiter, None

    def rows(self) -> list[Row]:
        if self._rows is None:
            strip, delimiter = str.strip, self.delimiter
            self._rows = [
                Row(self.first_line + offset, list(map(strip, line.split(delimiter))))
                for offset, line in enumerate(self.text[:-1].split("\n"))
            ]
        return self._rows

    def __len__(self) -> int:
        return self.text.count("\n")

    def __iter__(self):
        return iter(self.rows())

    def columns(self, width: int) -> list[list[str]] | None:
        """The first ``width`` cells of every line, column by column (missing cells empty), or None when the
        lines do not all hold the same number of cells. Cells are not stripped: a cell with a space in it is no
        plain number, and the caller then reads the rows."""
        delimiter, lines = self.delimiter, len(self)
        first = self.text[: self.text.index("\n")]
        cells = first.count(delimiter) + 1
        other = f"[^{re.escape(delimiter)}\\n]*"
        same_width = re.compile(f"(?:{other}(?:{re.escape(delimiter)}{other}){{{cells - 1}}}\\n)*")
        if not same_width.fullmatch(self.text):
            return None
        flat = self.text[:-1].replace("\n", delimiter).split(delimiter)
        columns = [flat[index::cells] for index in range(min(width, cells))]
        return columns + [[""] * lines for _ in range(width - len(columns))]


def read_export_rows(text: str, delimiter: str) -> list[Row | GraphRows] | None:
    """Rows of text whose line breaks are already normalised to ``\\n``, as ``read_rows`` reads them, with the
    graph data after each ``Bin centre`` header as one ``GraphRows``; None when the csv module must read it."""
    if '"' in text or "\u00a0" in text:
        return None
    if len(text) > csv.field_size_limit() and max(map(len, text.split("\n"))) > csv.field_size_limit():
        return None
    run = _RUNS.get(delimiter)
    if run is None:
        run = _RUNS[delimiter] = re.compile(f"(?:{_NUMBER}(?:{re.escape(delimiter)}[^\\n]*)?\\n)+")
    items: list[Row | GraphRows] = []
    position, number, size, after_header = 0, 1, len(text), False
    while position < size:
        if after_header:
            after_header = False
            block = run.match(text, position)
            if block:
                items.append(GraphRows(number, block.group(), delimiter))
                number += block.group().count("\n")
                position = block.end()
                continue
        end = text.find("\n", position)
        end = size if end < 0 else end
        line = text[position:end]
        cells = [cell.strip() for cell in line.split(delimiter)] if line else []
        items.append(Row(number, cells))
        after_header = bool(cells) and normalise_label(cells[0]).startswith("bincentre")
        number, position = number + 1, end + 1
    return items
