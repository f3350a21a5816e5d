"""django_tasks_db's worker, plus a periodic sweep of deliveries whose task was lost."""

import logging
import random
import time
from datetime import timedelta

from django.db import close_old_connections, connections
from django.db.models import QuerySet
from django.db.utils import OperationalError
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from guichet.notifications.delivery import messages_sweep

logger = logging.getLogger(__name__)


class DeliveryWorker(Worker):
    """Runs tasks like ``db_worker`` and sweeps every ``sweep_interval`` seconds.

    The loop is django_tasks_db's ``Worker.run`` with the sweep added. Running
    a task (``run_task``) and signal handling are the library's; so is the
    claim, except on PostgreSQL where it is done in one statement.
    """

    def __init__(self, *, sweep_interval: float, sweep_grace: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sweep_interval = sweep_interval
        self.sweep_grace = timedelta(seconds=sweep_grace)
        self._next_sweep = 0.0

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads the start of many workers
        while self.running:
            close_old_connections()
            self._sweep_if_due()
            task_result, claimed = self._claim()
            if task_result is not None:
                self.run_task(task_result)
            if self.batch and claimed and task_result is None:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            if self.running and task_result is None:
                time.sleep(self.interval)

    def _claim(self) -> tuple[DBTaskResult | None, bool]:
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        if connections[tasks.db].vendor == "postgresql":
            return _claim_in_one_statement(tasks, self.worker_id), True
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
        except OperationalError as error:
            if is_locked_database_exception(error):  # SQLite busy: try again later
                return None, False
            raise
        return task_result, True

    def _sweep_if_due(self) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.sweep_interval
        try:
            messages_sweep(grace=self.sweep_grace)
        except OperationalError as error:
            if not is_locked_database_exception(error):
                raise


def _claim_in_one_statement(tasks: QuerySet[DBTaskResult], worker_id: str) -> DBTaskResult | None:
    """The library's claim (lock the next ready task, mark it RUNNING) in one round trip.

    Same rows, order and locking as ``tasks.get_locked()`` followed by
    ``claim()``, which take four round trips (BEGIN, SELECT, UPDATE, COMMIT):
    at hundreds of tasks per second the round trips are most of the cost.
    """
    next_task, params = tasks.values("pk")[:1].query.sql_with_params()
    table = connections[tasks.db].ops.quote_name(DBTaskResult._meta.db_table)
    claimed = DBTaskResult.objects.using(tasks.db).raw(
        f"UPDATE {table} SET status = %s, started_at = %s, worker_ids = worker_ids || to_jsonb(%s::text) "  # noqa: S608
        f"WHERE id = ({next_task} FOR UPDATE SKIP LOCKED) RETURNING *",
        [TaskResultStatus.RUNNING, timezone.now(), worker_id, *params],
    )
    return next(iter(claimed), None)
