"""The tasks a scheduler enqueues: the day's debit run and the reminders (run by the worker)."""

import datetime

import pytest
from django.utils import timezone

from guichet.paylater.models import InstalmentStatus, Payment
from guichet.paylater.tasks import debit_run_task, reminders_task
from guichet.paylater.testing import make_order

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_the_debit_run_task_of_a_date_answers_the_figures() -> None:
    order = make_order(purchased_on=datetime.date(2026, 2, 1))

    result = debit_run_task.call("2026-03-03")

    assert result == {"presented": 1, "paid": 1, "refused": 0, "left_pending": 0}
    assert order.schedule.instalments.get(number=2).status == InstalmentStatus.PAID


def test_the_tasks_run_today_by_default() -> None:
    make_order(purchased_on=timezone.localdate() - 30 * DAY)
    make_order(purchased_on=timezone.localdate() - 27 * DAY)

    assert debit_run_task.call()["paid"] == 1
    assert reminders_task.call() == 1
    assert Payment.objects.count() == 1
