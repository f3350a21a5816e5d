"""Debit runs: each instalment due is charged exactly once, whatever happens to the run (repeated,
killed between its steps, run twice at the same time), and a refusal tells the customer once."""

import datetime
import os
import subprocess
import sys
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guichet.notifications.models import Message
from guichet.notifications.sms import locmem
from guichet.notifications.testing import deliveries_run
from guichet.paylater import debits, schedules
from guichet.paylater.models import (
    Instalment,
    InstalmentStatus,
    Payment,
    PaymentStatus,
    RegularisationPart,
    RegularisationPlan,
    RegularisationStatus,
    ScheduleStatus,
)
from guichet.paylater.sandbox.models import SandboxCharge
from guichet.paylater.testing import make_order, make_unpaid_schedule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_url")]

D = Decimal
TODAY = datetime.date(2026, 3, 2)
DAY = datetime.timedelta(days=1)
PUBLIC_URL = "https://guichet.example.com"


@pytest.fixture
def public_url():
    with override_settings(GUICHET_PUBLIC_URL=PUBLIC_URL):
        yield


@pytest.fixture(autouse=True)
def sms_outbox():
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


def card(token: str, last4: str) -> schedules.CardOnFile:
    return schedules.CardOnFile(token=token, brand="visa", last4=last4, expiry_month=12, expiry_year=2030)


def order_due(*, days_ago: int = 30, **kwargs):
    """An order of 127.96 in 3 (42.66 paid at purchase): instalment 2 is due ``days_ago`` - 30 days ago."""
    return make_order(purchased_on=TODAY - days_ago * DAY, **kwargs)


def instalment(order, number: int) -> Instalment:
    return order.schedule.instalments.get(number=number)


def charges_per_key() -> Counter:
    return Counter(SandboxCharge.objects.values_list("idempotency_key", flat=True))


def assert_charged_once(*orders) -> None:
    """Each due instalment: one payment, under its key, charged once at the provider."""
    due = Instalment.objects.filter(schedule__order__in=orders, due_date__lte=TODAY).exclude(number=1)
    keys = charges_per_key()
    for each in due:
        assert list(each.payments.values_list("idempotency_key", flat=True)) == [f"debit-{each.pk}"]
        assert keys[f"debit-{each.pk}"] == 1
    assert all(count == 1 for count in keys.values())


# --- Outcomes --------------------------------------------------------------------------------------


def test_an_accepted_debit_pays_the_instalment_and_the_schedule_stays_in_progress() -> None:
    order = order_due()

    report = debits.debit_run(on=TODAY)

    assert report == debits.RunReport(presented=1, paid=1, refused=0, left_pending=0)
    second = instalment(order, 2)
    assert second.status == InstalmentStatus.PAID and second.paid_at is not None
    payment = second.payments.get()
    assert (payment.status, payment.amount, payment.idempotency_key) == (
        PaymentStatus.SUCCEEDED,
        D("42.65"),
        f"debit-{second.pk}",
    )
    assert payment.provider_reference.startswith("sbx_") and payment.card.last4 == "4242"
    assert SandboxCharge.objects.get().idempotency_key == f"debit-{second.pk}"
    assert instalment(order, 3).status == InstalmentStatus.IN_PROGRESS
    order.schedule.refresh_from_db()
    assert order.schedule.status == ScheduleStatus.IN_PROGRESS
    assert not Message.objects.exists()


def test_the_last_debit_paid_completes_the_schedule_as_the_schedule_rules_derive_it() -> None:
    finishing = order_due(days_ago=60)
    going_on = order_due()

    report = debits.debit_run(on=TODAY)

    assert (report.presented, report.paid) == (3, 3)
    for order, expected in ((finishing, ScheduleStatus.COMPLETED), (going_on, ScheduleStatus.IN_PROGRESS)):
        order.schedule.refresh_from_db()
        assert order.schedule.status == expected
        assert schedules.schedule_status_refresh(order.schedule) == expected  # nothing left to change


