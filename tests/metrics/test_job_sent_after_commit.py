"""The metric job of a change is sent after commit without reading its row first: the row is written in the same
savepoint as the commit hook that sends it, and rolling that savepoint back drops both. Every change still sends
exactly one job, whose row exists when it is sent; a broker that cannot be reached leaves the row for the sweeper.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from evlims.core import hooks
from evlims.metrics import refresh
from evlims.metrics.models import MetricJob
from evlims.metrics.services import _companions, job_sender


class Undo(Exception):
    pass


@pytest.fixture
def sent(monkeypatch):
    """Only the metric receiver listens; the job ids it sends, each with whether its row was there to send."""
    ids = []
    monkeypatch.setattr(hooks.on_evidence_changed, "_receivers", {})
    hooks.on_evidence_changed.register(refresh.queue_change, record=refresh.record_change)

    def send(job_id):
        ids.append((job_id, MetricJob.objects.filter(pk=job_id).exists()))
        _companions.taking_started()  # a worker takes it at once: the next change sends its own

    monkeypatch.setattr(job_sender, "_implementation", send)
    return ids


def _rolled_back(ids):
    try:
        with transaction.atomic():
            hooks.preparations_changed(ids)
            raise Undo
    except Undo:
        pass


@pytest.mark.django_db
def test_the_job_is_sent_after_commit_without_a_query(sent, monkeypatch, django_capture_on_commit_callbacks):
    plain = []
    monkeypatch.setattr(job_sender, "_implementation", plain.append)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        hooks.preparations_changed([7, 3])
    job = MetricJob.objects.get()
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert plain == [job.pk]
    assert queries.captured_queries == []
    assert job.preparation_ids == [3, 7] and job.total == 2 and job.queued_at is not None


@pytest.mark.django_db
def test_a_rolled_back_savepoint_takes_its_row_and_its_send_along(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _rolled_back([5])
    assert sent == [] and not MetricJob.objects.exists()


@pytest.mark.django_db
def test_a_change_after_a_rolled_back_one_writes_and_sends_a_new_row(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _rolled_back([5])
        hooks.preparations_changed([6])
    job = MetricJob.objects.get()
    assert sent == [(job.pk, True)] and job.preparation_ids == [6]


@pytest.mark.django_db
def test_a_rolled_back_growth_keeps_the_row_of_the_earlier_change(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        hooks.preparations_changed([1])
        _rolled_back([2])
    job = MetricJob.objects.get()
    assert sent == [(job.pk, True)] and job.preparation_ids == [1]


@pytest.mark.django_db(transaction=True)
def test_real_commits_send_one_existing_row_each(sent):
    with transaction.atomic():
        _rolled_back([5])
        hooks.preparations_changed([6])
    with transaction.atomic():
        _rolled_back([8])
    hooks.preparations_changed([9])  # autocommit: written and sent at once
    jobs = list(MetricJob.objects.order_by("pk"))
    assert [job.preparation_ids for job in jobs] == [[6], [9]]
    assert sent == [(job.pk, True) for job in jobs]


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_row_for_the_sweeper(sent, monkeypatch, django_capture_on_commit_callbacks):
    def refuse(job_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(job_sender, "_implementation", refuse)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        hooks.preparations_changed([4])
    job = MetricJob.objects.get()
    assert job.status == MetricJob.Status.PENDING and job.queued_at is None


@pytest.mark.django_db
def test_the_job_row_written_by_hand_equals_the_orms(sent):
    """``record_change`` writes the row with one prepared statement (``core.rows.row_insert``): the stored row and
    the instance are those ``MetricJob.objects.create`` makes, field by field and type by type."""
    from django.utils import timezone

    from evlims.core.rows import row_insert

    now = timezone.now()

    def new():
        return MetricJob(kind=MetricJob.Kind.INCREMENTAL, preparation_ids=[3, 5, 8], total=3, queued_at=now)

    before = timezone.now()
    fast = row_insert(new())

    def typed(instance):
        return {
            f.attname: (type(getattr(instance, f.attname)), getattr(instance, f.attname))
            for f in MetricJob._meta.concrete_fields
            if f.attname not in ("id", "created_at", "updated_at")
        }

    orm = new()
    orm.save()
    assert typed(fast) == typed(orm)  # the instances returned
    stored_fast, stored_orm = MetricJob.objects.get(pk=fast.pk), MetricJob.objects.get(pk=orm.pk)
    assert typed(stored_fast) == typed(stored_orm)  # the rows stored
    assert before <= fast.created_at <= fast.updated_at <= timezone.now()  # each stamped by its pre_save, as the ORM
    assert (stored_fast.created_at, stored_fast.updated_at) == (fast.created_at, fast.updated_at)
    assert fast._state.adding is False and fast._state.db == orm._state.db
    assert refresh.record_change([3, 5, 8], None) == MetricJob.objects.latest("id").pk
