from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guichet.notifications.delivery import messages_sweep
from guichet.notifications.models import Message
from guichet.notifications.services import notify
from guichet.notifications.testing import deliveries_run

pytestmark = pytest.mark.django_db
GRACE = timedelta(minutes=5)


def _queued(*, overdue_by: timedelta, task_status: str) -> Message:
    [message] = notify(template="test_message", context={"name": "M"}, email="marie@example.com")
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - overdue_by)
    DBTaskResult.objects.filter(pk=message.task_id).update(status=task_status)
    message.refresh_from_db()
    return message


def test_a_message_whose_worker_died_is_enqueued_again() -> None:
    # Given a message overdue by more than the grace period, its task left RUNNING by a dead worker
    message = _queued(overdue_by=GRACE + timedelta(seconds=1), task_status="RUNNING")
    lost_task = message.task_id

    # When the sweep runs
    assert messages_sweep(grace=GRACE) == 1

    # Then a new task will deliver it now
    message.refresh_from_db()
    assert message.task_id != lost_task
    assert DBTaskResult.objects.get(pk=message.task_id).status == "READY"
    assert timezone.now() - message.next_attempt_at < timedelta(seconds=5)
    assert deliveries_run() == 1
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.parametrize(
    ("overdue_by", "task_status"),
    [
        (GRACE + timedelta(seconds=1), "READY"),  # still waiting in the queue: no duplicate
        (GRACE - timedelta(seconds=5), "RUNNING"),  # perhaps being sent right now
    ],
)
def test_a_message_with_a_live_or_recent_task_is_left_alone(overdue_by: timedelta, task_status: str) -> None:
    message = _queued(overdue_by=overdue_by, task_status=task_status)

    assert messages_sweep(grace=GRACE) == 0

    assert DBTaskResult.objects.count() == 1
    message.refresh_from_db()
    assert message.task_id == DBTaskResult.objects.get().pk


def test_sent_and_failed_messages_are_never_swept() -> None:
    sent = _queued(overdue_by=timedelta(hours=1), task_status="SUCCESSFUL")
    failed = _queued(overdue_by=timedelta(hours=1), task_status="FAILED")
    Message.objects.filter(pk=sent.pk).update(status="sent")
    Message.objects.filter(pk=failed.pk).update(status="failed")

    assert messages_sweep(grace=GRACE) == 0


def test_a_task_that_failed_outside_the_delivery_is_replaced() -> None:
    _queued(overdue_by=GRACE * 2, task_status="FAILED")

    assert messages_sweep(grace=GRACE) == 1


def test_a_swept_message_is_delivered_by_a_worker_whose_clock_is_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a lost delivery, swept on a machine whose clock is a minute ahead of the worker's
    message = _queued(overdue_by=GRACE * 2, task_status="RUNNING")
    ahead = timezone.now() + timedelta(minutes=1)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: ahead)
        assert messages_sweep(grace=GRACE) == 1

    # When the worker runs the new task
    assert deliveries_run() == 1

    # Then it delivers the message at once instead of leaving it "not due" until another sweep
    message.refresh_from_db()
    assert message.status == "sent"
    assert DBTaskResult.objects.get(pk=message.task_id).return_value == "sent"