@pytest.mark.parametrize(
    ("token", "last4", "reason", "said"),
    [
        ("tok_test_declined_0002", "0002", "declined", "Your bank declined the payment."),
        (
            "tok_test_insufficient_9995",
            "9995",
            "insufficient_funds",
            "Your bank answered: insufficient funds.",
        ),
        ("tok_test_expired_0069", "0069", "expired_card", "Your bank answered: the card has expired."),
    ],
)
def test_a_refused_debit_makes_the_schedule_unpaid_and_tells_the_customer_by_email_and_sms(
    token, last4, reason, said, sms_outbox
) -> None:
    order = order_due(card=card(token, last4), language="en")

    report = debits.debit_run(on=TODAY)

    assert report == debits.RunReport(presented=1, paid=0, refused=1, left_pending=0)
    assert instalment(order, 2).status == InstalmentStatus.UNPAID
    payment = Payment.objects.get()
    assert (payment.status, payment.reason) == (PaymentStatus.FAILED, reason)
    order.schedule.refresh_from_db()
    assert order.schedule.status == ScheduleStatus.UNPAID
    deliveries_run()
    link = f"{PUBLIC_URL}/en/paylater/{order.schedule.pk}/regularise/"
    (email,) = mail.outbox
    assert email.to == ["camille.martin@example.com"]
    assert email.subject == f"Your payment for order no. {order.number} was refused"
    assert said in email.body and link in email.body
    assert f"The debit of 42.65\xa0€ for your order no. {order.number}" in email.body
    assert "42.65\xa0€ is due" in email.body
    assert link in email.alternatives[0][0]
    (sms,) = sms_outbox
    assert sms.to == "+32470123456"
    assert sms.text.endswith(
        f"the payment for your order {order.number} was refused. Regularise it here: {link}"
    )


def test_the_notice_is_in_the_customers_language() -> None:
    order = order_due(card=card("tok_test_declined_0002", "0002"), language="fr")

    debits.debit_run(on=TODAY)

    message = Message.objects.get(channel="email")
    assert message.language == "fr"
    assert f"{PUBLIC_URL}/fr/paylater/{order.schedule.pk}/regularise/" in message.body_text


def test_a_schedule_without_a_card_fails_with_no_card_and_nothing_goes_to_the_provider() -> None:
    order = order_due(card=None)

    report = debits.debit_run(on=TODAY)

    assert (report.presented, report.refused) == (1, 1)
    payment = Payment.objects.get()
    assert (payment.status, payment.reason, payment.card) == (PaymentStatus.FAILED, "no_card", None)
    assert not SandboxCharge.objects.exists()
    assert instalment(order, 2).status == InstalmentStatus.UNPAID
    assert Message.objects.filter(template="paylater_debit_failed").count() == 2  # e-mail and SMS


def test_a_lost_answer_leaves_the_payment_pending_and_the_next_run_gets_the_recorded_result() -> None:
    order = order_due(card=card("tok_test_timeout_0119", "0119"))

    first = debits.debit_run(on=TODAY)

    assert first == debits.RunReport(presented=1, paid=0, refused=0, left_pending=1)
    assert Payment.objects.get().status == PaymentStatus.PENDING
    assert instalment(order, 2).status == InstalmentStatus.IN_PROGRESS

    second = debits.debit_run(on=TODAY)

    assert second == debits.RunReport(presented=1, paid=1, refused=0, left_pending=0)
    assert instalment(order, 2).status == InstalmentStatus.PAID
    assert_charged_once(order)


def test_instalments_not_yet_due_and_schedules_already_settled_are_left_alone() -> None:
    later = order_due(days_ago=10)
    unpaid = make_unpaid_schedule()

    report = debits.debit_run(on=TODAY)

    assert report.presented == 0
    assert not Payment.objects.filter(schedule__in=[later.schedule, unpaid]).exists()


# --- Repeated, killed, concurrent ------------------------------------------------------------------


def test_a_repeated_run_charges_nothing_twice() -> None:
    orders = [order_due(), order_due(days_ago=60), order_due(card=card("tok_test_declined_0002", "0002"))]
    debits.debit_run(on=TODAY)

    again = debits.debit_run(on=TODAY)

    assert again == debits.RunReport()
    assert_charged_once(*orders)
    assert Message.objects.filter(template="paylater_debit_failed").count() == 2


