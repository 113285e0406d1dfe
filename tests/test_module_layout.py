"""Writers live in services packages, one module per kind of record. Every public function of such a module can
also be imported from its package. The manifest reads and checks (samples.imports) do not reach the writes:
those are imported from samples.services."""

import inspect
import pkgutil
from importlib import import_module

import pytest

SERVICE_PACKAGES = ["evlims.samples.services", "evlims.isolation.services", "evlims.metrics.services"]
MANIFEST_WRITES = ["manifest_upload", "manifest_validate", "manifest_queue_commit", "manifest_commit"]


def _public_functions(module):
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__
    }


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_every_public_function_of_a_services_package_is_importable_from_the_package(package):
    top = import_module(package)
    functions = {
        f"{module.__name__}.{name}": (name, function)
        for found in pkgutil.iter_modules(top.__path__)
        if not found.name.startswith("_")
        for module in [import_module(f"{package}.{found.name}")]
        for name, function in _public_functions(module).items()
    }
    assert functions
    missing = [path for path, (name, function) in functions.items() if getattr(top, name, None) is not function]
    assert not missing, f"export these from {package}: {missing}"
    assert {name for name, _ in functions.values()} <= set(top.__all__)
    assert all(hasattr(top, name) for name in top.__all__)


def test_the_manifest_writes_are_services_and_not_reached_through_samples_imports():
    from evlims.samples import imports, services
    from evlims.samples.services import manifests

    assert all(getattr(services, name) is getattr(manifests, name) for name in MANIFEST_WRITES)
    assert not [name for name in [*MANIFEST_WRITES, "manifest_mark_failed"] if hasattr(imports, name)]


MOST_LINES = 400


def test_no_product_module_is_longer_than_400_lines():
    """A module past ~400 lines holds more than one idea (docs/architecture.md); migrations are generated."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    long = {
        str(path.relative_to(root)): count
        for folder in ("evlims", "protocols", "config")
        for path in (root / folder).rglob("*.py")
        if "migrations" not in path.parts
        for count in [len(path.read_text(encoding="utf-8").splitlines())]
        if count > MOST_LINES
    }
    assert long == {}
