"""Reading a preparations CSV for the ``evlims_metrics`` command, and the report it prints.

Contract: a header row, then one row per preparation. Required columns are CSV_COLUMNS; other columns are
ignored; ``lipoprotein_readout`` (true/false/yes/no/1/0) is optional. An empty numeric cell means "not
measured". Every problem is reported with its line number (the header is line 1) and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from typing import TextIO

import numpy as np
import pandas as pd

from . import figures
from .compute import preparation_metrics, summarise

NUMERIC_CSV_COLUMNS = ("input_volume_ml", "prep_volume_ml", "particles_per_ml", "protein_ug_per_ml")
CSV_COLUMNS = ("preparation", "run", "biofluid", *NUMERIC_CSV_COLUMNS)
NON_EMPTY_COLUMNS = ("preparation", "run")
LIPOPROTEIN_COLUMN = "lipoprotein_readout"
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})
MAX_REPORTED_PROBLEMS = 20

PREPARATION_REPORT_FIELDS = ("preparation", *(figure.key for figure in figures.CSV_REPORT))


class CsvInputError(ValueError):
    """One or more problems in the CSV; ``problems`` holds (line, column, message) sorted by line."""

    def __init__(self, problems: Iterable[tuple[int, str | None, str]]):
        self.problems = sorted(problems, key=lambda problem: problem[0])
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        lines = [
            f"line {line}, column {column!r}: {message}" if column else f"line {line}: {message}"
            for line, column, message in shown
        ]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problem(s)")
        super().__init__("\n".join(lines))


def _read_records(handle: TextIO) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvInputError([(1, None, "the file is empty; expected a header row")])
        header = [name.strip().lstrip("\ufeff") for name in header]
        records, first_lines = [], []
        next_line = reader.line_num + 1
        for record in reader:
            if any(field.strip() for field in record):
                if len(record) != len(header):
                    raise CsvInputError(
                        [(next_line, None, f"expected {len(header)} fields as in the header, found {len(record)}")]
                    )
                records.append(record)
                first_lines.append(next_line)
            next_line = reader.line_num + 1
    except csv.Error as error:
        raise CsvInputError([(reader.line_num, None, f"malformed CSV: {error}")]) from None
    return header, records, first_lines


def _check_header(header: list[str]) -> None:
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise CsvInputError([(1, column, "required column is missing from the header") for column in missing])
    repeated = sorted(
        {name for name in header if header.count(name) > 1 and name in (*CSV_COLUMNS, LIPOPROTEIN_COLUMN)}
    )
    if repeated:
        raise CsvInputError([(1, column, "column appears more than once in the header") for column in repeated])


def _problems_where(mask: np.ndarray, lines: np.ndarray, column: str, messages: pd.Series | str):
    rows = np.flatnonzero(mask)
    texts = [messages] * len(rows) if isinstance(messages, str) else messages.to_numpy()[rows]
    return [(int(lines[row]), column, text) for row, text in zip(rows, texts, strict=True)]


def read_preparations_csv(handle: TextIO) -> pd.DataFrame:
    """The validated CSV as a frame: CSV_COLUMNS (numbers as float64, NaN when empty), optional
    lipoprotein_readout (boolean with NA) and ``line`` (the row's line number). Raises CsvInputError."""
    header, records, first_lines = _read_records(handle)
    _check_header(header)
    wanted = [*CSV_COLUMNS, *([LIPOPROTEIN_COLUMN] if LIPOPROTEIN_COLUMN in header else [])]
    positions = [header.index(column) for column in wanted]
    raw = pd.DataFrame([[record[i].strip() for i in positions] for record in records], columns=wanted, dtype="str")
    lines = np.asarray(first_lines, dtype=np.int64)
    problems: list[tuple[int, str | None, str]] = []
    frame = pd.DataFrame({"line": lines})

    for column in NON_EMPTY_COLUMNS:
        problems += _problems_where(raw[column].eq("").to_numpy(dtype=bool), lines, column, "must not be empty")
    repeated = (raw["preparation"].ne("") & raw["preparation"].duplicated()).to_numpy(dtype=bool)
    problems += _problems_where(repeated, lines, "preparation", "preparation " + raw["preparation"] + " appears twice")
    frame["preparation"] = raw["preparation"]
    frame["run"] = raw["run"]
    frame["biofluid"] = raw["biofluid"].where(raw["biofluid"].ne(""))

    for column in NUMERIC_CSV_COLUMNS:
        text = raw[column]
        empty = text.eq("").to_numpy(dtype=bool)
        numbers = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        not_a_number = ~empty & ~np.isfinite(numbers)
        problems += _problems_where(not_a_number, lines, column, "'" + text + "' is not a finite number")
        problems += _problems_where(numbers < 0, lines, column, "'" + text + "' is negative; must be >= 0")
        frame[column] = np.where(not_a_number, np.nan, numbers)

    if LIPOPROTEIN_COLUMN in raw.columns:
        words = raw[LIPOPROTEIN_COLUMN].str.lower()
        unknown = ~(words.isin(TRUE_WORDS | FALSE_WORDS) | words.eq("")).to_numpy(dtype=bool)
        problems += _problems_where(
            unknown, lines, LIPOPROTEIN_COLUMN, "'" + raw[LIPOPROTEIN_COLUMN] + "' is not true/false/yes/no/1/0"
        )
        readout = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        readout[words.isin(TRUE_WORDS)] = True
        readout[words.isin(FALSE_WORDS)] = False
        frame[LIPOPROTEIN_COLUMN] = readout

    if problems:
        raise CsvInputError(problems)
    return frame


def _json_number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _report_value(figure: figures.Figure, value):
    if figure.numeric:
        return _json_number(value)
    return value if isinstance(value, str) else None


def metrics_report(preparations: pd.DataFrame) -> dict:
    """The figures the command prints: per preparation (file order) and per run (first appearance),
    with missing figures as None so the result serialises to strict JSON."""
    metrics = preparation_metrics(preparations)
    runs = summarise(metrics, by=["run"], metrics=[figures.PURITY])
    preparation_rows = [
        {"preparation": str(record["preparation"])}
        | {figure.key: _report_value(figure, record[figure.key]) for figure in figures.CSV_REPORT}
        for record in metrics[list(PREPARATION_REPORT_FIELDS)].to_dict("records")
    ]
    run_rows = [
        {
            "run": str(row.run),
            "n": int(row.n),
            "mean_particles_per_ug": _json_number(row.mean),
            "cv_pct_particles_per_ug": _json_number(row.cv_pct),
        }
        for row in runs.itertuples(index=False)
    ]
    return {"preparations": preparation_rows, "runs": run_rows}
