"""Migration 0007 moves the chunk jobs of a full job out of its ``preparation_ids`` (where the code before it
kept their job ids) into the chunks' ``parent``, and back when it is reversed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("evlims", "0006_dashboard_indexes")
AFTER = ("evlims", "0007_metric_job_parent")


def migrate_to(target):
    """Migrate evlims to ``target`` and return the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


@pytest.fixture
def before_parent():
    """The schema without ``parent``; the latest schema again afterwards, for the tests that follow."""
    yield migrate_to(BEFORE)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("evlims"))


@pytest.mark.django_db(transaction=True)
def test_chunk_ids_kept_by_a_full_job_become_parent_links_and_go_back_on_reverse(before_parent):
    OldJob = before_parent.get_model("evlims", "MetricJob")
    chunks = [OldJob.objects.create(kind="incremental", preparation_ids=[11 + i, 21 + i], total=2) for i in range(3)]
    fanned_out = OldJob.objects.create(kind="full", status="running", preparation_ids=[c.pk for c in chunks], total=6)
    in_place = OldJob.objects.create(kind="full", status="done", preparation_ids=[], total=2, processed=2)
    unrelated = OldJob.objects.create(kind="incremental", preparation_ids=[fanned_out.pk], total=1)

    NewJob = migrate_to(AFTER).get_model("evlims", "MetricJob")

    parents = dict(NewJob.objects.values_list("pk", "parent_id"))
    unlinked = {fanned_out.pk: None, in_place.pk: None, unrelated.pk: None}
    assert parents == {c.pk: fanned_out.pk for c in chunks} | unlinked
    lists = dict(NewJob.objects.values_list("pk", "preparation_ids"))
    assert lists[fanned_out.pk] == [] and lists[in_place.pk] == []
    assert [lists[c.pk] for c in chunks] == [[11, 21], [12, 22], [13, 23]], "chunks keep their preparations"
    assert lists[unrelated.pk] == [fanned_out.pk], "an incremental job's preparation ids are never touched"

    OldJob = migrate_to(BEFORE).get_model("evlims", "MetricJob")

    lists = dict(OldJob.objects.values_list("pk", "preparation_ids"))
    assert lists[fanned_out.pk] == [c.pk for c in chunks] and lists[in_place.pk] == []
