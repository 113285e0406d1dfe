"""How a NanoSight ``ExperimentSummary.csv`` is laid out: its rows keyed on (section, normalised label), the
weighting blocks of its distribution sections, and the check that every block it announces is there whole.

evlims/instruments/parsers/nanosight.py reads the figures from this layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ParseError
from .nanosight_rows import GraphRows
from .text import Row, is_number, normalise_label, parse_number

BLOCK_SECTIONS = {"sizedata": "size", "diffusioncoefficientdata": "diffusion"}


@dataclass
class Block:
    """One weighting block (statistics, graph data, percentiles) of a distribution section."""

    kind: str
    weighting: str
    line: int
    stats: dict[str, Row] = field(default_factory=dict)
    histogram_header: Row | None = None
    histogram: list[Row] | GraphRows = field(default_factory=list)
    histogram_closed: bool = False
    percentiles: list[Row] = field(default_factory=list)


@dataclass
class Layout:
    rows: list[Row]
    keyed: dict[tuple[str, str], Row] = field(default_factory=dict)
    blocks: dict[tuple[str, str], Block] = field(default_factory=dict)
    data_included: list[Row] = field(default_factory=list)


def scan(rows: list[Row | GraphRows], decimal: str) -> Layout:
    layout = Layout(rows)
    section = "experimentdetails"
    block: Block | None = None
    mode: str | None = None
    for item in rows[2:]:
        if isinstance(item, GraphRows):
            if mode == "histogram" and not block.histogram:
                block.histogram = item  # a whole block of graph data, read into rows only if needed
                continue
            item = item.rows()
        for row in item if isinstance(item, list) else (item,):
            label = row.label
            if label.startswith("[") and label.endswith("]"):
                section, block, mode = normalise_label(label), None, None
                continue
            if section == "dataincluded":
                if label:
                    layout.data_included.append(row)
                continue
            if section not in BLOCK_SECTIONS:
                key = normalise_label(label)
                if key:
                    layout.keyed.setdefault((section, key), row)
                continue
            if mode in ("histogram", "percentile"):
                if is_number(label, decimal):
                    if mode == "histogram" and isinstance(block.histogram, GraphRows):
                        block.histogram = list(block.histogram.rows())
                    (block.histogram if mode == "histogram" else block.percentiles).append(row)
                    continue
                if mode == "histogram":
                    block.histogram_closed = True
                mode = None
            key = normalise_label(label)
            if key == "weighting":
                block = Block(BLOCK_SECTIONS[section], normalise_label(row.cell(1)), row.line)
                layout.blocks.setdefault((block.kind, block.weighting), block)
            elif block is None or not key:
                continue
            elif key.startswith("bincentre"):
                block.histogram_header, mode = row, "histogram"
            elif key == "percentile":
                mode = "percentile"
            elif key != "graphdata":
                block.stats.setdefault(key, row)
    return layout


def check_complete(layout: Layout) -> None:
    """Reject truncated files: every block the file announces must be present and finished."""
    announced = []
    for row in layout.data_included:
        parts = [normalise_label(part) for part in row.label.split(" - ")]
        kind = "size" if parts[0].startswith("size") else "diffusion"
        weighting = parts[1].removesuffix("weighting") if len(parts) > 1 else "number"
        announced.append((kind, weighting, "withpercentiles" in parts, row.line))
    if not announced:
        announced = [("size", "number", False, None)]
    for kind, weighting, with_percentiles, line in announced:
        block = layout.blocks.get((kind, weighting))
        name = f"{kind} distribution, {weighting} weighting"
        if block is None or not block.histogram:
            raise ParseError(f"the file is truncated: the {name} listed in [Data Included] is missing", line)
        if with_percentiles:
            last = block.percentiles[-1].label if block.percentiles else ""
            if parse_number(last) != 100 or not _percentile_row_whole(block.percentiles):
                raise ParseError(f"the file is truncated inside the {name} percentile table", line)
        elif not block.histogram_closed and (kind, weighting) != announced[-1][:2]:
            raise ParseError(f"the file is truncated inside the {name} graph data", line)


def _percentile_row_whole(percentiles: list[Row]) -> bool:
    """Whether the 100th-percentile row, the last data of the export, was read whole.

    A file cut inside that row still ends on a row labelled 100; what gives the cut away is a missing value
    or a shortened number (1840.0 cut to 18), and percentiles never fall from one row to the next.
    """
    if len(percentiles) < 2:
        return True
    before = [parse_number(cell) for cell in percentiles[-2].cells[1:] if cell.strip()]
    last = [parse_number(cell) for cell in percentiles[-1].cells[1:] if cell.strip()]
    if len(last) != len(before):
        return False
    return all(b is None or a is None or a >= b for b, a in zip(before, last, strict=True))


def keyed_row(layout: Layout, section: str, *labels: str, required: bool = True) -> Row | None:
    for label in labels:
        wanted = normalise_label(label)
        for (row_section, key), row in layout.keyed.items():
            if row_section == section and key.startswith(wanted):
                return row
    if required:
        raise ParseError(f"the [{section}] row '{labels[0]}' is missing", field=labels[0])
    return None


def detail(layout: Layout, *labels: str) -> str:
    row = keyed_row(layout, "experimentdetails", *labels, required=False)
    return row.cell(1) if row else ""
