"""Factories for tests of the pay-later space: merchants, orders with their schedule (through
``schedules.order_create``), and schedules made unpaid or finished by settling their instalments."""

import datetime
import itertools
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from guichet.identity.models import User
from guichet.identity.testing import PASSWORD
from guichet.paylater import schedules
from guichet.paylater.models import InstalmentStatus, Merchant, Order, OrderSource, Schedule

_counter = itertools.count(1)

# A Visa card on file that the sandbox provider charges successfully (see paylater.sandbox).
VISA = schedules.CardOnFile(
    token="tok_test_visa_4242",  # noqa: S106 (a sandbox test token, not a secret)
    brand="visa",
    last4="4242",
    expiry_month=12,
    expiry_year=2030,
)


def make_merchant(*, code: str = "maison-lumiere", name: str = "Maison Lumière") -> Merchant:
    return Merchant.objects.get_or_create(code=code, defaults={"name": name})[0]


def make_order(
    *,
    email: str = "camille.martin@example.com",
    merchant: Merchant | None = None,
    number: str | None = None,
    purchased_on: datetime.date | None = None,
    amount: Decimal = Decimal("127.96"),
    fees: Decimal = Decimal("0.00"),
    count: int = 3,
    card: schedules.CardOnFile | None = VISA,
    phone: str = "+32470123456",
    language: str = "fr",
) -> Order:
    """An order whose first instalment was paid at checkout; the others are still to debit."""
    return schedules.order_create(
        merchant=merchant or make_merchant(),
        number=number or f"CMD{next(_counter):08d}",
        email=email,
        phone=phone,
        purchased_on=purchased_on or timezone.localdate(),
        purchase_amount=amount,
        fees=fees,
        instalment_count=count,
        card=card,
        language=language,
        first_name="Camille",
        last_name="Martin",
        source=OrderSource.DEMO,
    )


def make_consumer_with_password(email: str = "camille.martin@example.com") -> User:
    """The consumer of ``email`` after "First login" (``PASSWORD``)."""
    user = User.objects.get(user_id=email.lower())
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def settle(order: Order, *numbers: int, paid: bool) -> Schedule:
    """Answers the debits of instalments ``numbers`` (paid or refused), as a debit run would."""
    with transaction.atomic():
        schedule = schedules.schedule_lock(order.schedule.pk)
        for instalment in schedule.instalments.filter(number__in=numbers):
            schedules.instalment_settle(schedule=schedule, instalment=instalment, succeeded=paid)
    schedule.refresh_from_db()
    return schedule


def make_unpaid_schedule(*, email: str = "camille.martin@example.com", **kwargs) -> Schedule:
    """The seed's unpaid schedule: 238.77 in 3 (79.59 each), the first paid, the next two refused:
    159.18 due. Its purchase was 70 days ago, so the debits are past."""
    order = make_order(
        email=email,
        amount=Decimal("238.77"),
        purchased_on=kwargs.pop("purchased_on", timezone.localdate() - datetime.timedelta(days=70)),
        **kwargs,
    )
    return settle(order, 2, 3, paid=False)


def make_completed_schedule(*, email: str = "camille.martin@example.com", **kwargs) -> Schedule:
    order = make_order(
        email=email,
        purchased_on=kwargs.pop("purchased_on", timezone.localdate() - datetime.timedelta(days=200)),
        **kwargs,
    )
    return settle(order, 2, 3, paid=True)


__all__ = ["PASSWORD", "VISA", "InstalmentStatus"]
