"""Each cross-cutting catalogue has one owner, and every other module reads it from there.

A new copy (a module-level list, tuple, set or dict naming three or more of a catalogue's keys outside its
owner) fails here, naming the file and line: take the owner's catalogue, or one of its selections, instead.
docs/architecture.md ("Catalogues") names the owners.
"""

import ast
from pathlib import Path

import pytest

from evlims.instruments.particles import SIZE_FIELDS
from evlims.metrics import figures

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path
    for folder in ("evlims", "protocols", "bench", "scripts")
    for path in (ROOT / folder).rglob("*.py")
    if "migrations" not in path.parts
)
FIGURE_OWNER = "evlims/metrics/figures.py"
SIZE_OWNER = "evlims/instruments/particles.py"


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _keys(node: ast.AST, dicts: bool) -> set[str]:
    """The strings a literal names: elements of a list, tuple or set, the first item of each tuple in it
    ((key, label, …) rows), or (with ``dicts``) the keys of a dict."""
    if isinstance(node, ast.Dict) and dicts:
        items = [key for key in node.keys if key is not None]
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [item.elts[0] if isinstance(item, ast.Tuple) and item.elts else item for item in node.elts]
    else:
        return set()
    return {item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)}


def _copies(keys: set[str], owners: set[str], *, dicts: bool = True, least: int = 3) -> list[str]:
    """Every literal outside the owners (module level, class bodies and functions alike) that names ``least``
    or more of ``keys``."""
    found = []
    for path in SOURCES:
        name = _relative(path)
        if name in owners:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=name)):
            named = _keys(node, dicts) & keys
            if len(named) >= least:
                found.append(f"{name}:{node.lineno} lists {sorted(named)}")
    return found


def _imported(module: str) -> set[str]:
    """What a module imports, as absolute dotted names: ``from ..metrics import figures`` in evlims/web/views
    gives evlims.metrics and evlims.metrics.figures."""
    package = module.removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse((ROOT / module).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = f"{base}.{node.module}" if node.level and node.module else (base if node.level else node.module)
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_the_figure_catalogue_is_the_only_list_of_figure_keys():
    keys = {figure.key for figure in figures.CATALOGUE}
    assert _copies(keys, {FIGURE_OWNER}) == []


@pytest.mark.parametrize(
    "module",
    [
        "evlims/metrics/compute.py",
        "evlims/metrics/services/_recompute_io.py",
        "evlims/metrics/selectors.py",
        "evlims/metrics/charts.py",
        "evlims/metrics/control_charts.py",
        "evlims/metrics/csv_input.py",
        "evlims/management/commands/evlims_metrics.py",
        "evlims/web/views/preparation_page.py",
        "evlims/web/views/compliance.py",
        "evlims/web/views/dashboards.py",
        "evlims/api/preparation_serializers.py",
    ],
)
def test_the_places_that_show_or_store_figures_read_the_catalogue(module):
    assert "evlims.metrics.figures" in _imported(module)


def test_the_catalogue_matches_the_stored_figures():
    from evlims.metrics.models import PreparationMetrics

    stored = {
        field.name
        for field in PreparationMetrics._meta.concrete_fields
        if field.name not in {"id", "lab", "preparation", "provenance", "computed_at"}
    }
    assert stored == set(figures.BY_KEY)
    assert len(figures.BY_KEY) == len(figures.CATALOGUE)
    # Every selection names figures of the catalogue, each once.
    for selection in (figures.DASHBOARD, figures.COMPLIANCE_REPORT, figures.CSV_REPORT):
        assert len(set(selection)) == len(selection) and set(selection) <= set(figures.CATALOGUE)
    assert set(figures.DASHBOARD) == set(figures.NUMBERS)


def test_the_particle_size_fields_are_listed_once():
    # Sequences only: a dict naming the size fields maps them to values (examples, demo data, a parser's
    # names for the rows of its file), which is not a copy of the list.
    assert _copies(set(SIZE_FIELDS), {SIZE_OWNER}, dicts=False) == []


def test_every_particle_record_has_the_size_fields():
    from evlims.characterization.models import ParticleAnalysis, ParticleCapture
    from evlims.instruments.parsers import Capture

    for model in (ParticleAnalysis, ParticleCapture):
        assert set(SIZE_FIELDS) <= {field.name for field in model._meta.concrete_fields}
    assert set(SIZE_FIELDS) <= set(Capture.__dataclass_fields__)


@pytest.mark.parametrize(
    "module",
    [
        "evlims/instruments/parsers/results.py",
        "evlims/instruments/parsers/generic.py",
        "evlims/instruments/parsers/zetaview.py",
        "evlims/instruments/services/documents.py",
        "evlims/characterization/services.py",
        "evlims/web/forms/results.py",
        "evlims/web/views/preparation_page.py",
        "evlims/api/results/outputs.py",
        "evlims/demo/scale/measurements.py",
    ],
)
def test_the_places_that_read_or_show_particle_sizes_read_the_catalogue(module):
    assert "evlims.instruments.particles" in _imported(module)


def test_mandatory_failures_are_picked_out_of_a_report_in_one_place():
    # compliance.selectors.mandatory_failures (a stored report) and mandatory_misev_failures (the failed rule ids
    # a list keeps) are the only readers of the mandatory levels besides the evaluator that assigns them.
    # stored_reports.py writes a compact report back out in full, the checklist's mandatory lists as the
    # evaluator's to_dict() writes them (tests/compliance/test_stored_reports.py holds the two equal).
    owners = {"evlims/compliance/evaluator.py", "evlims/compliance/selectors.py", "evlims/compliance/stored_reports.py"}
    readers = [
        f"{_relative(path)}:{node.lineno}"
        for path in SOURCES
        if _relative(path) not in owners
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Name) and node.id == "MANDATORY_LEVELS")
        or (isinstance(node, ast.Attribute) and node.attr == "MANDATORY_LEVELS")
    ]
    assert readers == []


