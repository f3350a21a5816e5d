"""A merchant's cancellation: the readjustment rule (property-tested: money is conserved, no
instalment goes negative, the frozen version is the old table), partial and total cancellations,
the refund to the card, the customer's e-mail, the audit, and the reference's idempotency."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.audit.models import AuditEvent
from guichet.notifications.models import Message
from guichet.notifications.testing import deliveries_run
from guichet.paylater import cancellation
from guichet.paylater.cancellation import CancellationConflict, order_cancel, readjust
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.models import (
    InstalmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    RegularisationPart,
    RegularisationPlan,
    RegularisationStatus,
    ScheduleStatus,
    ScheduleVersion,
    ScheduleVersionReason,
)
from guichet.paylater.testing import make_completed_schedule, make_order, make_unpaid_schedule, settle

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def table(order) -> list[tuple[int, Decimal, str]]:
    return list(order.schedule.instalments.order_by("number").values_list("number", "amount", "status"))


# --- The rule, on its own -------------------------------------------------------------------------

cent_amounts = st.integers(min_value=0, max_value=500_000).map(lambda c: D(c) / 100)


@given(st.lists(cent_amounts, min_size=0, max_size=6), st.integers(min_value=1, max_value=3_000_000))
def test_readjust_conserves_money_and_never_goes_negative(amounts, cancelled_cents) -> None:
    cancelled = D(cancelled_cents) / 100

    new, left = readjust(amounts, cancelled)

    assert len(new) == len(amounts)
    assert all(n >= 0 for n in new)
    assert all(n <= old for n, old in zip(new, amounts, strict=True))
    assert (sum(amounts, D(0)) - sum(new, D(0))) + left == cancelled
    assert left == max(cancelled - sum(amounts, D(0)), D(0))  # only what cannot be absorbed is left


@given(st.integers(min_value=1, max_value=1000), st.integers(min_value=1, max_value=10_000))
def test_readjust_spreads_evenly_when_every_instalment_can_take_its_share(
    per_instalment, cancelled_cents
) -> None:
    amounts = [D(per_instalment * 100)] * 3
    cancelled = min(D(cancelled_cents) / 100, sum(amounts))

    new, _left = readjust(amounts, cancelled)
    reductions = [old - n for old, n in zip(amounts, new, strict=True)]

    assert max(reductions) - min(reductions) <= D("0.01") * 2
    assert reductions[0] == max(reductions)  # the first carries the remaining cents, as allocate does


def test_readjust_examples() -> None:
    assert readjust([D("42.65"), D("42.65")], D("20.00")) == ([D("32.65"), D("32.65")], D("0.00"))
    assert readjust([D("42.65"), D("42.65")], D("20.01")) == ([D("32.64"), D("32.65")], D("0.00"))
    assert readjust([D("5.00"), D("42.65")], D("20.00")) == ([D("0.00"), D("27.65")], D("0.00"))
    assert readjust([D("42.65"), D("42.65")], D("100.00")) == ([D("0.00"), D("0.00")], D("14.70"))
    assert readjust([], D("10.00")) == ([], D("10.00"))


# --- Partial cancellation -------------------------------------------------------------------------


def test_a_partial_cancellation_reduces_the_remaining_instalments_evenly() -> None:
    order = make_order()  # 127.96 in 3: 42.66 paid, 42.65 and 42.65 to debit
    old = table(order)

    version = order_cancel(order=order, amount=D("20.00"), reference="AV-1")

    order.refresh_from_db()
    assert table(order) == [
        (1, D("42.66"), InstalmentStatus.PAID),
        (2, D("32.65"), InstalmentStatus.IN_PROGRESS),
        (3, D("32.65"), InstalmentStatus.IN_PROGRESS),
    ]
    assert (version.number, version.reason, version.cancelled_amount, version.card_refund) == (
        1,
        ScheduleVersionReason.PARTIAL_CANCELLATION,
        D("20.00"),
        D("0.00"),
    )
    assert [(row["number"], D(row["amount"]), row["status"]) for row in version.instalments] == old
    assert (
        version.instalments[1]["due_date"] == (order.purchased_on + datetime.timedelta(days=30)).isoformat()
    )
    assert (order.cancelled_amount, order.schedule.version, order.schedule.status) == (
        D("20.00"),
        2,
        ScheduleStatus.IN_PROGRESS,
    )
    assert not Payment.objects.exists()


def test_what_the_instalments_cannot_absorb_is_refunded_to_the_card() -> None:
    order = make_order()

    version = order_cancel(order=order, amount=D("100.00"), reference="AV-1")

    order.refresh_from_db()
    assert table(order) == [
        (1, D("42.66"), InstalmentStatus.PAID),
        (2, D("0.00"), InstalmentStatus.DELETED),
        (3, D("0.00"), InstalmentStatus.DELETED),
    ]
    assert version.card_refund == D("14.70")
    assert order.schedule.status == ScheduleStatus.COMPLETED
    refund = Payment.objects.get()
    assert (refund.kind, refund.status, refund.amount, refund.idempotency_key, refund.card.last4) == (
        PaymentKind.REFUND,
        PaymentStatus.PENDING,
        D("14.70"),
        f"refund-{order.schedule.pk}-v1",
        "4242",
    )
    task = DBTaskResult.objects.get(task_path="guichet.paylater.refunds.refund_send")
    assert task.args_kwargs["args"] == [refund.pk]


def test_a_completed_schedule_is_refunded_in_full_to_the_card() -> None:
    schedule = make_completed_schedule()

    version = order_cancel(order=schedule.order, amount=D("10.00"), reference="AV-1")

    assert version.card_refund == D("10.00")
    assert Payment.objects.get().amount == D("10.00")


def test_an_unpaid_schedule_owes_less_and_is_not_refunded_money_it_did_not_pay() -> None:
    schedule = make_unpaid_schedule()  # 238.77: 79.59 paid, 79.59 twice unpaid

    version = order_cancel(order=schedule.order, amount=D("100.00"), reference="AV-1")

    assert version.card_refund == D("0.00")
    assert table(schedule.order) == [
        (1, D("79.59"), InstalmentStatus.PAID),
        (2, D("29.59"), InstalmentStatus.UNPAID),
        (3, D("29.59"), InstalmentStatus.UNPAID),
    ]
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.UNPAID


def test_cancelling_all_that_is_left_is_a_total_cancellation() -> None:
    order = make_order()
    order_cancel(order=order, amount=D("27.96"), reference="AV-1")

    version = order_cancel(order=order, amount=D("100.00"), reference="AV-2")

    assert version.reason == ScheduleVersionReason.TOTAL_CANCELLATION
    order.refresh_from_db()
    assert order.cancelled_amount == D("127.96")
    assert order.schedule.status == ScheduleStatus.CANCELLED


@pytest.mark.parametrize("amount", [D("0"), D("-1"), D("127.97"), D("1.001")])
def test_an_amount_out_of_bounds_is_refused_and_nothing_changes(amount) -> None:
    order = make_order()
    events = AuditEvent.objects.count()

    with pytest.raises(PaylaterError) as refused:
        order_cancel(order=order, amount=amount)

    assert refused.value.code == PaylaterErrorCode.CANCEL_AMOUNT
    assert refused.value.message == (
        "The amount cancelled must be more than zero and at most what is left of the purchase (127.96\xa0€)."
    )
    assert not ScheduleVersion.objects.exists() and AuditEvent.objects.count() == events
    assert not Message.objects.filter(template="paylater_schedule_readjusted").exists()


# --- Total cancellation ---------------------------------------------------------------------------


def test_a_total_cancellation_deletes_the_remaining_instalments_and_refunds_what_was_paid() -> None:
    order = make_order()
    settle(order, 2, paid=True)

    version = order_cancel(order=order, amount=None, reference="AV-9")

    order.refresh_from_db()
    assert table(order) == [
        (1, D("42.66"), InstalmentStatus.PAID),
        (2, D("42.65"), InstalmentStatus.PAID),
        (3, D("42.65"), InstalmentStatus.DELETED),
    ]
    assert (version.reason, version.cancelled_amount, version.card_refund) == (
        ScheduleVersionReason.TOTAL_CANCELLATION,
        D("127.96"),
        D("85.31"),
    )
    assert (order.schedule.status, order.cancelled_amount) == (ScheduleStatus.CANCELLED, D("127.96"))
    assert Payment.objects.get().amount == D("85.31")


def test_a_total_cancellation_after_a_partial_one_refunds_less_the_earlier_refund() -> None:
    order = make_order()
    order_cancel(order=order, amount=D("100.00"), reference="AV-1")  # 14.70 refunded

    version = order_cancel(order=order, amount=None, reference="AV-2")

    assert (version.number, version.cancelled_amount, version.card_refund) == (2, D("27.96"), D("27.96"))
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [D("14.70"), D("27.96")]
    assert sum(Payment.objects.values_list("amount", flat=True)) == D("42.66")  # all that was paid


def test_a_total_cancellation_drops_a_regularisation_still_to_pay() -> None:
    schedule = make_unpaid_schedule()
    plan = RegularisationPlan.objects.create(
        schedule=schedule, amount=D("159.18"), payment_count=2, status=RegularisationStatus.ACTIVE
    )
    today = timezone.localdate()
    RegularisationPart.objects.create(
        plan=plan, number=1, due_date=today, amount=D("79.59"), status=InstalmentStatus.PAID
    )
    RegularisationPart.objects.create(plan=plan, number=2, due_date=today, amount=D("79.59"))
    schedule.regularisation_credit = D("79.59")
    schedule.save()

    version = order_cancel(order=schedule.order, amount=None)

    plan.refresh_from_db()
    assert plan.status == RegularisationStatus.FAILED
    assert plan.parts.get(number=2).status == InstalmentStatus.DELETED
    assert version.card_refund == D("159.18")  # the first instalment and the regularisation payment


def test_an_order_cancelled_in_full_cannot_be_cancelled_again() -> None:
    order = make_order()
    order_cancel(order=order, amount=None)

    with pytest.raises(PaylaterError) as refused:
        order_cancel(order=order, amount=D("1.00"))

    assert refused.value.code == PaylaterErrorCode.ORDER_CANCELLED


# --- The customer, the audit, idempotency ---------------------------------------------------------


def test_the_customer_is_told_what_changed(settings) -> None:
    settings.GUICHET_PUBLIC_URL = "https://guichet.example.com"
    order = make_order(language="en")
    Message.objects.all().delete()

    order_cancel(order=order, amount=D("100.00"), reference="AV-1")
    deliveries_run()

    email = next(e for e in mail.outbox if "readjusted" in e.subject)
    assert email.subject == f"Order no. {order.number} (Maison Lumière): your schedule is readjusted"
    html = email.alternatives[0][0]
    assert "Maison Lumière has cancelled 100.00\xa0€ of your order" in email.body
    assert "14.70\xa0€ will be refunded to your card ending in 4242." in email.body
    assert "Debit no. 2" in email.body and "0.00\xa0€, instead of 42.65\xa0€ (Deleted)" in email.body
    assert f"https://guichet.example.com/en/paylater/{order.schedule.pk}/" in email.body
    assert "<del>42.65\xa0€</del>" in html and "14.70\xa0€ will be refunded" in html


def test_the_cancellation_is_audited_without_the_card_token() -> None:
    order = make_order()

    order_cancel(order=order, amount=D("20.00"), reference="AV-1")

    event = AuditEvent.objects.get(action="paylater.order_cancelled")
    assert event.target_id == str(order.pk)
    assert event.details["reference"] == "AV-1"
    assert (event.details["cancelled"], event.details["card_refund"], event.details["version"]) == (
        "20.00",
        "0.00",
        1,
    )
    assert "tok_" not in str(event.details)


def test_the_same_reference_again_changes_nothing_and_answers_the_same_version() -> None:
    order = make_order()
    first = order_cancel(order=order, amount=D("100.00"), reference="AV-1")
    messages = Message.objects.count()

    again = order_cancel(order=order, amount=D("100"), reference="AV-1")

    assert again == first
    assert ScheduleVersion.objects.count() == 1 and Payment.objects.count() == 1
    assert Message.objects.count() == messages
    order.refresh_from_db()
    assert order.cancelled_amount == D("100.00")


def test_the_same_reference_for_another_amount_is_a_conflict() -> None:
    order = make_order()
    order_cancel(order=order, amount=D("10.00"), reference="AV-1")

    with pytest.raises(CancellationConflict):
        order_cancel(order=order, amount=D("11.00"), reference="AV-1")

    assert ScheduleVersion.objects.count() == 1


# --- Property test on real schedules ---------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount_cents=st.integers(min_value=300, max_value=200_000),
    count=st.sampled_from([3, 4]),
    paid=st.integers(min_value=0, max_value=2),
    cancellations=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=3),
)
def test_readjusted_schedules_conserve_money(amount_cents, count, paid, cancellations) -> None:
    order = make_order(amount=D(amount_cents) / 100, count=count)
    if paid:
        settle(order, *range(2, 2 + paid), paid=True)
    for percent in cancellations:
        order.refresh_from_db()
        left = order.purchase_amount - order.cancelled_amount
        if left <= 0:
            break
        amount = max((left * percent / 100).quantize(D("0.01")), D("0.01"))
        before = table(order)
        remaining_before = sum(a for _n, a, s in before if s in ("in_progress", "unpaid"))

        version = order_cancel(order=order, amount=amount)

        after = table(order)
        remaining_after = sum(a for _n, a, s in after if s in ("in_progress", "unpaid"))
        assert [(r["number"], D(r["amount"]), r["status"]) for r in version.instalments] == before
        assert all(a >= 0 for _n, a, _s in after)
        if version.reason == ScheduleVersionReason.PARTIAL_CANCELLATION:
            assert (remaining_before - remaining_after) + version.card_refund == amount
        paid_total = sum(a for _n, a, s in after if s == "paid")
        refunded = sum(
            ScheduleVersion.objects.filter(schedule=order.schedule).values_list("card_refund", flat=True)
        )
        assert refunded <= paid_total  # never more refunded than was paid
    order.refresh_from_db()
    assert order.cancelled_amount <= order.purchase_amount
    if order.schedule.status != ScheduleStatus.CANCELLED:
        # The ledger: what the instalments still come to, plus what was cancelled, less what went back
        # to the card, is the order's total.
        refunded = sum(order.schedule.versions.values_list("card_refund", flat=True))
        kept = sum(a for _n, a, s in table(order) if s != "deleted")
        assert kept + order.cancelled_amount - refunded == order.purchase_amount + order.fees


def test_refund_key_names_the_schedule_and_version() -> None:
    order = make_order()
    version = order_cancel(order=order, amount=D("100.00"))

    assert cancellation.refund_key(order.schedule, version) == f"refund-{order.schedule.pk}-v1"


def test_a_cancellation_is_refused_while_a_debit_is_at_the_provider_and_changes_nothing() -> None:
    order = make_order()
    instalment = order.schedule.instalments.get(number=2)
    Payment.objects.create(
        schedule=order.schedule,
        kind=PaymentKind.DEBIT,
        instalment=instalment,
        amount=instalment.amount,
        idempotency_key=f"debit-{instalment.pk}",
    )
    before = table(order)

    with pytest.raises(PaylaterError) as refused:
        order_cancel(order=order, amount=D("20.00"), reference="AV-9")

    assert refused.value.code == PaylaterErrorCode.PAYMENT_IN_FLIGHT
    assert table(order) == before
    assert not ScheduleVersion.objects.exists()
