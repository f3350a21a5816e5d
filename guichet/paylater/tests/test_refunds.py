"""Refunds to the card: sent to the provider by a task after the cancellation is committed, once per
idempotency key, retried later when the provider does not answer, and recorded when refused."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.notifications.testing import deliveries_run
from guichet.paylater import refunds
from guichet.paylater.cancellation import order_cancel
from guichet.paylater.gateway import ChargeRequest, ChargeResult, ProviderUnavailable
from guichet.paylater.models import Card, Payment, PaymentStatus
from guichet.paylater.sandbox.models import SandboxCharge
from guichet.paylater.testing import make_order

pytestmark = pytest.mark.django_db

REFUND_TASK = "guichet.paylater.refunds.refund_send"


def cancel_with_refund(**order_options) -> Payment:
    order = make_order(**order_options)
    order_cancel(order=order, amount=Decimal("100.00"), reference="AV-1")  # 14.70 back to the card
    return Payment.objects.get()


def test_the_task_refunds_the_card_at_the_provider_once() -> None:
    payment = cancel_with_refund()

    deliveries_run()

    payment.refresh_from_db()
    assert (payment.status, payment.reason) == (PaymentStatus.SUCCEEDED, "")
    assert payment.provider_reference.startswith("sbx_re_")
    assert payment.settled_at is not None
    charge = SandboxCharge.objects.get()
    assert (charge.kind, charge.amount, charge.token, charge.idempotency_key) == (
        "refund",
        Decimal("14.70"),
        "tok_test_visa_4242",
        payment.idempotency_key,
    )
    event = AuditEvent.objects.get(action="paylater.refund_settled")
    assert event.details == {
        "schedule": payment.schedule_id,
        "amount": "14.70",
        "currency": "EUR",
        "succeeded": True,
        "reason": "",
    }


def test_the_task_run_again_refunds_nothing_more() -> None:
    payment = cancel_with_refund()
    deliveries_run()

    assert refunds.refund_send.call(payment.pk) == PaymentStatus.SUCCEEDED

    assert SandboxCharge.objects.count() == 1
    assert AuditEvent.objects.filter(action="paylater.refund_settled").count() == 1


def test_a_payment_answered_meanwhile_is_left_as_it_is() -> None:
    payment = cancel_with_refund()
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED, provider_reference="ref-1")

    refunds.refund_send.call(payment.pk)

    payment.refresh_from_db()
    assert (payment.status, payment.provider_reference) == (PaymentStatus.SUCCEEDED, "ref-1")
    assert not SandboxCharge.objects.exists()


def test_the_same_key_asked_twice_is_refunded_once_at_the_provider() -> None:
    payment = cancel_with_refund()
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PENDING)
    deliveries_run()
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PENDING)  # as if the answer was lost

    refunds.refund_send.call(payment.pk)

    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED


def test_a_refund_refused_by_the_provider_is_recorded_failed() -> None:
    payment = cancel_with_refund()
    Card.objects.filter(pk=payment.card_id).update(token="tok_unknown_9999")

    deliveries_run()

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.reason == SandboxCharge.objects.get().reason != ""


def test_a_schedule_without_a_card_cannot_be_refunded() -> None:
    payment = cancel_with_refund(card=None)

    assert payment.card is None
    refunds.refund_send.call(payment.pk)

    payment.refresh_from_db()
    assert (payment.status, payment.reason) == (PaymentStatus.FAILED, "no_card")


class SilentGateway:
    """A provider that never answers."""

    def refund(self, request: ChargeRequest) -> ChargeResult:
        raise ProviderUnavailable("no answer")


def test_a_provider_not_answering_leaves_the_refund_pending_and_tries_again_later(settings) -> None:
    payment = cancel_with_refund()
    DBTaskResult.objects.filter(task_path=REFUND_TASK).delete()
    settings.GUICHET_PAYMENT_GATEWAY = "guichet.paylater.tests.test_refunds.SilentGateway"

    assert refunds.refund_send.call(payment.pk, 1) == PaymentStatus.PENDING

    assert Payment.objects.get().status == PaymentStatus.PENDING
    retry = DBTaskResult.objects.get(task_path=REFUND_TASK)
    assert retry.args_kwargs["args"] == [payment.pk, 2]
    assert retry.run_after > timezone.now()


def test_after_the_last_attempt_the_refund_stays_pending_for_reconciliation(settings) -> None:
    payment = cancel_with_refund()
    DBTaskResult.objects.filter(task_path=REFUND_TASK).delete()
    settings.GUICHET_PAYMENT_GATEWAY = "guichet.paylater.tests.test_refunds.SilentGateway"

    refunds.refund_send.call(payment.pk, refunds.MAX_ATTEMPTS)

    assert not DBTaskResult.objects.filter(task_path=REFUND_TASK).exists()
    assert Payment.objects.get().status == PaymentStatus.PENDING


def test_nothing_is_sent_before_the_cancellation_is_committed() -> None:
    """The task row is written in the cancellation's transaction: a cancellation rolled back leaves
    neither the refund nor its task."""
    order = make_order()
    with pytest.raises(RuntimeError), transaction.atomic():
        order_cancel(order=order, amount=Decimal("100.00"))
        raise RuntimeError

    assert not Payment.objects.exists()
    assert not DBTaskResult.objects.filter(task_path=REFUND_TASK).exists()
