import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from guichet.audit.models import AuditEvent
from guichet.identity.models import AccountKind, User
from guichet.paylater import schedules
from guichet.paylater.models import InstalmentStatus, RegularisationPart, RegularisationPlan, ScheduleStatus
from guichet.paylater.testing import make_completed_schedule, make_order, make_unpaid_schedule

pytestmark = pytest.mark.django_db

D = Decimal


def table(schedule) -> list[tuple[int, str, Decimal, str]]:
    return [
        (i.number, i.due_date.isoformat(), i.amount, i.status)
        for i in schedule.instalments.order_by("number")
    ]


def test_the_seeds_schedule_is_computed_on_arrival_first_instalment_paid_at_purchase() -> None:
    order = make_order(amount=D("127.96"), purchased_on=datetime.date(2019, 8, 4))

    assert table(order.schedule) == [
        (1, "2019-08-04", D("42.66"), InstalmentStatus.PAID),
        (2, "2019-09-03", D("42.65"), InstalmentStatus.IN_PROGRESS),
        (3, "2019-10-03", D("42.65"), InstalmentStatus.IN_PROGRESS),
    ]
    assert order.schedule.status == ScheduleStatus.IN_PROGRESS
    assert order.customer.kind == AccountKind.CONSUMER
    assert order.customer.user_id == "camille.martin@example.com"
    assert schedules.current_card(order.schedule).last4 == "4242"
    assert AuditEvent.objects.filter(action="paylater.order_received").count() == 1


def test_fees_go_on_the_first_instalment_by_default_or_are_spread() -> None:
    plan = schedules.instalment_plan(
        purchased_on=datetime.date(2026, 1, 1), purchase_amount=D("100.00"), fees=D("4.50"), count=4
    )
    assert [p.amount for p in plan] == [D("29.50"), D("25.00"), D("25.00"), D("25.00")]
    with override_settings(GUICHET_PAYLATER_FEES="even"):
        plan = schedules.instalment_plan(
            purchased_on=datetime.date(2026, 1, 1), purchase_amount=D("100.00"), fees=D("4.50"), count=4
        )
    assert [p.amount for p in plan] == [D("26.14"), D("26.12"), D("26.12"), D("26.12")]


def test_one_consumer_per_email_and_a_second_order_joins_it() -> None:
    make_order(email="Camille.Martin@example.com")
    make_order(email="camille.martin@example.com")

    assert User.objects.filter(kind=AccountKind.CONSUMER).count() == 1


def test_refused_debits_make_the_schedule_unpaid_with_the_seeds_159_18_due() -> None:
    schedule = make_unpaid_schedule()

    assert schedule.status == ScheduleStatus.UNPAID
    assert schedules.amount_due(schedule) == D("159.18")


def test_paid_debits_complete_the_schedule() -> None:
    assert make_completed_schedule().status == ScheduleStatus.COMPLETED


def test_regularisation_payments_pay_instalments_as_they_are_covered_then_complete() -> None:
    schedule = make_unpaid_schedule()
    plan = RegularisationPlan.objects.create(schedule=schedule, amount=D("159.18"), payment_count=3)
    today = datetime.date.today()  # noqa: DTZ011
    parts = [
        RegularisationPart.objects.create(plan=plan, number=n, due_date=today, amount=D("53.06"))
        for n in (1, 2, 3)
    ]

    def settle(part, succeeded=True):
        with transaction.atomic():
            locked = schedules.schedule_lock(schedule.pk)
            schedules.regularisation_part_settle(schedule=locked, part=part, succeeded=succeeded)
        schedule.refresh_from_db()

    settle(parts[0])
    assert schedule.status == ScheduleStatus.REGULARISING
    assert schedules.regularised_so_far(schedule) == D("53.06")
    assert schedules.amount_due(schedule) == D("106.12")

    settle(parts[1])  # 106.12 covers the first unpaid instalment (79.59)
    assert [s for *_, s in table(schedule)] == ["paid", "paid", "unpaid"]
    assert schedule.regularisation_credit == D("26.53")
    assert schedules.amount_due(schedule) == D("53.06")

    settle(parts[2])
    plan.refresh_from_db()
    assert plan.status == "completed"
    assert schedule.status == ScheduleStatus.COMPLETED
    assert schedule.regularisation_credit == D("0.00")


def test_a_refused_regularisation_payment_fails_the_plan_and_the_schedule_is_unpaid_again() -> None:
    schedule = make_unpaid_schedule()
    plan = RegularisationPlan.objects.create(schedule=schedule, amount=D("159.18"), payment_count=2)
    today = datetime.date.today()  # noqa: DTZ011
    first = RegularisationPart.objects.create(plan=plan, number=1, due_date=today, amount=D("79.59"))
    second = RegularisationPart.objects.create(plan=plan, number=2, due_date=today, amount=D("79.59"))
    with transaction.atomic():
        locked = schedules.schedule_lock(schedule.pk)
        schedules.regularisation_part_settle(schedule=locked, part=first, succeeded=True)
        schedules.regularisation_part_settle(schedule=locked, part=second, succeeded=False)
    schedule.refresh_from_db()
    plan.refresh_from_db()

    assert plan.status == "failed"
    assert schedule.status == ScheduleStatus.UNPAID
    assert schedules.amount_due(schedule) == D("79.59")


def test_a_card_is_valid_until_the_end_of_its_expiry_month() -> None:
    assert schedules.card_valid_through(expiry_month=2, expiry_year=2028) == datetime.date(2028, 2, 29)