@override_settings(GUICHET_PAYLATER_DEBIT_CHUNK=2)
def test_a_run_killed_after_claiming_is_finished_by_the_next_one_exactly_once() -> None:
    orders = [order_due() for _ in range(5)]
    # The killed run: it committed pending payments for a chunk, and died before asking the provider.
    claimed = debits._instalments_claim(on=TODAY, size=2)
    assert Payment.objects.filter(status=PaymentStatus.PENDING).count() == len(claimed) == 2
    assert not SandboxCharge.objects.exists()

    report = debits.debit_run(on=TODAY)

    assert (report.presented, report.paid, report.left_pending) == (5, 5, 0)
    assert_charged_once(*orders)


@override_settings(GUICHET_PAYLATER_DEBIT_CHUNK=2)
def test_a_run_killed_after_charging_before_settling_gets_the_recorded_answers(monkeypatch) -> None:
    orders = [order_due() for _ in range(3)] + [order_due(card=card("tok_test_declined_0002", "0002"))]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies between the provider's answer and the settlement

    monkeypatch.setattr(debits, "_settle", killed)
    with pytest.raises(KeyboardInterrupt):
        debits.debit_run(on=TODAY)
    monkeypatch.undo()
    assert Payment.objects.filter(status=PaymentStatus.PENDING).count() == 2
    assert SandboxCharge.objects.count() == 2

    report = debits.debit_run(on=TODAY)

    assert (report.presented, report.paid, report.refused) == (4, 3, 1)
    assert_charged_once(*orders)
    assert not Payment.objects.filter(status=PaymentStatus.PENDING).exists()


def test_payment_reconcile_settles_a_pending_payment_once() -> None:
    order = order_due()
    (item,) = debits._instalments_claim(on=TODAY, size=10)
    key = item.request.idempotency_key

    debits.payment_reconcile(idempotency_key=key)
    debits.payment_reconcile(idempotency_key=key)
    debits.payment_reconcile(idempotency_key="debit-0")  # unknown: nothing

    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert instalment(order, 2).status == InstalmentStatus.PAID
    assert charges_per_key() == {key: 1}
    assert debits.debit_run(on=TODAY) == debits.RunReport()


def test_settling_an_answer_already_applied_does_nothing() -> None:
    order = order_due(card=card("tok_test_declined_0002", "0002"))
    items = debits._instalments_claim(on=TODAY, size=10)
    answers = debits._charge(items)
    debits._settle(items, answers, on=TODAY)

    again = debits._settle(items, answers, on=TODAY)

    assert (again.paid, again.refused) == (0, 0)
    assert Message.objects.filter(template="paylater_debit_failed").count() == 2
    assert instalment(order, 2).status == InstalmentStatus.UNPAID


@override_settings(GUICHET_PAYLATER_DEBIT_CHUNK=3)
def test_the_limit_caps_a_run_and_the_next_run_goes_on() -> None:
    orders = [order_due() for _ in range(5)]

    assert debits.debit_run(on=TODAY, limit=4).presented == 4
    assert debits.debit_run(on=TODAY).presented == 1
    assert_charged_once(*orders)


