"""``manage.py run_worker``: runs background tasks and keeps deliveries from getting stuck.

Takes db_worker's options; run as many as needed, on any machine.
"""

import logging
from argparse import ArgumentParser
from typing import Any

from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_interval

from guichet.notifications.email import close_connection
from guichet.notifications.worker import DeliveryWorker

logger = logging.getLogger(__name__)


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

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        if options["reload"]:
            logger.warning("run_worker does not reload on code changes; restart it instead.")
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        worker = DeliveryWorker(
            queue_names=queue_names or [DEFAULT_TASK_QUEUE_NAME],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"] or DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
            sweep_interval=options["sweep_interval"],
            sweep_grace=options["sweep_grace"],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            close_connection()
