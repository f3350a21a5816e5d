"""Refunds to the card: a pending ``Payment`` of kind refund, sent to the provider by a task.

``cancellation.order_cancel`` writes the payment and enqueues ``refund_send`` in its transaction, so
the task runs once the cancellation is committed, and exists if and only if it is. The task is
idempotent: the provider is asked with the payment's idempotency key (``refund-<schedule>-v<version>``),
so asking again never refunds twice, and a payment already answered is left alone. When the provider
does not answer, the task tries again later (a few times, further apart each time); after that the
payment stays pending for ``debits.payment_reconcile`` (the provider's notification, or an operator).
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from guichet.audit.services import record
from guichet.paylater import schedules
from guichet.paylater.gateway import ChargeRequest, ChargeResult, ProviderUnavailable, gateway
from guichet.paylater.models import Payment, PaymentKind, PaymentStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
NO_CARD = "no_card"


def retry_delay(attempt: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=30 * 2**attempt)


@task()
def refund_send(payment_id: int, attempt: int = 1) -> str:
    """Sends one refund to the provider and records its answer; answers the payment's status."""
    payment = Payment.objects.select_related("card").filter(pk=payment_id, kind=PaymentKind.REFUND).first()
    if payment is None or payment.status != PaymentStatus.PENDING:
        return payment.status if payment else "unknown"
    if payment.card is None:
        result = ChargeResult(
            idempotency_key=payment.idempotency_key, succeeded=False, reference="", reason=NO_CARD
        )
    else:
        try:
            result = gateway().refund(
                ChargeRequest(
                    token=payment.card.token,
                    amount=payment.amount,
                    currency=payment.currency,
                    idempotency_key=payment.idempotency_key,
                    description=f"Refund {payment.idempotency_key}",
                )
            )
        except ProviderUnavailable:
            return _retry_later(payment, attempt)
    return refund_settle(payment=payment, result=result)


def _retry_later(payment: Payment, attempt: int) -> str:
    if attempt >= MAX_ATTEMPTS:
        logger.warning("Refund %s left pending after %s attempts", payment.idempotency_key, attempt)
        return PaymentStatus.PENDING
    refund_send.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(payment.pk, attempt + 1)
    return PaymentStatus.PENDING


def refund_settle(*, payment: Payment, result: ChargeResult) -> str:
    """Records the provider's answer, once (a payment answered meanwhile is left as it is)."""
    status = PaymentStatus.SUCCEEDED if result.succeeded else PaymentStatus.FAILED
    with transaction.atomic():
        schedules.schedule_lock(payment.schedule_id)
        updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=status,
            provider_reference=result.reference[:100],
            reason=result.reason[:40],
            settled_at=timezone.now(),
        )
        if updated:
            record(
                action="paylater.refund_settled",
                target=payment,
                details={
                    "schedule": payment.schedule_id,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                    "succeeded": result.succeeded,
                    "reason": result.reason[:40],
                },
            )
    if not result.succeeded:
        logger.warning("Refund %s refused by the provider (%s)", payment.idempotency_key, result.reason)
    return status if updated else Payment.objects.filter(pk=payment.pk).values_list("status", flat=True)[0]
