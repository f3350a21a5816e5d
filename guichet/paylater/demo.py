"""The pay-later part of the demo data (issue 8, seed 003), loaded by ``guichet.web.demo.load_demo``.

Two merchants, *Maison Lumière* and *Vélo Rapide*, and, for each demo consumer, the seed's three
schedules: one in progress (127.96 in 3, two instalments paid, the last one in 25 days: the card can
be changed), one completed, and one unpaid (238.77 in 3, the second and third debits refused for
insufficient funds: 159.18 due, ready to be regularised). ``PAYLATER_READY`` logs on with a password;
Camille Martin (``FIRST_LOGIN`` in ``web.demo``) has none yet and starts with "First login".

Every load deletes these orders and creates them again through ``schedules.order_create``, dated from
today, so a card changed or a schedule regularised during an earlier demo is back as documented and
the dates stay current. The cards on file are the sandbox provider's pre-registered tokens
(``sandbox.cards.PREREGISTERED_TOKENS``): no card page is needed to create them.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from guichet.paylater import schedules
from guichet.paylater.models import (
    Merchant,
    Order,
    OrderSource,
    Payment,
    PaymentKind,
    PaymentStatus,
    Schedule,
)
from guichet.paylater.sandbox.cards import PREREGISTERED_TOKENS, TEST_CARDS

MERCHANTS = {"maison-lumiere": "Maison Lumière", "velo-rapide": "Vélo Rapide"}
# The consumer with a password (a persona of web.demo), and the one who uses "First login".
PAYLATER_READY = "julien.moreau@example.com"
PAYLATER_FIRST_LOGIN = "camille.martin@example.com"
# e-mail -> (first name, last name, the digit ending their order numbers, mobile given at purchase: it
# receives the signing codes of card changes and regularisations).
CONSUMERS = {
    PAYLATER_READY: ("Julien", "Moreau", "1", "+32471223344"),
    PAYLATER_FIRST_LOGIN: ("Camille", "Martin", "2", "+32471556677"),
}
REFUSAL = "insufficient_funds"


@dataclasses.dataclass(frozen=True)
class DemoSchedule:
    """One order of each consumer: ``paid`` and ``refused`` are the instalments answered by past runs."""

    kind: str  # in_progress, completed, unpaid (what the load leaves it in)
    merchant: str
    number: str  # the consumer's digit is appended
    amount: Decimal
    count: int
    days_ago: int  # the purchase date
    paid: tuple[int, ...]
    refused: tuple[int, ...]
    token: str


def _interval() -> int:
    return settings.GUICHET_PAYLATER_INTERVAL_DAYS


def demo_schedules() -> list[DemoSchedule]:
    """The seed's three schedules, with dates from the configured interval (30 days by default)."""
    step = _interval()
    return [
        # The seed's screen: 42.66 paid at purchase, 42.65 paid, 42.65 to debit in 25 days.
        DemoSchedule("in_progress", "maison-lumiere", "ML-10010", Decimal("127.96"), 3, step + 5, (2,), (),
                     "tok_test_visa_4242"),
        DemoSchedule("completed", "velo-rapide", "VR-20020", Decimal("349.90"), 3, 3 * step + 10, (2, 3), (),
                     "tok_test_mastercard_4444"),
        # 79.59 paid at purchase, the next two refused: 159.18 due.
        DemoSchedule("unpaid", "maison-lumiere", "ML-10030", Decimal("238.77"), 3, 2 * step + 10, (), (2, 3),
                     "tok_test_insufficient_9995"),
    ]  # fmt: skip


def order_number(demo: DemoSchedule, email: str) -> str:
    return f"{demo.number}{CONSUMERS[email][2]}"


@transaction.atomic
def paylater_load() -> dict[str, list[Schedule]]:
    """The merchants, then each consumer's three schedules, deleted and created again."""
    merchants = {
        code: Merchant.objects.update_or_create(code=code, defaults={"name": name})[0]
        for code, name in MERCHANTS.items()
    }
    _orders_delete(merchants)
    loaded = {}
    for email in CONSUMERS:
        loaded[email] = [_schedule_load(demo, merchants[demo.merchant], email) for demo in demo_schedules()]
    return loaded