def test_lipoprotein_markers_come_from_the_marker_vocabulary():
    from evlims.compliance.markers import LIPOPROTEINS, marker_vocabulary

    symbols = marker_vocabulary().symbols_of(LIPOPROTEINS)
    assert {"APOA1", "APOB"} <= symbols
    assert _copies(set(symbols), set(), least=2) == []
    assert "evlims.compliance.markers.LIPOPROTEINS" in _imported("evlims/metrics/services/_recompute_io.py")


def test_canonical_json_is_written_in_one_place():
    import datetime as dt

    from evlims.core.canonical import canonical_hash, canonical_json

    # The audit seals and the evidence and signature hashes depend on these exact bytes.
    assert canonical_json({"b": [1, 2.5, None], "a": "µg", "d": dt.date(2024, 5, 1)}) == (
        '{"a":"\\u00b5g","b":[1,2.5,null],"d":"2024-05-01"}'
    )
    assert canonical_hash({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    # Elsewhere json.dumps sorts keys only for another purpose: the protocol library's published content hash
    # (its own form), the compliance engine's interning of identical conditions (a key, never hashed) and the
    # benchmarks' machine reference (work to be timed, its digest only proof that it ran).
    others = {"evlims/core/canonical.py", "protocols/hashing.py", "evlims/compliance/conditions.py", "bench/machine.py"}
    sorting = [
        f"{_relative(path)}:{node.lineno}"
        for path in SOURCES
        if _relative(path) not in others
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "dumps"
        and any(keyword.arg == "sort_keys" for keyword in node.keywords)
    ]
    assert sorting == []


def test_a_dilution_is_applied_by_one_function():
    from evlims.instruments.particles import stock_per_ml

    assert stock_per_ml(2.0e9, 200) == 4.0e11
    assert stock_per_ml(2.0e9, None) == 2.0e9  # unknown: as measured in the cell
    assert stock_per_ml(2.0e9, 200, applied_in_file=True) == 2.0e9  # the instrument applied it
    assert stock_per_ml(None, 200) is None
    # Nowhere else is a value multiplied or divided by a dilution factor.
    scaled = [
        f"{_relative(path)}:{node.lineno}: {ast.unparse(node)}"
        for path in SOURCES
        if _relative(path) != SIZE_OWNER
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult | ast.Div)
        and "dilution" in ast.unparse(node).lower()
    ]
    assert scaled == []


def test_result_error_keys_are_read_in_one_place():
    from evlims.instruments.services import file_ingestion

    parsed = {"format": "nanosight", "samples": [{"name": "beads"}, {"name": "d200"}, {"name": "d400"}]}
    mapping = {"beads": "", "d200": "EVP-1", "d400": "EVP-2"}
    errors = {
        "results[1].particle.histogram": ["Too short."],
        "results[0].preparation": ["No preparation EVP-1 in this lab."],
        "file": ["Gone."],
    }
    assert file_ingestion.commit_errors(errors, parsed, mapping) == (
        {"d400": ["particle.histogram: Too short."], "d200": ["No preparation EVP-1 in this lab."]},
        {"file": ["Gone."]},
    )
    # Only the owner compiles the pattern of "results[2].marker.protein".
    patterns = [
        f"{_relative(path)}:{node.lineno}"
        for path in SOURCES
        if _relative(path) != "evlims/instruments/recording.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("^results\\[")
    ]
    assert patterns == []


def test_what_a_preparation_edit_may_change_is_listed_once():
    """The service's editable fields are the API's update fields and the web form's fields (plus functional
    studies, which the web adds on their own page)."""
    from evlims.api.preparation_serializers import PreparationUpdateInputSerializer
    from evlims.isolation.services.preparations import PREPARATION_EDITABLE
    from evlims.web.forms.preparations import PreparationEditForm

    api_fields = set(PreparationUpdateInputSerializer.Meta.fields) - {"reason", "version"}
    assert api_fields == PREPARATION_EDITABLE
    web_fields = set(PreparationEditForm.Meta.fields) | {"functional_studies"}
    assert web_fields == PREPARATION_EDITABLE
