"""Schedules: computed on an order's arrival, then settled instalment by instalment.

Every function that changes a schedule takes it locked (``schedule_lock``) inside the caller's
transaction, and ends with ``schedule_status_refresh``, so the status is always derived from the
instalments and regularisation plans, never set by hand (but for a total cancellation):

- an unpaid instalment and a regularisation being paid → "being regularised";
- an unpaid instalment otherwise → "unpaid";
- an instalment still to debit → "in progress";
- else "completed".
"""

import calendar
import dataclasses
import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from guichet.audit.services import record
from guichet.identity.services import consumer_ensure
from guichet.paylater.models import (
    Card,
    Instalment,
    InstalmentStatus,
    Merchant,
    Order,
    RegularisationPart,
    RegularisationPlan,
    RegularisationStatus,
    Schedule,
    ScheduleStatus,
)
from guichet.paylater.money import CENT, allocate, cents

ZERO = Decimal("0.00")


@dataclasses.dataclass(frozen=True)
class PlannedInstalment:
    number: int
    due_date: datetime.date
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class CardOnFile:
    """What the provider answered for a card: never its number."""

    token: str
    brand: str
    last4: str
    expiry_month: int
    expiry_year: int


def interval() -> datetime.timedelta:
    return datetime.timedelta(days=settings.GUICHET_PAYLATER_INTERVAL_DAYS)


def instalment_plan(
    *, purchased_on: datetime.date, purchase_amount: Decimal, fees: Decimal, count: int
) -> list[PlannedInstalment]:
    """``count`` instalments, the first at purchase, then one every interval; fees as configured."""
    if settings.GUICHET_PAYLATER_FEES == "even":
        amounts = allocate(cents(purchase_amount) + cents(fees), count)
    else:
        amounts = allocate(cents(purchase_amount), count)
        amounts[0] += cents(fees)
    return [
        PlannedInstalment(number=n, due_date=purchased_on + interval() * (n - 1), amount=amount)
        for n, amount in enumerate(amounts, start=1)
    ]


def order_create(
    *,
    merchant: Merchant,
    number: str,
    email: str,
    purchased_on: datetime.date,
    purchase_amount: Decimal,
    fees: Decimal,
    instalment_count: int,
    source: str,
    card: CardOnFile | None = None,
    currency: str = "EUR",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str | None = None,
    first_instalment_paid: bool = True,
    content_hash: str = "",
) -> Order:
    """The order, its consumer (by e-mail), its schedule version 1 and its card, in one transaction.

    The first instalment is normally collected at checkout (``first_instalment_paid``); the others
    are left to the debit runs. Validation of the input is the caller's (the intake's) job.
    """
    now = timezone.now()
    with transaction.atomic():
        customer = consumer_ensure(
            email=email, first_name=first_name, last_name=last_name, language=language, mobile_phone=phone
        )
        order = Order.objects.create(
            merchant=merchant,
            number=number,
            customer=customer,
            email=customer.email,
            phone=phone,
            purchased_on=purchased_on,
            purchase_amount=purchase_amount,
            fees=fees,
            currency=currency,
            instalment_count=instalment_count,
            content_hash=content_hash,
            source=source,
            created_at=now,
        )
        schedule = Schedule.objects.create(order=order, updated_at=now)
        planned = instalment_plan(
            purchased_on=purchased_on, purchase_amount=purchase_amount, fees=fees, count=instalment_count
        )
        Instalment.objects.bulk_create(
            Instalment(
                schedule=schedule,
                number=p.number,
                due_date=p.due_date,
                amount=p.amount,
                status=InstalmentStatus.PAID
                if p.number == 1 and first_instalment_paid
                else InstalmentStatus.IN_PROGRESS,
                paid_at=now if p.number == 1 and first_instalment_paid else None,
            )
            for p in planned
        )
        if card is not None:
            Card.objects.create(schedule=schedule, created_at=now, **dataclasses.asdict(card))
        schedule_status_refresh(schedule)
        record(
            action="paylater.order_received",
            actor=None,
            target=order,
            details={"merchant": merchant.code, "source": source, "instalments": instalment_count},
        )
    return order


# --- Reading a schedule ----------------------------------------------------------------------


def schedule_lock(schedule_id: int) -> Schedule:
    """The schedule, row-locked until the end of the caller's transaction (always lock it first)."""
    return Schedule.objects.select_for_update(of=("self",)).select_related("order").get(pk=schedule_id)


def unpaid_total(schedule: Schedule) -> Decimal:
    total = schedule.instalments.filter(status=InstalmentStatus.UNPAID).aggregate(t=Sum("amount"))["t"]
    return (total or ZERO).quantize(CENT)  # SQLite sums decimals as floats


def amount_due(schedule: Schedule) -> Decimal:
    """What the consumer owes now: the unpaid instalments, less what regularisation already paid."""
    return max(unpaid_total(schedule) - schedule.regularisation_credit, ZERO)


def open_regularisation(schedule: Schedule) -> RegularisationPlan | None:
    return schedule.regularisations.filter(
        status__in=(RegularisationStatus.PENDING, RegularisationStatus.ACTIVE)
    ).first()


