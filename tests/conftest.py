import pytest

from evlims.core.models import Role
from tests.factories import LabFactory, ProjectFactory, member, storage_box


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
