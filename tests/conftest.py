import pytest
from django.core.cache import cache
from hypothesis import settings

from evlims.core.models import Role
from tests.factories import LabFactory, ProjectFactory, member, storage_box

# Property tests draw the same examples on every run and machine: a failure is reproducible, and a run that
# passed once passes again. Tests that set their own @settings keep this unless they say otherwise.
settings.register_profile("evlims", derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile("evlims")


@pytest.fixture(autouse=True)
def _nothing_marked_waiting():
    """Each test starts with an empty cache, so no follow-up is marked as waiting for a worker (core.coalesced):
    a mark left by a test that captured or lost its message would hold back a later test's refresh of a
    preparation with the same id (SQLite gives ids again after a test's rollback)."""
    cache.clear()


@pytest.fixture
def lab(db):
    return LabFactory(name="Vesicle Lab", slug="vesicle-lab")


@pytest.fixture
def other_lab(db):
    return LabFactory(name="Other Lab", slug="other-lab")


@pytest.fixture
def project(lab):
    return ProjectFactory(lab=lab, code="PLASMA1", title="Plasma EV biomarkers")


@pytest.fixture
def staff(lab):
    return member(lab, Role.LAB_STAFF, username="staff")


@pytest.fixture
def qa_manager(lab):
    return member(lab, Role.QA_MANAGER, username="qa")


@pytest.fixture
def outsider(other_lab):
    return member(other_lab, Role.LAB_STAFF, username="outsider")


@pytest.fixture
def box(lab):
    return storage_box(lab)