def _orders_delete(merchants: dict[str, Merchant]) -> None:
    """The demo's orders and everything hanging on them (payments first: they protect the rest)."""
    numbers = [order_number(demo, email) for demo in demo_schedules() for email in CONSUMERS]
    orders = Order.objects.filter(merchant__in=merchants.values(), number__in=numbers)
    Payment.objects.filter(schedule__order__in=orders).delete()
    Schedule.objects.filter(order__in=orders).delete()  # instalments, versions, cards, plans cascade
    orders.delete()


def _card(token: str) -> schedules.CardOnFile:
    known = PREREGISTERED_TOKENS[token]
    return schedules.CardOnFile(
        token=token,
        brand=known.brand,
        last4=known.last4,
        expiry_month=known.expiry_month,
        expiry_year=known.expiry_year,
    )


def _schedule_load(demo: DemoSchedule, merchant: Merchant, email: str) -> Schedule:
    first_name, last_name, _digit, phone = CONSUMERS[email]
    today = timezone.localdate()
    number = order_number(demo, email)
    order = schedules.order_create(
        merchant=merchant,
        number=number,
        email=email,
        purchased_on=today - datetime.timedelta(days=demo.days_ago),
        purchase_amount=demo.amount,
        fees=Decimal("0.00"),
        instalment_count=demo.count,
        source=OrderSource.DEMO,
        card=_card(demo.token),
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        language="fr",
    )
    schedule = schedules.schedule_lock(order.schedule.pk)
    card = schedules.current_card(schedule)
    for instalment in schedule.instalments.filter(number__in=demo.paid + demo.refused).order_by("number"):
        succeeded = instalment.number in demo.paid
        # What the debit run of that day left: the payment, then the instalment's answer.
        Payment.objects.create(
            schedule=schedule,
            kind=PaymentKind.DEBIT,
            instalment=instalment,
            amount=instalment.amount,
            currency=order.currency,
            card=card,
            idempotency_key=f"demo-{number}-{instalment.number}",
            status=PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED,
            provider_reference=f"sbx_demo_{number}_{instalment.number}",
            reason="" if succeeded else REFUSAL,
            created_at=timezone.now(),
            settled_at=timezone.now(),
        )
        schedules.instalment_settle(schedule=schedule, instalment=instalment, succeeded=succeeded)
    schedule.refresh_from_db()
    return schedule


# --- What ``make demo`` prints -------------------------------------------------------------------


def paylater_lines() -> list[str]:
    lines = [
        "Pay-later space (seed 003): /fr/paylater/ (merchants Maison Lumière and Vélo Rapide).",
    ]
    for email in CONSUMERS:
        how = (
            "logs on with the password above"
            if email == PAYLATER_READY
            else "uses First login (no password yet)"
        )
        lines.append(f"  {email} {how}:")
        for schedule in Schedule.objects.filter(
            order__email=email, order__source=OrderSource.DEMO
        ).select_related("order__merchant"):
            lines.append("    " + _schedule_line(schedule))
    lines.append(
        "  Debits are not scheduled by the demo's worker: run `python manage.py run_debits` (the debits "
        "due and the reminders), or with `--date YYYY-MM-DD` a month ahead to see the next debits."
    )
    lines += sandbox_cards_lines()
    return lines


def _schedule_line(schedule: Schedule) -> str:
    order = schedule.order
    due = schedules.amount_due(schedule)
    card = schedules.current_card(schedule)
    parts = [
        f"{order.number} at {order.merchant.name}: {order.purchase_amount} {order.currency} in "
        f"{order.instalment_count}, {schedule.get_status_display().lower()}",
    ]
    if due:
        parts.append(f"{due} {order.currency} due (Regularise)")
    next_debit = schedules.next_debit_date(schedule)
    if next_debit:
        cutoff = settings.GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS
        parts.append(f"next debit {next_debit.isoformat()} (card change open until {cutoff} days before)")
    if card:
        parts.append(
            f"card {card.get_brand_display()} •••• {card.last4} {card.expiry_month:02d}/{card.expiry_year}"
        )
    return ", ".join(parts)


def sandbox_cards_lines() -> list[str]:
    """The sandbox provider's test cards, typed on its card page (any name; expiry MM/YY in the future)."""
    lines = [
        "Sandbox payment provider: type one of these test numbers on its card page (any future expiry, "
        "MM/YY; an expiry before the schedule's last instalment is refused by Guichet):"
    ]
    width = max(len(card.number) for card in TEST_CARDS)
    with translation.override("en"):
        lines += [f"  {card.number:<{width}}  {card.description}" for card in TEST_CARDS]
    return lines
