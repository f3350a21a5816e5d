from django.db.models import QuerySet

from guichet.notifications.models import OutboxEntry

OUTBOX_LIMIT = 200


def outbox_entries_latest(*, limit: int = OUTBOX_LIMIT) -> QuerySet[OutboxEntry]:
    """The development outbox, newest first."""
    return OutboxEntry.objects.order_by("-created_at", "-id")[:limit]
