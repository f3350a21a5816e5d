"""django_tasks_db's worker, plus a periodic sweep of deliveries whose task was lost."""

import logging
import math
import random
import threading
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


class TaskBudget:
    """How many tasks the workers of one process may run in all (``--max-tasks``), shared by its threads.

    A worker reserves a task before claiming one, so that threads claiming at
    the same time never run more than the total between them.
    """

    def __init__(self, total: int | None) -> None:
        self.total = total
        self._started = 0
        self._reserved = 0
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        """Reserves the right to run one task; False when none is left (for now)."""
        with self._lock:
            if self.total is not None and self._started + self._reserved >= self.total:
                return False
            self._reserved += 1
            return True

    def use(self) -> None:
        """The reserved task was claimed: it counts."""
        with self._lock:
            self._reserved -= 1
            self._started += 1

    def release(self) -> None:
        """Nothing was claimed: the reservation is given back."""
        with self._lock:
            self._reserved -= 1

    @property
    def spent(self) -> bool:
        with self._lock:
            return self.total is not None and self._started >= self.total


class DeliveryWorker(Worker):
    """Runs tasks like ``db_worker`` and sweeps every ``sweep_interval`` seconds.

    The loop is django_tasks_db's ``Worker.run`` with the sweep added. Running
    a task (``run_task``) and signal handling are the library's; so is the
    claim, except on PostgreSQL where it is done in one statement. An infinite
    ``sweep_interval`` never sweeps. ``max_tasks`` counts the tasks of every
    worker sharing ``task_budget`` (the threads of one process).
    """

    def __init__(
        self,
        *,
        sweep_interval: float,
        sweep_grace: float,
        task_budget: TaskBudget | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sweep_interval = sweep_interval
        self.sweep_grace = timedelta(seconds=sweep_grace)
        self._next_sweep = 0.0 if math.isfinite(sweep_interval) else math.inf
        self.task_budget = task_budget or TaskBudget(self.max_tasks)

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads the start of many workers
        while self.running:
            close_old_connections()
            self._sweep_if_due()
            if not self.task_budget.reserve():
                if self.task_budget.spent:
                    return
                time.sleep(min(self.interval, 0.05) or 0.01)  # another thread is claiming the last task
                continue
            task_result, claimed = self._claim()
            if task_result is None:
                self.task_budget.release()
            else:
                self.task_budget.use()
                self.run_task(task_result)
            if self.batch and claimed and task_result is None:
                return
            if self.task_budget.spent:
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
