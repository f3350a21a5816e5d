"""The worker loop of ``run_worker``, in this process: ``--max-tasks`` and the sweep with ``--threads``."""

from typing import Any

import pytest
from django.core import mail

from guichet.notifications import worker as worker_module
from guichet.notifications.management.commands.run_worker import Command
from guichet.notifications.models import Message
from guichet.notifications.services import notify
from guichet.notifications.worker import DeliveryWorker, TaskBudget

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweeps(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Counts the sweeps; and keeps the test's connection, which a real worker closes between tasks."""
    calls: list[Any] = []
    monkeypatch.setattr(worker_module, "messages_sweep", lambda **kwargs: calls.append(kwargs) or 0)
    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)
    return calls


def _workers(*arguments: str) -> list[DeliveryWorker]:
    command = Command()
    options = vars(
        command.create_parser("manage.py", "run_worker").parse_args(["--no-startup-delay", *arguments])
    )
    return command.workers_build(options)


def _queue(count: int) -> None:
    for index in range(count):
        notify(template="test_message", context={"name": "M"}, email=f"m{index}@example.com")


def test_the_threads_of_a_process_run_max_tasks_in_all(sweeps: list[Any]) -> None:
    # Given six queued e-mails and the workers of `run_worker --max-tasks 2 --threads 3`
    _queue(6)
    workers = _workers("--max-tasks", "2", "--threads", "3", "--interval", "0")

    # When each worker runs until it stops (one after the other: the order of threads is arbitrary)
    for worker in workers:
        worker.run()

    # Then two e-mails were sent in all, and the others wait
    assert len(mail.outbox) == 2
    assert sorted(Message.objects.values_list("status", flat=True)) == ["queued"] * 4 + ["sent"] * 2
    assert [worker._run_tasks for worker in workers] == [2, 0, 0]


def test_only_the_first_thread_of_a_process_sweeps(sweeps: list[Any]) -> None:
    workers = _workers("--batch", "--threads", "3")

    for worker in workers:
        worker.run()

    assert len(sweeps) == 1


def test_a_single_worker_stops_after_max_tasks(sweeps: list[Any]) -> None:
    _queue(3)
    [worker] = _workers("--max-tasks", "2", "--interval", "0")

    worker.run()

    assert len(mail.outbox) == 2


def test_a_task_budget_never_reserves_more_than_its_total() -> None:
    budget = TaskBudget(2)

    # Two reservations at once, a third refused while they are pending
    assert (budget.reserve(), budget.reserve(), budget.reserve()) == (True, True, False)
    assert budget.spent is False
    # One finds nothing to claim and gives its reservation back; the other runs a task
    budget.release()
    budget.use()
    assert (budget.spent, budget.reserve()) == (False, True)
    budget.use()
    assert (budget.spent, budget.reserve()) == (True, False)


def test_an_unlimited_task_budget_is_never_spent() -> None:
    budget = TaskBudget(None)

    for _ in range(1000):
        assert budget.reserve() is True
        budget.use()

    assert budget.spent is False
