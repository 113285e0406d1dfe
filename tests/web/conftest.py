from decimal import Decimal

import pytest

from evlims.samples import services
from tests.factories import ProjectFactory, storage_box


def register_sample(actor, project, *, aliquots=(), box=None, **fields):
    """A sample registered through the service, optionally with first aliquots."""
    values = {"biofluid": "blood_plasma", "volume_ml": Decimal("4")} | fields
    return services.sample_register(actor=actor, project=project, aliquot_volumes_ul=aliquots, box=box, **values)


@pytest.fixture
def member_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def sample(staff, project, box):
    return register_sample(staff, project, aliquots=[500, 500], box=box, anticoagulant="k2_edta", prep_spin_count=2)


@pytest.fixture
def foreign_project(other_lab):
    return ProjectFactory(lab=other_lab, code="FOREIGN")


@pytest.fixture
def foreign_box(other_lab):
    return storage_box(other_lab, name="Foreign box")


@pytest.fixture
def foreign_sample(outsider, foreign_project, foreign_box):
    return register_sample(outsider, foreign_project, aliquots=[300], box=foreign_box)
