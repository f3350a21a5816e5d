"""Helpers for the tests of any app that sends notifications."""

from django_tasks_db.models import DBTaskResult

from guichet.notifications.worker import DeliveryWorker


def deliveries_run() -> int:
    """Runs every task that is due, in this process, like a worker would; returns how many ran.

    Unlike ``run_worker``, it never closes the database connection, so it
    works inside a test's transaction (the ``db`` fixture).
    """
    worker = DeliveryWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
        sweep_interval=3600,
        sweep_grace=3600,
    )
    count = 0
    while (task_result := DBTaskResult.objects.ready().first()) is not None:
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        count += 1
    return count
