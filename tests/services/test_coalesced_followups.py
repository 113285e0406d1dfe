"""Follow-ups that bring a lab up to date (its dashboards rendered, its control charts judged) are sent once per
lab while one waits for a worker, and again for a change after it started (evlims.core.coalesced)."""

import pytest

from evlims.core import coalesced
from evlims.notifications import tasks as notification_tasks
from evlims.web import tasks as web_tasks
from tests.web.test_dashboard_cache import fresh_cache  # noqa: F401 (autouse fixture: each test starts empty)


@pytest.fixture
def sent(monkeypatch):
    """The messages the warm-up and the control-rules check would send, in order, without running them."""
    messages = []
    for task in (web_tasks.warm_dashboards, notification_tasks.check_control_rules):
        monkeypatch.setattr(task, "delay", lambda lab_ids, task=task: messages.append((task.name, list(lab_ids))))
    return messages


WARM = web_tasks.warm_dashboards.name
CHECK = notification_tasks.check_control_rules.name


def test_a_burst_of_changes_sends_one_warm_up_and_one_check_per_lab(sent):
    for _ in range(5):
        web_tasks.figures_stored([1, 2])
        notification_tasks.figures_stored([1, 2])
    web_tasks.figures_stored([2, 3])
    notification_tasks.figures_stored([3])
    assert sent == [(WARM, [1, 2]), (CHECK, [1, 2]), (WARM, [3]), (CHECK, [3])]


def test_a_change_after_the_task_started_sends_it_again(sent, monkeypatch):
    monkeypatch.setattr(web_tasks, "warm_default_views", lambda lab_id: {"lab": lab_id})
    monkeypatch.setattr(notification_tasks, "control_rules_check", lambda lab_ids: 0)
    web_tasks.figures_stored([1])
    notification_tasks.figures_stored([1])
    # The worker takes the messages: each task clears its labs' marks before it reads anything.
    assert web_tasks.warm_dashboards.run([1]) == {1: {"lab": 1}}
    assert notification_tasks.check_control_rules.run([1]) == 0
    web_tasks.figures_stored([1])
    notification_tasks.figures_stored([1])
    assert sent == [(WARM, [1]), (CHECK, [1]), (WARM, [1]), (CHECK, [1])]


def test_a_send_the_broker_refuses_leaves_no_mark(monkeypatch, sent):
    def unreachable(lab_ids):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(web_tasks.warm_dashboards, "delay", unreachable)
    with pytest.raises(ConnectionError):
        coalesced.send_for_labs(web_tasks.warm_dashboards, [4])
    monkeypatch.setattr(web_tasks.warm_dashboards, "delay", lambda lab_ids: sent.append((WARM, list(lab_ids))))
    web_tasks.figures_stored([4])
    assert sent == [(WARM, [4])]


def test_the_control_rules_receiver_logs_a_refused_send_and_marks_nothing(monkeypatch, sent, caplog):
    def unreachable(lab_ids):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(notification_tasks.check_control_rules, "delay", unreachable)
    notification_tasks.figures_stored([5])
    assert "control rules of labs [5] not checked" in caplog.text
    monkeypatch.setattr(
        notification_tasks.check_control_rules, "delay", lambda lab_ids: sent.append((CHECK, list(lab_ids)))
    )
    notification_tasks.figures_stored([5])
    assert sent == [(CHECK, [5])]


def test_a_cache_that_cannot_answer_sends_every_time(monkeypatch, sent):
    # The production cache turns a Redis outage into None rather than an error (config/settings/base.py).
    monkeypatch.setattr(coalesced.cache, "add", lambda *args, **kwargs: None)
    web_tasks.figures_stored([6])
    web_tasks.figures_stored([6])
    assert sent == [(WARM, [6]), (WARM, [6])]


def test_a_lost_message_holds_the_lab_back_for_a_bounded_time(monkeypatch):
    added = []
    monkeypatch.setattr(coalesced.cache, "add", lambda key, value, timeout: added.append(timeout) or True)
    monkeypatch.setattr(web_tasks.warm_dashboards, "delay", lambda lab_ids: None)
    web_tasks.figures_stored([7])
    assert added == [coalesced.PENDING_SECONDS] and 0 < coalesced.PENDING_SECONDS <= 600


def test_with_each_process_s_own_cache_and_a_real_worker_every_change_sends(monkeypatch, sent):
    # A worker could not clear a mark in this process's memory: the mark would hold back every later send.
    monkeypatch.setitem(web_tasks.warm_dashboards.app.conf, "task_always_eager", False)
    assert not coalesced.marks_reach_the_worker()
    web_tasks.figures_stored([8])
    web_tasks.figures_stored([8])
    assert sent == [(WARM, [8]), (WARM, [8])]
