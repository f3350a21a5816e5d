"""``manage.py run_worker``: runs background tasks and keeps deliveries from getting stuck.

Takes db_worker's options; run as many as needed, on any machine.
"""

import logging
import signal
import threading
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.db import connections
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, TASKS_LOGGER
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_interval

from guichet.notifications.email import close_connection
from guichet.notifications.worker import DeliveryWorker, TaskBudget

logger = logging.getLogger(__name__)


def valid_threads(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 32:
        raise ArgumentTypeError("Must be between 1 and 32")
    return number


class Command(DbWorkerCommand):
    help = "Run background tasks (e-mail and SMS deliveries included) and re-enqueue stuck deliveries"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--sweep-interval",
            default=60.0,
            type=valid_interval,
            help="Seconds between two sweeps for deliveries whose task was lost (default: %(default)r)",
        )
        parser.add_argument(
            "--sweep-grace",
            default=300.0,
            type=valid_interval,
            help="How long a queued delivery must be overdue before it is swept (default: %(default)r)",
        )
        parser.add_argument(
            "--threads",
            default=1,
            type=valid_threads,
            help="Tasks run at once by this process, each with its own database and SMTP connection: "
            "a delivery mostly waits on the network, so a few threads multiply a worker's throughput "
            "(default: %(default)r; keep 1 on SQLite)",
        )

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        level = {0: logging.CRITICAL, 1: logging.WARNING, 2: logging.INFO}.get(verbosity, logging.DEBUG)
        for name in (TASKS_LOGGER, "django_tasks_db"):
            logging.getLogger(name).setLevel(level)

    def handle(self, *args: Any, **options: Any) -> None:
        # A line per task start and end at hundreds of tasks per second costs a
        # fifth of a worker's CPU: they appear from -v 2 on. Outcomes worth
        # knowing (retries, failures, sweeps) are logged by the delivery code.
        self.configure_logging(options["verbosity"])
        if options["reload"]:
            logger.warning("run_worker does not reload on code changes; restart it instead.")
        workers = self.workers_build(options)
        if len(workers) == 1:
            workers[0].configure_signals()
            try:
                workers[0].run()
            finally:
                close_connection()
            return
        self._run_threads(workers)

    def workers_build(self, options: dict[str, Any]) -> list[DeliveryWorker]:
        """One worker per thread; they share ``--max-tasks``, and only the first one sweeps."""
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        budget = TaskBudget(options["max_tasks"])
        return [
            DeliveryWorker(
                queue_names=queue_names or [DEFAULT_TASK_QUEUE_NAME],
                interval=options["interval"],
                batch=options["batch"],
                backend_name=options["backend_name"] or DEFAULT_TASK_BACKEND_ALIAS,
                startup_delay=options["startup_delay"],
                max_tasks=options["max_tasks"],
                worker_id=options["worker_id"] if index == 0 else f"{options['worker_id'][:56]}-{index}",
                excluded_queue_names=excluded,
                # One sweeper per process is enough.
                sweep_interval=options["sweep_interval"] if index == 0 else float("inf"),
                sweep_grace=options["sweep_grace"],
                task_budget=budget,
            )
            for index in range(options["threads"])
        ]

    def _run_threads(self, workers: list[DeliveryWorker]) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            logger.warning("Received %s - finishing the running tasks", signal.strsignal(signum))
            for worker in workers:
                worker.running = False

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        threads = [threading.Thread(target=_run_in_thread, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.2)  # short joins keep the main thread responsive to signals


def _run_in_thread(worker: DeliveryWorker) -> None:
    try:
        worker.run()
    finally:
        close_connection()
        connections.close_all()