def regularised_so_far(schedule: Schedule) -> Decimal:
    """Paid by the regularisation being paid (seed: "Montant régularisé")."""
    plan = schedule.regularisations.filter(status=RegularisationStatus.ACTIVE).first()
    if plan is None:
        return ZERO
    total = plan.parts.filter(status=InstalmentStatus.PAID).aggregate(t=Sum("amount"))["t"]
    return (total or ZERO).quantize(CENT)


def next_debit_date(schedule: Schedule) -> datetime.date | None:
    """The date of the next instalment still to debit (or regularisation payment), if any."""
    dates = [
        schedule.instalments.filter(status=InstalmentStatus.IN_PROGRESS)
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first(),
        RegularisationPart.objects.filter(
            plan__schedule=schedule,
            plan__status=RegularisationStatus.ACTIVE,
            status=InstalmentStatus.IN_PROGRESS,
        )
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first(),
    ]
    present = [d for d in dates if d is not None]
    return min(present) if present else None


def last_scheduled_date(schedule: Schedule) -> datetime.date | None:
    """The date of the last debit still to come: a card must be valid until then."""
    dates = [
        schedule.instalments.filter(status=InstalmentStatus.IN_PROGRESS)
        .order_by("-due_date")
        .values_list("due_date", flat=True)
        .first(),
        RegularisationPart.objects.filter(
            plan__schedule=schedule,
            plan__status__in=(RegularisationStatus.PENDING, RegularisationStatus.ACTIVE),
            status=InstalmentStatus.IN_PROGRESS,
        )
        .order_by("-due_date")
        .values_list("due_date", flat=True)
        .first(),
    ]
    present = [d for d in dates if d is not None]
    return max(present) if present else None


def card_valid_through(*, expiry_month: int, expiry_year: int) -> datetime.date:
    """A card is valid until the last day of its expiry month."""
    return datetime.date(expiry_year, expiry_month, calendar.monthrange(expiry_year, expiry_month)[1])


def current_card(schedule: Schedule) -> Card | None:
    return schedule.cards.filter(replaced_at__isnull=True).first()


# --- Changing a schedule (the caller holds the lock, in its transaction) -------------------------


def schedule_status_refresh(schedule: Schedule) -> str:
    """Derives the status from the instalments and plans (a cancelled schedule stays cancelled)."""
    if schedule.status == ScheduleStatus.CANCELLED:
        return schedule.status
    statuses = set(schedule.instalments.values_list("status", flat=True))
    if InstalmentStatus.UNPAID in statuses:
        regularising = schedule.regularisations.filter(status=RegularisationStatus.ACTIVE).exists()
        status = ScheduleStatus.REGULARISING if regularising else ScheduleStatus.UNPAID
    elif InstalmentStatus.IN_PROGRESS in statuses:
        status = ScheduleStatus.IN_PROGRESS
    else:
        status = ScheduleStatus.COMPLETED
    if status != schedule.status:
        schedule.status = status
        schedule.updated_at = timezone.now()
        schedule.save(update_fields=["status", "updated_at"])
    return status


def instalment_settle(*, schedule: Schedule, instalment: Instalment, succeeded: bool) -> None:
    """A debit's answer: the instalment is paid, or unpaid (and so is the schedule)."""
    instalment.status = InstalmentStatus.PAID if succeeded else InstalmentStatus.UNPAID
    instalment.paid_at = timezone.now() if succeeded else None
    instalment.save(update_fields=["status", "paid_at"])
    schedule_status_refresh(schedule)


def regularisation_credit_apply(schedule: Schedule) -> None:
    """Turns the regularisation credit into paid instalments, oldest first, each once covered in full."""
    credit = schedule.regularisation_credit
    now = timezone.now()
    for instalment in schedule.instalments.filter(status=InstalmentStatus.UNPAID).order_by(
        "due_date", "number"
    ):
        if instalment.amount > credit:
            break
        credit -= instalment.amount
        instalment.status = InstalmentStatus.PAID
        instalment.paid_at = now
        instalment.save(update_fields=["status", "paid_at"])
    if credit != schedule.regularisation_credit:
        schedule.regularisation_credit = credit
        schedule.save(update_fields=["regularisation_credit"])


def regularisation_part_settle(*, schedule: Schedule, part: RegularisationPart, succeeded: bool) -> None:
    """A regularisation payment's answer.

    Paid: it adds to the credit, which pays the unpaid instalments it covers; the plan is completed
    with its last part. Refused: the plan fails, its remaining payments are dropped, and the
    schedule is unpaid again for what is still due.
    """
    plan = part.plan
    now = timezone.now()
    if succeeded:
        part.status, part.paid_at = InstalmentStatus.PAID, now
        part.save(update_fields=["status", "paid_at"])
        schedule.regularisation_credit += part.amount
        schedule.save(update_fields=["regularisation_credit"])
        if plan.status == RegularisationStatus.PENDING:
            plan.status = RegularisationStatus.ACTIVE
        if not plan.parts.exclude(status=InstalmentStatus.PAID).exists():
            plan.status, plan.completed_at = RegularisationStatus.COMPLETED, now
        plan.save(update_fields=["status", "completed_at"])
        regularisation_credit_apply(schedule)
    else:
        part.status = InstalmentStatus.UNPAID
        part.save(update_fields=["status"])
        plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).update(status=InstalmentStatus.DELETED)
        plan.status = RegularisationStatus.FAILED
        plan.save(update_fields=["status"])
    schedule_status_refresh(schedule)
