"""A small world for API tests: our lab with a sample, aliquots in a box and a donor; another lab alike."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from evlims.compliance.tasks import refresh_compliance
from evlims.core import hooks
from evlims.core.models import Role
from evlims.metrics.tasks import run_metric_job
from evlims.samples import services
from tests.factories import DonorFactory, ProjectFactory, member, storage_box


@dataclass
class LabWorld:
    project: object
    donor: object
    box: object
    sample: object
    aliquots: list
    custody_event: object


def build_world(user, lab, project, *, box_name="Box 1"):
    donor = DonorFactory(lab=lab, project=project)
    box = storage_box(lab, name=box_name)
    sample = services.sample_register(
        actor=user,
        project=project,
        donor=donor,
        biofluid="blood_plasma",
        volume_ml=Decimal("4"),
        anticoagulant="k2_edta",
        aliquot_volumes_ul=[500, 500],
        box=box,
    )
    aliquots = list(sample.aliquots.order_by("id"))
    return LabWorld(project, donor, box, sample, aliquots, aliquots[0].custody_events.get())


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_login(staff)
    return client


@pytest.fixture
def ours(staff, lab, project):
    return build_world(staff, lab, project)


@pytest.fixture
def theirs(outsider, other_lab):
    project = ProjectFactory(lab=other_lab, code="FOREIGN", title="Someone else's project")
    return build_world(outsider, other_lab, project, box_name="Foreign box")


@pytest.fixture
def qa_api(qa_manager):
    client = APIClient()
    client.force_login(qa_manager)
    return client


@pytest.fixture
def instrument_api(lab):
    client = APIClient()
    client.force_login(member(lab, Role.INSTRUMENT, username="plate-reader"))
    return client


# ---------------------------------------------------------------- instruments, runs, preparations, results


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Key throttling counts in the default cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


@pytest.fixture
def admin_api(admin):
    client = APIClient()
    client.force_login(admin)
    return client


@pytest.fixture
def other_admin(other_lab):
    return member(other_lab, Role.LAB_ADMIN, username="other-admin")


@pytest.fixture
def other_qa(other_lab):
    return member(other_lab, Role.QA_MANAGER, username="other-qa")


@pytest.fixture
def evidence(staff, qa_manager, admin, lab, ours):
    from tests.api.evidence import build_evidence

    return build_evidence(staff, qa_manager, admin, lab, ours)


@pytest.fixture
def their_evidence(outsider, other_qa, other_admin, other_lab, theirs):
    from tests.api.evidence import build_evidence

    return build_evidence(outsider, other_qa, other_admin, other_lab, theirs, instrument_name="Foreign NTA")


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.fixture
def write_key_api(evidence):
    return key_client(evidence.write_key)


@pytest.fixture
def read_key_api(evidence):
    return key_client(evidence.read_key)


# Result posts whose follow-up messages are captured, not run (tests/api/test_one_message_per_post.py,
# test_refresh_coalesced.py).
@pytest.fixture
def sends(not_eager, monkeypatch):
    """What the post sends: (task name, args), for run_together its calls."""
    sent = []
    for task in (refresh_compliance, run_metric_job, hooks.run_together):
        monkeypatch.setattr(task, "delay", lambda *args, task=task: sent.append((task.name, list(args))))
    return sent


@pytest.fixture
def not_eager(evidence, monkeypatch):
    """Tasks sent, not run where they are sent; the evidence's own refreshes (still waiting for the test's
    transaction to commit, which it never does) run first, so a post's commit is its own."""
    waiting, connection.run_on_commit = connection.run_on_commit, []
    for _, callback, _ in waiting:
        callback()
    conf = hooks.run_together.app.conf
    monkeypatch.setitem(conf, "task_always_eager", False)
    return conf
