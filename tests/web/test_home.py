"""The start page by role: the bench sees its open runs and recent work, reviewers their queue with its age, lab
admins their labs' members, instruments and keys; only actions the role may take are offered. Fixed query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evlims.characterization.services import record_results
from evlims.compliance.models import Review
from evlims.core.models import Role
from evlims.instruments import services as instrument_services
from evlims.isolation import services as isolation_services
from evlims.isolation.models import IsolationRun
from tests.factories import member

from .conftest import register_sample
from .test_protocols import LAB_PROTOCOL

HOME = reverse("evlims:home")


@pytest.fixture
def version(lab, staff, qa_manager):
    draft = isolation_services.protocol_version_save_draft(actor=staff, lab=lab, source_text=LAB_PROTOCOL)
    return isolation_services.protocol_version_approve(actor=qa_manager, version=draft)


@pytest.fixture
def admin(lab):
    return member(lab, Role.LAB_ADMIN, username="admin")


def plan_run(actor, project, version, *, status=IsolationRun.Status.PLANNED):
    sample = register_sample(actor, project, aliquots=[400])
    run = isolation_services.run_plan(
        actor=actor, project=project, protocol_version=version, inputs=[(sample.aliquots.get(), 100)]
    )
    if status != IsolationRun.Status.PLANNED:
        now = timezone.now()
        completed = now if status == IsolationRun.Status.COMPLETED else None
        IsolationRun.objects.filter(pk=run.pk).update(
            status=status, started_at=now - dt.timedelta(hours=1), completed_at=completed
        )
        run.refresh_from_db()
    return run


def protein(barcode):
    return {
        "kind": "protein",
        "method": "bca",
        "preparation": barcode,
        "protein": {"assay": "micro_bca", "concentration_ug_per_ml": 40.0},
    }


def submit(preparation, by, *, state=Review.State.SUBMITTED, days_ago=0):
    return Review.objects.create(
        lab_id=preparation.lab_id,
        preparation=preparation,
        state=state,
        submitted_by=by,
        submitted_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(HOME)
    assert response.status_code == 200
    return len(captured)


class TestBench:
    def test_open_runs_theirs_first_and_recent_work(self, client, lab, staff, project, version):
        colleague = member(lab, Role.LAB_STAFF, username="colleague")
        others = plan_run(colleague, project, version, status=IsolationRun.Status.IN_PROGRESS)
        mine = plan_run(staff, project, version)
        plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED)
        done = plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED)
        record_results(actor=staff, lab=lab, documents=[protein(done.preparations.get().barcode)])
        client.force_login(staff)
        response = client.get(HOME)
        assert response.context["open_run_count"] == 2
        assert [run.pk for run in response.context["open_runs"]] == [mine.pk, others.pk]
        html = response.content.decode()
        assert mine.code in html and others.code in html and done.code not in html.split('id="open-runs"')[1][:3000]
        assert [r.preparation.barcode for r in response.context["recent_results"]] == [done.preparations.get().barcode]
        registered = [sample.barcode for sample in response.context["recent_samples"]]
        assert len(registered) == 3 and registered[0] == done.preparations.get().input_aliquot.sample.barcode
        assert "Protein quantification" in html
        assert "Register a sample" in html and "Plan an isolation run" in html
        assert 'id="review-queue"' not in html and 'id="lab-admin"' not in html

    def test_a_colleagues_recent_work_is_not_mine(self, client, lab, staff, project):
        colleague = member(lab, Role.LAB_STAFF, username="colleague")
        register_sample(colleague, project)
        client.force_login(staff)
        response = client.get(HOME)
        assert response.context["recent_samples"] == []
        assert "You have registered no samples yet." in response.content.decode()

    def test_another_labs_runs_are_not_shown(self, client, staff, outsider, foreign_project, lab, version):
        foreign = isolation_services  # the foreign lab plans with its own protocol
        text = LAB_PROTOCOL.replace("slug: lab-sec", "slug: other-sec")
        draft = foreign.protocol_version_save_draft(actor=outsider, lab=foreign_project.lab, source_text=text)
        reviewer = member(foreign_project.lab, Role.QA_MANAGER, username="other-qa")
        approved = foreign.protocol_version_approve(actor=reviewer, version=draft)
        plan_run(outsider, foreign_project, approved)
        client.force_login(staff)
        response = client.get(HOME)
        assert response.context["open_run_count"] == 0


class TestReviewer:
    def test_queue_counts_and_ages_and_no_register_button(self, client, lab, staff, qa_manager, project, version):
        first = plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED).preparations.get()
        second = plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED).preparations.get()
        third = plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED).preparations.get()
        submit(first, staff, days_ago=9)
        submit(second, staff, days_ago=2)
        submit(third, staff, state=Review.State.VERIFIED, days_ago=4)
        client.force_login(qa_manager)
        response = client.get(HOME)
        steps = {step.state: step for step in response.context["queue_steps"]}
        assert steps["submitted"].count == 2 and steps["verified"].count == 1
        assert (timezone.now() - steps["submitted"].oldest_submitted_at).days == 9
        html = response.content.decode().replace("\xa0", " ")
        assert "Awaiting verification" in html and "Verified, awaiting approval" in html
        assert "oldest submitted 1 week, 2 days ago" in html and "oldest submitted 4 days ago" in html
        assert "Register a sample" not in html and "Plan an isolation run" not in html
        assert 'id="open-runs"' not in html and 'id="lab-admin"' not in html
        # The button is not offered because the page would refuse it.
        assert client.get(reverse("evlims:sample-create")).status_code == 403

    def test_an_empty_queue_says_so(self, client, qa_manager):
        client.force_login(qa_manager)
        html = client.get(HOME).content.decode()
        assert html.count("nothing waiting") == 2


class TestLabAdmin:
    def test_members_instruments_and_keys_of_their_labs(self, client, lab, other_lab, staff, qa_manager, admin):
        nta = instrument_services.instrument_register(actor=admin, lab=lab, name="NTA 1", kind="nta")
        instrument_services.instrument_register(actor=admin, lab=lab, name="Plate reader", kind="plate_reader")
        kept, _ = instrument_services.api_key_issue(actor=admin, instrument=nta, scopes=["results:write"])
        revoked, _ = instrument_services.api_key_issue(actor=admin, instrument=nta, scopes=["results:write"])
        instrument_services.api_key_revoke(actor=admin, key=revoked, reason="Lost with the old laptop")
        client.force_login(admin)
        response = client.get(HOME)
        (row,) = response.context["administered_labs"]
        assert (row.name, row.member_count, row.instrument_count, row.api_key_count) == ("Vesicle Lab", 3, 2, 1)
        html = response.content.decode()
        assert "Labs you administer" in html and "API keys in use" in html
        # An admin also works at the bench and reviews.
        assert "Register a sample" in html and 'id="open-runs"' in html and 'id="review-queue"' in html

    def test_staff_and_reviewers_see_no_admin_figures(self, client, staff, qa_manager):
        for user in (staff, qa_manager):
            client.force_login(user)
            assert "administered_labs" not in client.get(HOME).context


def test_query_counts_do_not_grow(client, lab, staff, qa_manager, admin, project, version):
    made = []

    def grow(count):
        for _ in range(count):
            made.append(len(made))
            n = made[-1]
            run = plan_run(staff, project, version, status=IsolationRun.Status.COMPLETED)
            preparation = run.preparations.get()
            record_results(actor=staff, lab=lab, documents=[protein(preparation.barcode)])
            submit(preparation, staff, days_ago=n)
            plan_run(staff, project, version)
            instrument = instrument_services.instrument_register(actor=admin, lab=lab, name=f"NTA {n}", kind="nta")
            instrument_services.api_key_issue(actor=admin, instrument=instrument, scopes=["results:write"])
            member(lab, Role.LAB_STAFF)

    users = (staff, qa_manager, admin)
    grow(1)
    small = []
    for user in users:
        client.force_login(user)
        queries(client)  # the first request fills per-process caches
        small.append(queries(client))
    grow(12)
    large = []
    for user in users:
        client.force_login(user)
        large.append(queries(client))
    assert small == large