def test_a_chunk_costs_the_same_queries_whatever_its_size() -> None:
    def queries(count: int) -> int:
        Payment.objects.all().delete()
        orders = [order_due() for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert debits.debit_run(on=TODAY).paid == count
        for order in orders:
            assert instalment(order, 2).status == InstalmentStatus.PAID
        return len(captured)

    assert queries(2) == queries(12)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(GUICHET_PAYLATER_DEBIT_CHUNK=4)
def test_two_runs_at_the_same_time_charge_each_instalment_once() -> None:
    orders = [order_due(days_ago=60 if n % 3 == 0 else 30) for n in range(40)]
    orders += [order_due(card=card("tok_test_declined_0002", "0002")) for _ in range(4)]
    reports: list[debits.RunReport] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            reports.append(debits.debit_run(on=TODAY))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    due = 40 + 40 // 3 + 1 + 4
    assert sum(r.presented for r in reports) >= due  # a pending payment may be asked by both
    assert Payment.objects.count() == due
    assert_charged_once(*orders)
    assert Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count() == due - 4
    assert Message.objects.filter(template="paylater_debit_failed").count() == 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(GUICHET_PAYLATER_DEBIT_CHUNK=3)
def test_worker_processes_share_the_run_and_charge_each_instalment_once() -> None:
    orders = [order_due() for _ in range(20)]

    # As a scheduler runs it: its own process (which forks 2 workers), on this test's database. Not
    # forked from the test process itself, which may hold a browser driver and its threads.
    database = connection.settings_dict
    host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    url = f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{host}/{database['NAME']}"
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "run_debits",
            "--date",
            TODAY.isoformat(),
            "--workers",
            "2",
            "--no-reminders",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "guichet.settings.test",
            "GUICHET_PAYLATER_DEBIT_CHUNK": "3",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert_charged_once(*orders)
    assert Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count() == 20


# --- Regularisation payments ---------------------------------------------------------------------


def plan_of(schedule, *, count: int = 3, status=RegularisationStatus.ACTIVE) -> list[RegularisationPart]:
    """A plan of ``count`` payments of the 159.18 due, the first made today (at the start of the plan)."""
    plan = RegularisationPlan.objects.create(schedule=schedule, amount=D("159.18"), payment_count=count)
    amounts = {1: [D("159.18")], 2: [D("79.59")] * 2, 3: [D("53.06")] * 3}[count]
    parts = [
        RegularisationPart.objects.create(
            plan=plan, number=n, due_date=TODAY + 30 * (n - 1) * DAY, amount=amount
        )
        for n, amount in enumerate(amounts, start=1)
    ]
    if status == RegularisationStatus.ACTIVE:
        locked = schedules.schedule_lock(schedule.pk)
        schedules.regularisation_part_settle(schedule=locked, part=parts[0], succeeded=True)
    return parts


def test_regularisation_payments_are_charged_on_their_date_then_the_schedule_completes() -> None:
    schedule = make_unpaid_schedule(purchased_on=TODAY - 70 * DAY)
    _first, second, third = plan_of(schedule)

    assert debits.debit_run(on=TODAY + 29 * DAY).presented == 0
    report = debits.debit_run(on=TODAY + 30 * DAY)

    assert (report.presented, report.paid) == (1, 1)
    payment = Payment.objects.get(regularisation_part=second)
    assert (payment.idempotency_key, payment.status, payment.card.last4) == (
        f"reg-{second.pk}",
        PaymentStatus.SUCCEEDED,
        "4242",
    )
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.REGULARISING
    assert schedules.regularised_so_far(schedule) == D("106.12")

    debits.debit_run(on=TODAY + 60 * DAY)

    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.COMPLETED
    assert RegularisationPlan.objects.get().status == RegularisationStatus.COMPLETED
    assert charges_per_key() == {f"reg-{second.pk}": 1, f"reg-{third.pk}": 1}


def test_a_refused_regularisation_payment_fails_the_plan_and_tells_the_customer() -> None:
    schedule = make_unpaid_schedule(
        purchased_on=TODAY - 70 * DAY, card=card("tok_test_insufficient_9995", "9995")
    )
    plan_of(schedule)

    report = debits.debit_run(on=TODAY + 30 * DAY)

    assert (report.presented, report.refused) == (1, 1)
    plan = RegularisationPlan.objects.get()
    assert plan.status == RegularisationStatus.FAILED
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.UNPAID
    assert schedules.amount_due(schedule) == D("106.12")
    assert Message.objects.filter(template="paylater_debit_failed").count() == 2
    assert debits.debit_run(on=TODAY + 60 * DAY).presented == 0


def test_a_plan_waiting_for_its_first_payment_is_not_charged_by_the_run() -> None:
    schedule = make_unpaid_schedule(purchased_on=TODAY - 70 * DAY)
    plan_of(schedule, status=RegularisationStatus.PENDING)

    assert debits.debit_run(on=TODAY + 60 * DAY).presented == 0
    assert not SandboxCharge.objects.exists()


# --- Failure notices -----------------------------------------------------------------------------


def test_one_notice_per_schedule_however_many_of_its_debits_are_refused() -> None:
    order = order_due(days_ago=60, card=card("tok_test_declined_0002", "0002"))

    report = debits.debit_run(on=TODAY)
    debits.debit_run(on=TODAY)

    assert report.refused == 2
    assert sorted(Message.objects.values_list("channel", flat=True)) == ["email", "sms"]
    deliveries_run()
    assert "85,30\xa0€ est dû" in mail.outbox[0].body or "85,30\xa0€" in mail.outbox[0].body
    order.schedule.refresh_from_db()
    assert schedules.amount_due(order.schedule) == D("85.30")


def test_no_phone_no_sms() -> None:
    order_due(card=card("tok_test_declined_0002", "0002"), phone="")

    debits.debit_run(on=TODAY)

    assert list(Message.objects.values_list("channel", flat=True)) == ["email"]


def test_the_regularise_link_is_the_schedules_own() -> None:
    schedule = order_due().schedule

    assert debits.regularise_url(schedule) == f"{PUBLIC_URL}/fr/paylater/{schedule.pk}/regularise/"


# --- Reminders ---------------------------------------------------------------------------------------


def test_a_reminder_goes_out_three_days_before_each_debit_once() -> None:
    order = order_due(days_ago=27, language="en")
    order_due(days_ago=20)  # due in 10 days: not yet
    order_due(days_ago=31)  # due yesterday: past

    assert debits.reminders_send(on=TODAY) == 1
    assert debits.reminders_send(on=TODAY) == 0

    assert instalment(order, 2).reminded_at is not None
    deliveries_run()
    (email,) = mail.outbox
    assert email.subject == f"Your next payment for order no. {order.number}: on 03/05/2026"
    assert "On March 5, 2026, we will debit 42.65\xa0€ from your card ending in 4242" in email.body
    assert f"instalment 2 of your order no. {order.number} (Maison Lumière)" in email.body
    assert f"{PUBLIC_URL}/en/paylater/{order.schedule.pk}/" in email.body
    assert "4242" in email.alternatives[0][0]


def test_a_day_without_reminders_is_caught_up_the_next_day() -> None:
    order_due(days_ago=28)  # due in 2 days: yesterday's job would have sent it

    assert debits.reminders_send(on=TODAY) == 1


def test_reminders_go_out_in_batches(settings) -> None:
    settings.GUICHET_PAYLATER_DEBIT_CHUNK = 2
    for _ in range(5):
        order_due(days_ago=27)

    assert debits.reminders_send(on=TODAY) == 5
    assert Message.objects.filter(template="paylater_debit_reminder").count() == 5


def test_a_card_change_before_the_debit_is_the_card_charged() -> None:
    order = order_due()
    locked = schedules.schedule_lock(order.schedule.pk)
    old = schedules.current_card(locked)
    old.replaced_at = timezone.now()
    old.save(update_fields=["replaced_at"])
    locked.cards.create(
        token="tok_test_mastercard_4444", brand="mastercard", last4="4444", expiry_month=1, expiry_year=2031
    )

    debits.debit_run(on=TODAY)

    payment = Payment.objects.get()
    assert payment.card.last4 == "4444"
    assert SandboxCharge.objects.get().token == "tok_test_mastercard_4444"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_instalment_locked_by_another_transaction_is_waited_for_not_skipped() -> None:
    orders = [order_due() for _ in range(3)]
    held = instalment(orders[1], 2)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:  # say, a cancellation being written
        try:
            with transaction.atomic():
                Instalment.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    locked.wait(timeout=10)
    threading.Timer(0.3, release.set).start()

    report = debits.debit_run(on=TODAY)
    holder.join()

    assert (report.presented, report.paid) == (3, 3)
    assert_charged_once(*orders)
