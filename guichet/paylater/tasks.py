"""Tasks of the pay-later space, for a scheduler that enqueues tasks rather than running commands
(``manage.py run_debits`` does the same in the foreground); run by ``manage.py run_worker``."""

import datetime

from django.utils import timezone
from django_tasks import task


def _day(date_iso: str | None) -> datetime.date:
    return datetime.date.fromisoformat(date_iso) if date_iso else timezone.localdate()


@task()
def debit_run_task(date_iso: str | None = None) -> dict[str, int]:
    """The day's debit run (``debits.debit_run``, one process): safe to repeat or to kill, so a task
    retried after a crashed worker charges nothing twice. Answers the run's figures."""
    import dataclasses

    from guichet.paylater.debits import debit_run

    return dataclasses.asdict(debit_run(on=_day(date_iso)))


@task()
def reminders_task(date_iso: str | None = None) -> int:
    """The reminders of the debits a few days ahead (``debits.reminders_send``); idempotent."""
    from guichet.paylater.debits import reminders_send

    return reminders_send(on=_day(date_iso))
