"""What the worker does with a message: deliver it once, retry it later, or give up.

A delivery holds the message's row lock from the status check to the
recorded outcome, so two tasks for the same message (a retry and a sweep,
two workers) never both send it. If the worker dies after the server or
provider accepted the message but before the outcome is committed, the
message is sent again later with the same Message-ID / Idempotency-Key:
delivery is at-least-once in that window only (see docs/notifications.md).
"""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from guichet.notifications.exceptions import DeliveryError
from guichet.notifications.models import ErrorKind, Message, Status
from guichet.notifications.tasks import enqueue_delivery
from guichet.notifications.transports import transport_send

logger = logging.getLogger(__name__)
_OUTCOME_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "task_id",
    "last_error",
    "last_error_kind",
    "provider_reference",
    "sent_at",
    "body_text",
    "body_html",
]


def backoff_delay(*, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, doubled each time, capped."""
    base = settings.GUICHET_DELIVERY_BACKOFF_BASE
    return timedelta(seconds=min(base * 2 ** (attempts - 1), settings.GUICHET_DELIVERY_BACKOFF_MAX))


def sensitive_ttl() -> timedelta:
    """How long a sensitive message (a one-time code) is worth delivering after it was created."""
    return timedelta(seconds=getattr(settings, "GUICHET_DELIVERY_SENSITIVE_TTL", 600))


class _TransportDatabaseError(Exception):
    """A database error raised inside a transport: the attempt's transaction is unusable."""


def message_deliver(*, message_id: int, task_id: UUID | None = None) -> str:
    """Makes one delivery attempt if the message is still queued and due; returns its status.

    ``task_id`` is the running task's id. The message's current task
    (``message.task_id``) delivers even if the message looks not yet due: its
    ``next_attempt_at`` may come from another machine's clock (a sweep).
    Any other task is a stale duplicate and leaves an early message alone.
    """
    try:
        return _attempt(message_id=message_id, task_id=task_id)
    except _TransportDatabaseError as wrapped:
        # The transport (the outbox backends write rows) broke the attempt's
        # transaction, which rolled back; record the failure in a fresh one.
        # No savepoint on the happy path: it would cost two round trips per message.
        error = wrapped.__cause__ or wrapped
        logger.exception("Database error in the transport of message id=%s", message_id)
        with transaction.atomic():
            message = Message.objects.select_for_update().filter(pk=message_id, status=Status.QUEUED).first()
            if message is None:
                return "skipped"
            message.attempts += 1
            _record_failure(message, DeliveryError(type(error).__name__, permanent=False), now=timezone.now())
            message.save(update_fields=_OUTCOME_FIELDS)
        return message.status


def _attempt(*, message_id: int, task_id: UUID | None) -> str:
    with transaction.atomic():
        try:
            message = Message.objects.select_for_update().get(pk=message_id)
        except Message.DoesNotExist:
            return "skipped"
        if message.status != Status.QUEUED:
            return "skipped"
        now = timezone.now()
        if message.next_attempt_at > now and (task_id is None or task_id != message.task_id):
            return "not_due"  # a stale duplicate task; the one scheduled for later will run
        if message.sensitive and now >= message.created_at + sensitive_ttl():
            _record_expiry(message, reason="expired")
            message.save(update_fields=_OUTCOME_FIELDS)
            return message.status
        message.attempts += 1
        try:
            reference = transport_send(message=message)
        except DeliveryError as error:
            _record_failure(message, error, now=now)
        except DatabaseError as error:
            raise _TransportDatabaseError from error  # rolls this attempt back
        except Exception as error:  # a bug must not lose the message: retry it like an outage
            logger.exception("Unexpected error delivering message id=%s", message.pk)
            _record_failure(message, DeliveryError(type(error).__name__, permanent=False), now=now)
        else:
            _record_success(message, reference, now=now)
        message.save(update_fields=_OUTCOME_FIELDS)
    return message.status


def _record_success(message: Message, reference: str, *, now: datetime) -> None:
    message.status = Status.SENT
    message.sent_at = now
    message.provider_reference = reference[:255]
    _wipe_if_sensitive(message)
    logger.debug("Delivered message id=%s attempts=%s", message.pk, message.attempts)


def _record_failure(message: Message, error: DeliveryError, *, now: datetime) -> None:
    message.last_error = error.reason
    message.last_error_kind = ErrorKind.PERMANENT if error.permanent else ErrorKind.TEMPORARY
    next_attempt_at = now + backoff_delay(attempts=message.attempts)
    if (
        not error.permanent
        and message.sensitive
        and next_attempt_at >= message.created_at + sensitive_ttl()
        and message.attempts < settings.GUICHET_DELIVERY_MAX_ATTEMPTS
    ):
        _record_expiry(message, reason=f"expired: {error.reason}")  # no retry before the code expires
        return
    if error.permanent or message.attempts >= settings.GUICHET_DELIVERY_MAX_ATTEMPTS:
        message.status = Status.FAILED
        _wipe_if_sensitive(message)
        logger.warning(
            "Message id=%s failed for good after %s attempts (%s)",
            message.pk,
            message.attempts,
            message.last_error_kind,
        )
        return
    message.next_attempt_at = next_attempt_at
    message.task_id = enqueue_delivery(
        message_id=message.pk, sensitive=message.sensitive, run_after=message.next_attempt_at
    )
    logger.info("Message id=%s will be retried at %s", message.pk, message.next_attempt_at.isoformat())


def _record_expiry(message: Message, *, reason: str) -> None:
    """Fails a sensitive message whose code is no longer worth sending: it is never retried."""
    message.status = Status.FAILED
    message.last_error = reason[:500]
    message.last_error_kind = ErrorKind.PERMANENT
    _wipe_if_sensitive(message)
    logger.warning("Sensitive message id=%s expired after %s attempts", message.pk, message.attempts)


def _wipe_if_sensitive(message: Message) -> None:
    if message.sensitive:
        message.body_text = ""
        message.body_html = ""


def messages_sweep(*, grace: timedelta, limit: int = 500) -> int:
    """Re-enqueues queued messages overdue by ``grace`` whose task is not waiting to run.

    That task is lost: its worker died while running it (django_tasks_db then
    leaves it RUNNING forever) or it failed outside the delivery code.
    """
    now = timezone.now()
    overdue = list(
        Message.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at")
        .values_list("pk", "task_id")[:limit]
    )
    if not overdue:
        return 0
    waiting = set(
        DBTaskResult.objects.filter(
            pk__in=[task_id for _, task_id in overdue if task_id], status=TaskResultStatus.READY
        ).values_list("pk", flat=True)
    )
    swept = sum(_requeue(pk, cutoff=now - grace) for pk, task_id in overdue if task_id not in waiting)
    if swept:
        logger.warning("Re-enqueued %s stuck deliveries", swept)
    return swept


def _requeue(pk: int, *, cutoff: datetime) -> bool:
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status=Status.QUEUED, next_attempt_at__lte=cutoff)
            .first()
        )
        if message is None:  # delivered meanwhile, or being delivered right now
            return False
        message.next_attempt_at = timezone.now()
        message.task_id = enqueue_delivery(message_id=pk, sensitive=message.sensitive)
        message.save(update_fields=["next_attempt_at", "task_id"])
    return True
