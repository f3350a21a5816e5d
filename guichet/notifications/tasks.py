"""The delivery task; enqueued in the caller's transaction (the task table is in the same database)."""

from datetime import datetime
from uuid import UUID

from django_tasks import TaskContext, task

# One-time codes are awaited by someone looking at their phone: they overtake bulk mail.
SENSITIVE_PRIORITY = 10


@task(takes_context=True)
def deliver_message(context: TaskContext, message_id: int) -> str:
    from guichet.notifications.delivery import message_deliver

    return message_deliver(message_id=message_id, task_id=UUID(str(context.task_result.id)))


def enqueue_delivery(*, message_id: int, sensitive: bool = False, run_after: datetime | None = None) -> UUID:
    task_ = deliver_message.using(priority=SENSITIVE_PRIORITY if sensitive else 0, run_after=run_after)
    return UUID(str(task_.enqueue(message_id).id))
