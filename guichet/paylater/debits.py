"""Daily debit runs: every instalment (and regularisation payment) due is presented to the payment
provider with the schedule's current card; the reminders that go out a few days before.

A run may be repeated or killed at any moment, and nothing is charged twice or skipped, because of
the order of its steps, chunk by chunk:

1. **claim** (one transaction): up to ``GUICHET_PAYLATER_DEBIT_CHUNK`` instalments due and without a
   payment are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (concurrent runs and workers take
   different rows and never wait for each other), and one ``Payment`` per instalment is written,
   *pending*, under the unique idempotency key ``debit-<instalment id>`` (``reg-<part id>`` for a
   regularisation payment). COMMIT. From now on the instalment has a payment: no run claims it again.
2. **charge**: ``gateway().charge_many`` with those keys, outside any transaction.
3. **settle** (one transaction): the schedules are locked in id order (so two settling transactions
   never deadlock), each payment still pending takes the provider's answer, each instalment becomes
   paid or unpaid, and each schedule with a refusal gets one notice (e-mail and SMS, with the link to
   regularise).

A run killed between 1 and 3 leaves pending payments: the next run asks the provider again *with the
same keys* before claiming anything new (``_pending_recover``); the provider answers the result it
recorded the first time, or charges now if the first request never reached it. An answer lost to a
time-out (``ProviderUnavailable``) leaves the payment pending the same way. Settling checks that the
payment is still pending under the schedule's lock, so two runs answering the same payment (or the
provider's notification, ``payment_reconcile``) apply it once.
"""

import dataclasses
import datetime
import logging
import multiprocessing
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from guichet.audit.services import record
from guichet.notifications.exceptions import NotificationError
from guichet.notifications.services import notify
from guichet.paylater import schedules
from guichet.paylater.gateway import ChargeRequest, ChargeResult, ProviderUnavailable, gateway
from guichet.paylater.models import (
    Card,
    Instalment,
    InstalmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    RegularisationPart,
    RegularisationStatus,
    Schedule,
    ScheduleStatus,
)

logger = logging.getLogger(__name__)

DEBIT_KEY = "debit-"
PART_KEY = "reg-"
NO_CARD = "no_card"
FAILURE_TEMPLATE = "paylater_debit_failed"
REMINDER_TEMPLATE = "paylater_debit_reminder"


@dataclasses.dataclass
class RunReport:
    """What a run did: ``presented`` charges (new ones and pending ones asked again), of which ``paid``,
    ``refused`` and ``left_pending`` (no answer from the provider: asked again by the next run)."""

    presented: int = 0
    paid: int = 0
    refused: int = 0
    left_pending: int = 0

    def add(self, other: "RunReport") -> "RunReport":
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self


@dataclasses.dataclass(frozen=True)
class _Item:
    """One pending payment to present: its instalment (or regularisation part) and its request."""

    payment_id: int
    schedule_id: int
    kind: str
    instalment_id: int | None
    part_id: int | None
    request: ChargeRequest | None  # None: the schedule has no card, nothing to ask the provider


def chunk_size() -> int:
    return settings.GUICHET_PAYLATER_DEBIT_CHUNK


# --- The run ---------------------------------------------------------------------------------------


def debit_run(*, on: datetime.date, workers: int = 1, limit: int | None = None) -> RunReport:
    """Presents everything due on or before ``on``; safe to repeat, to kill, and to run concurrently.

    ``workers`` > 1 forks that many processes, each claiming chunks; ``limit`` caps how many new
    payments the run presents (the pending ones of an earlier run are always asked again first).
    """
    started = timezone.now()
    _nothing_to_charge_settle(on=on)
    report = _pending_recover(before=started, on=on)
    if workers <= 1:
        return report.add(_claim_loop(on=on, limit=limit))
    shares = _limit_shares(limit, workers)
    connections.close_all()  # a forked child must open its own connection, never share the parent's
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for part in pool.starmap(_worker, [(on, share) for share in shares]):
            report.add(part)
    return report


def _limit_shares(limit: int | None, workers: int) -> list[int | None]:
    if limit is None:
        return [None] * workers
    return [limit // workers + (1 if n < limit % workers else 0) for n in range(workers)]


def _worker(on: datetime.date, limit: int | None) -> RunReport:
    """A forked worker: claims chunks until none is left, then closes its connection."""
    try:
        return _claim_loop(on=on, limit=limit)
    finally:
        connections.close_all()


def _claim_loop(*, on: datetime.date, limit: int | None) -> RunReport:
    """Claims and presents chunks until nothing is left. The chunks skip rows another transaction has
    locked (another worker's claim, most of the time); the last claim waits for such locks instead, so
    a row held by something else (a cancellation being written) is not passed over until tomorrow."""
    report = RunReport()
    while limit is None or report.presented < limit:
        size = chunk_size() if limit is None else min(chunk_size(), limit - report.presented)
        items = _claim(on=on, size=size, skip_locked=True) or _claim(on=on, size=size, skip_locked=False)
        if not items:
            break
        report.add(_present(items, on=on))
    return report


def _claim(*, on: datetime.date, size: int, skip_locked: bool) -> list[_Item]:
    return _instalments_claim(on=on, size=size, skip_locked=skip_locked) or _parts_claim(
        on=on, size=size, skip_locked=skip_locked
    )


def _present(items: list[_Item], *, on: datetime.date) -> RunReport:
    """Charges the claimed (already committed) payments, then settles the answers in one transaction."""
    answers = _charge(items)
    report = RunReport(
        presented=len(items), left_pending=sum(1 for i in items if i.payment_id not in answers)
    )
    if answers:
        settled = _settle(items, answers, on=on)
        report.paid, report.refused = settled.paid, settled.refused
    if report.left_pending:
        logger.warning(
            "debit run %s: %d payment(s) left pending (provider unavailable)", on, report.left_pending
        )
    return report


def _nothing_to_charge_settle(*, on: datetime.date) -> None:
    """Instalments brought down to zero by a cancellation: paid without asking the provider for 0."""
    rows = (
        Instalment.objects.filter(status=InstalmentStatus.IN_PROGRESS, due_date__lte=on, amount=0)
        .order_by("schedule_id", "pk")
        .values_list("pk", "schedule_id")
    )
    for pk, schedule_id in list(rows):
        with transaction.atomic():
            schedule = schedules.schedule_lock(schedule_id)
            instalment = Instalment.objects.filter(pk=pk, status=InstalmentStatus.IN_PROGRESS).first()
            if instalment is not None:
                schedules.instalment_settle(schedule=schedule, instalment=instalment, succeeded=True)


# --- 1. Claim --------------------------------------------------------------------------------------


def _card_column(name: str) -> Subquery:
    """The schedule's current card's ``name`` (token or id), for the claim queries."""
    return Subquery(
        Card.objects.filter(schedule_id=OuterRef("schedule_id"), replaced_at__isnull=True).values(name)[:1]
    )


def _instalments_claim(*, on: datetime.date, size: int, skip_locked: bool = True) -> list[_Item]:
    """Locks up to ``size`` instalments due and not yet presented, writes their pending payments, commits."""
    with transaction.atomic():
        rows = list(
            Instalment.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .filter(status=InstalmentStatus.IN_PROGRESS, due_date__lte=on, amount__gt=0)
            .exclude(Exists(Payment.objects.filter(instalment_id=OuterRef("pk"))))
            .annotate(card_id=_card_column("pk"), token=_card_column("token"))
            # Oldest first, which is also what makes PostgreSQL walk the partial index of instalments
            # in progress by due date: unordered, it may scan the primary key from the start and
            # re-read every instalment already paid, at each chunk (quadratic over a run).
            .order_by("due_date")
            .values_list("pk", "schedule_id", "amount", "schedule__order__currency", "card_id", "token")[
                :size
            ]
        )
        if not rows:
            return []
        # Written since this statement's snapshot by a run that held the row just before us (its
        # commit released the lock we then took): this read sees every committed payment.
        taken = set(
            Payment.objects.filter(instalment_id__in=[r[0] for r in rows]).values_list(
                "instalment_id", flat=True
            )
        )
        rows = [r for r in rows if r[0] not in taken]
        now = timezone.now()
        payments = Payment.objects.bulk_create(
            Payment(
                schedule_id=schedule_id,
                kind=PaymentKind.DEBIT,
                instalment_id=pk,
                amount=amount,
                currency=currency,
                card_id=card_id,
                idempotency_key=f"{DEBIT_KEY}{pk}",
                created_at=now,
            )
            for pk, schedule_id, amount, currency, card_id, _token in rows
        )
    return [
        _Item(
            payment_id=payment.pk,
            schedule_id=payment.schedule_id,
            kind=PaymentKind.DEBIT,
            instalment_id=payment.instalment_id,
            part_id=None,
            request=_request(payment, token),
        )
        for payment, (*_, token) in zip(payments, rows, strict=True)
    ] or _instalments_claim(on=on, size=size, skip_locked=skip_locked)


def _parts_claim(*, on: datetime.date, size: int, skip_locked: bool = True) -> list[_Item]:
    """The same for the regularisation payments due of plans being paid (the first one is charged at
    once by the regularisation itself, never by a run)."""
    with transaction.atomic():
        rows = list(
            RegularisationPart.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .filter(
                status=InstalmentStatus.IN_PROGRESS,
                due_date__lte=on,
                plan__status=RegularisationStatus.ACTIVE,
            )
            .exclude(Exists(Payment.objects.filter(regularisation_part_id=OuterRef("pk"))))
            .order_by("due_date")
            .values_list("pk", "plan__schedule_id", "amount", "plan__schedule__order__currency")[:size]
        )
        if not rows:
            return []
        taken = set(
            Payment.objects.filter(regularisation_part_id__in=[r[0] for r in rows]).values_list(
                "regularisation_part_id", flat=True
            )
        )
        rows = [r for r in rows if r[0] not in taken]
        cards = dict(
            Card.objects.filter(schedule_id__in={r[1] for r in rows}, replaced_at__isnull=True).values_list(
                "schedule_id", "pk"
            )
        )
        tokens = dict(Card.objects.filter(pk__in=cards.values()).values_list("pk", "token"))
        now = timezone.now()
        payments = Payment.objects.bulk_create(
            Payment(
                schedule_id=schedule_id,
                kind=PaymentKind.REGULARISATION,
                regularisation_part_id=pk,
                amount=amount,
                currency=currency,
                card_id=cards.get(schedule_id),
                idempotency_key=f"{PART_KEY}{pk}",
                created_at=now,
            )
            for pk, schedule_id, amount, currency in rows
        )
    return [
        _Item(
            payment_id=payment.pk,
            schedule_id=payment.schedule_id,
            kind=PaymentKind.REGULARISATION,
            instalment_id=None,
            part_id=payment.regularisation_part_id,
            request=_request(payment, tokens.get(payment.card_id, "")),
        )
        for payment in payments
    ] or _parts_claim(on=on, size=size, skip_locked=skip_locked)


def _request(payment: Payment, token: str | None) -> ChargeRequest | None:
    if not token:
        return None
    return ChargeRequest(
        token=token,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        description=f"Payment {payment.idempotency_key}",
    )


# --- Pending payments of an earlier run ---------------------------------------------------------


def _pending_recover(*, before: datetime.datetime, on: datetime.date) -> RunReport:
    """Asks the provider again, with the same keys, for the payments a killed run (or a time-out) left
    pending; the provider answers what it recorded, so nothing is charged twice."""
    report = RunReport()
    last = 0
    while True:
        payments = list(
            Payment.objects.filter(
                status=PaymentStatus.PENDING,
                kind__in=(PaymentKind.DEBIT, PaymentKind.REGULARISATION),
                created_at__lt=before,
                pk__gt=last,
            )
            .select_related("card", "regularisation_part")
            .order_by("pk")[: chunk_size()]
        )
        if not payments:
            return report
        last = payments[-1].pk
        items = []
        for payment in payments:
            if _first_part(payment):
                report.add(_first_part_reconcile(payment))
            else:
                items.append(_item_of(payment))
        if items:
            report.add(_present(items, on=on))


def _first_part(payment: Payment) -> bool:
    """A regularisation's first payment: charged with the card entered for the plan, which the
    regularisation applies only once accepted; it settles that payment itself."""
    part = payment.regularisation_part
    return part is not None and part.number == 1 and payment.card_id is None


def _first_part_reconcile(payment: Payment) -> RunReport:
    from guichet.paylater.regularisation import regularisation_first_payment_reconcile

    # It catches a lost answer itself: the payment then stays pending.
    regularisation_first_payment_reconcile(idempotency_key=payment.idempotency_key)
    status = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).first()
    return RunReport(
        presented=1,
        paid=int(status == PaymentStatus.SUCCEEDED),
        refused=int(status == PaymentStatus.FAILED),
        left_pending=int(status == PaymentStatus.PENDING),
    )


def _item_of(payment: Payment) -> _Item:
    return _Item(
        payment_id=payment.pk,
        schedule_id=payment.schedule_id,
        kind=payment.kind,
        instalment_id=payment.instalment_id,
        part_id=payment.regularisation_part_id,
        request=_request(payment, payment.card.token if payment.card else None),
    )


def payment_reconcile(*, idempotency_key: str) -> None:
    """A payment left pending, asked again to the provider with its key and settled; nothing if it is
    already settled or unknown. For the provider's ``charge.settled`` notification (and operators)."""
    payment = (
        Payment.objects.filter(idempotency_key=idempotency_key)
        .select_related("card", "regularisation_part")
        .first()
    )
    if payment is None or payment.status != PaymentStatus.PENDING:
        return
    if _first_part(payment):
        _first_part_reconcile(payment)
        return
    if payment.kind == PaymentKind.REFUND:
        _refund_reconcile(payment)
        return
    item = _item_of(payment)
    answers = _charge([item])
    if answers:
        _settle([item], answers, on=timezone.localdate(payment.created_at))


def _refund_reconcile(payment: Payment) -> None:
    """A refund to the card left pending: asked again with its key; only the payment changes."""
    if payment.card is None:
        return
    try:
        result = gateway().refund(_request(payment, payment.card.token))
    except ProviderUnavailable:
        return
    with transaction.atomic():
        schedules.schedule_lock(payment.schedule_id)
        if Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).exists():
            _payments_update([(payment.pk, result)])


# --- 2. Charge -------------------------------------------------------------------------------------


def _charge(items: list[_Item]) -> dict[int, ChargeResult]:
    """The provider's answers by payment id; a payment without an answer stays pending. A schedule
    without a card is refused here (reason "no_card"), without asking the provider."""
    answers = {
        item.payment_id: ChargeResult(idempotency_key="", succeeded=False, reference="", reason=NO_CARD)
        for item in items
        if item.request is None
    }
    asked = {item.request.idempotency_key: item.payment_id for item in items if item.request is not None}
    if not asked:
        return answers
    try:
        results = gateway().charge_many([item.request for item in items if item.request is not None])
    except ProviderUnavailable:
        return answers
    for result in results:
        if result is not None and result.idempotency_key in asked:
            answers[asked[result.idempotency_key]] = result
    return answers


# --- 3. Settle -------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Settled:
    paid: int = 0
    refused: int = 0


def _settle(items: list[_Item], answers: dict[int, ChargeResult], *, on: datetime.date) -> _Settled:
    """Applies the answers in one transaction, schedules locked in id order; a payment settled since
    (another run, a notification) is left alone."""
    answered = [item for item in items if item.payment_id in answers]
    with transaction.atomic():
        statuses = dict(
            Schedule.objects.select_for_update(of=("self",))
            .filter(pk__in={item.schedule_id for item in answered})
            .order_by("pk")
            .values_list("pk", "status")
        )
        pending = set(
            Payment.objects.filter(
                pk__in=[item.payment_id for item in answered], status=PaymentStatus.PENDING
            ).values_list("pk", flat=True)
        )
        answered = [item for item in answered if item.payment_id in pending]
        if not answered:
            return _Settled()
        _payments_update([(item.payment_id, answers[item.payment_id]) for item in answered])
        fast = [
            item
            for item in answered
            if item.kind == PaymentKind.DEBIT
            and answers[item.payment_id].succeeded
            and statuses[item.schedule_id] == ScheduleStatus.IN_PROGRESS
        ]
        _instalments_paid(fast)
        fast_ids = {item.payment_id for item in fast}
        slow = [item for item in answered if item.payment_id not in fast_ids]
        failed = _one_by_one(slow, answers)
        _failure_notices(failed, answers=answers, on=on)
        refused = sum(1 for item in answered if not answers[item.payment_id].succeeded)
        settled = _Settled(paid=len(answered) - refused, refused=refused)
        record(
            action="paylater.debits_settled",
            target=f"debit run {on.isoformat()}",
            details={
                "date": on.isoformat(),
                "paid": settled.paid,
                "refused": settled.refused,
                "refused_payments": sorted(item.payment_id for item in failed),
            },
        )
    return settled


def _payments_update(outcomes: list[tuple[int, ChargeResult]]) -> None:
    """Each payment takes its answer, in one statement (on PostgreSQL a join with the answers as arrays:
    Django's ``bulk_update`` builds a CASE per row and field, which cost most of a chunk's time)."""
    now = timezone.now()
    payments = [
        Payment(
            pk=payment_id,
            status=PaymentStatus.SUCCEEDED if result.succeeded else PaymentStatus.FAILED,
            provider_reference=result.reference[:100],
            reason="" if result.succeeded else result.reason[:40],
            settled_at=now,
        )
        for payment_id, result in outcomes
    ]
    if connection.vendor != "postgresql":
        Payment.objects.bulk_update(payments, ["status", "provider_reference", "reason", "settled_at"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Payment._meta.db_table} AS p "  # noqa: S608 (the model's own table name)
            "SET status = a.status, provider_reference = a.reference, reason = a.reason, settled_at = %s "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) "
            "AS a(id, status, reference, reason) WHERE p.id = a.id",
            [
                now,
                [p.pk for p in payments],
                [p.status for p in payments],
                [p.provider_reference for p in payments],
                [p.reason for p in payments],
            ],
        )


def _instalments_paid(items: list[_Item]) -> None:
    """The bulk form of ``schedules.instalment_settle(succeeded=True)`` for schedules in progress (the
    usual case, a million a day): the instalments are paid, and a schedule whose last debit it was is
    completed, which is what ``schedule_status_refresh`` derives for a schedule without unpaid
    instalments. Anything else goes through ``instalment_settle`` one by one."""
    if not items:
        return
    now = timezone.now()
    Instalment.objects.filter(
        pk__in=[item.instalment_id for item in items], status=InstalmentStatus.IN_PROGRESS
    ).update(status=InstalmentStatus.PAID, paid_at=now)
    touched = {item.schedule_id for item in items}
    still_open = set(
        Instalment.objects.filter(
            schedule_id__in=touched, status__in=(InstalmentStatus.IN_PROGRESS, InstalmentStatus.UNPAID)
        )
        .order_by()
        .values_list("schedule_id", flat=True)
        .distinct()
    )
    if finished := touched - still_open:
        Schedule.objects.filter(pk__in=finished, status=ScheduleStatus.IN_PROGRESS).update(
            status=ScheduleStatus.COMPLETED, updated_at=now
        )


def _one_by_one(items: list[_Item], answers: dict[int, ChargeResult]) -> list[_Item]:
    """Refusals, regularisation payments and schedules not simply in progress, through the schedule
    functions (the caller holds the locks); answers the refused items."""
    if not items:
        return []
    locked = Schedule.objects.select_related("order").in_bulk({item.schedule_id for item in items})
    instalments = Instalment.objects.in_bulk([item.instalment_id for item in items if item.instalment_id])
    parts = RegularisationPart.objects.select_related("plan").in_bulk(
        [item.part_id for item in items if item.part_id]
    )
    failed = []
    for item in items:
        succeeded = answers[item.payment_id].succeeded
        schedule = locked[item.schedule_id]
        if item.instalment_id is not None:
            instalment = instalments[item.instalment_id]
            if instalment.status != InstalmentStatus.IN_PROGRESS:
                logger.warning(
                    "payment %s answered for instalment %s no longer due", item.payment_id, instalment.pk
                )
                continue
            schedules.instalment_settle(schedule=schedule, instalment=instalment, succeeded=succeeded)
        else:
            part = parts[item.part_id]
            if part.status != InstalmentStatus.IN_PROGRESS:
                logger.warning(
                    "payment %s answered for a regularisation payment no longer due", item.payment_id
                )
                continue
            schedules.regularisation_part_settle(schedule=schedule, part=part, succeeded=succeeded)
        if not succeeded:
            failed.append(item)
    return failed


# --- Notices -----------------------------------------------------------------------------------------


def regularise_url(schedule: Schedule) -> str:
    """The absolute link to regularise ``schedule``, in its customer's language (sent by a worker,
    without a request: ``GUICHET_PUBLIC_URL``)."""
    base = settings.GUICHET_PUBLIC_URL.rstrip("/")
    language = schedule.order.customer.preferred_language or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            return base + reverse("paylater:regularise", args=[schedule.pk])
    except NoReverseMatch:
        logger.error("paylater:regularise cannot be reversed: the failure notice has no link")
        return ""


def _failure_notices(failed: list[_Item], *, answers: dict[int, ChargeResult], on: datetime.date) -> None:
    """One e-mail and one SMS per schedule with a refusal in this run (the key makes a repeated or
    restarted run, or a second refusal of the same schedule, send nothing more)."""
    by_schedule: dict[int, list[_Item]] = defaultdict(list)
    for item in failed:
        by_schedule[item.schedule_id].append(item)
    if not by_schedule:
        return
    locked = Schedule.objects.select_related("order__merchant", "order__customer").in_bulk(by_schedule)
    amounts = dict(
        Payment.objects.filter(pk__in=[item.payment_id for item in failed]).values_list("pk", "amount")
    )
    for schedule_id, items in sorted(by_schedule.items()):
        schedule = locked[schedule_id]
        context = _failure_context(
            schedule,
            refused=sum((amounts[item.payment_id] for item in items), Decimal("0.00")),
            reason=answers[items[0].payment_id].reason,
        )
        _notify_each_channel(
            template=FAILURE_TEMPLATE,
            context=context,
            schedule=schedule,
            key=f"paylater-debit-failed:{schedule_id}:{on.isoformat()}",
            sms=True,
        )


def _failure_context(schedule: Schedule, *, refused: Decimal, reason: str) -> dict[str, Any]:
    order = schedule.order
    return {
        "order_number": order.number,
        "merchant": order.merchant.name,
        "amount": refused,
        "amount_due": schedules.amount_due(schedule),
        "currency": order.currency,
        "reason": reason,
        "url": regularise_url(schedule),
        "collections_phone": settings.GUICHET_COLLECTIONS_PHONE,
    }


def _notify_each_channel(
    *, template: str, context: dict[str, Any], schedule: Schedule, key: str, sms: bool
) -> None:
    """The e-mail to the order's address, and the SMS to its phone if there is one. A bad address
    (refused by ``notify`` before anything is written) is logged, never a reason to undo the debits."""
    order = schedule.order
    channels = [("email", {"email": order.email})]
    if sms and order.phone:
        channels.append(("sms", {"phone": order.phone}))
    for channel, recipient in channels:
        try:
            notify(
                template=template,
                context=context,
                user=order.customer,
                channels=(channel,),
                idempotency_key=key,
                **recipient,
            )
        except NotificationError as error:
            logger.warning("schedule %s: %s notice not sent (%s)", schedule.pk, channel, error)


# --- Reminders ---------------------------------------------------------------------------------------


def reminders_send(*, on: datetime.date) -> int:
    """One e-mail per instalment due in the next ``GUICHET_PAYLATER_REMINDER_DAYS`` days (3: the
    reminder goes out three days before), once: ``reminded_at`` is set in the same transaction as the
    e-mail is queued. The window, rather than the exact day, catches up on a day the job did not run.
    Answers how many were queued."""
    until = on + datetime.timedelta(days=settings.GUICHET_PAYLATER_REMINDER_DAYS)
    sent = last = 0
    while batch := _reminders_batch(on=on, until=until, after=last):
        sent += len(batch)
        last = batch[-1]
    return sent


def _reminders_batch(*, on: datetime.date, until: datetime.date, after: int) -> list[int]:
    """The next batch by id (a reminded instalment stays in progress: without the ``after`` bound each
    batch would re-read all those already reminded). Rows are locked in id order without skipping: a
    concurrent run waits, then finds them reminded, and none is passed over."""
    with transaction.atomic():
        instalments = list(
            Instalment.objects.select_for_update(of=("self",))
            .filter(
                pk__gt=after,
                status=InstalmentStatus.IN_PROGRESS,
                due_date__gt=on,
                due_date__lte=until,
                reminded_at__isnull=True,
            )
            .exclude(schedule__status=ScheduleStatus.CANCELLED)
            .select_related("schedule__order__merchant", "schedule__order__customer")
            .order_by("pk")[: chunk_size()]
        )
        if not instalments:
            return []
        last4 = dict(
            Card.objects.filter(
                schedule_id__in={i.schedule_id for i in instalments}, replaced_at__isnull=True
            ).values_list("schedule_id", "last4")
        )
        for instalment in instalments:
            _reminder(instalment, last4=last4.get(instalment.schedule_id, ""))
        ids = [i.pk for i in instalments]
        Instalment.objects.filter(pk__in=ids).update(reminded_at=timezone.now())
    return ids


def _reminder(instalment: Instalment, *, last4: str) -> None:
    schedule = instalment.schedule
    order = schedule.order
    _notify_each_channel(
        template=REMINDER_TEMPLATE,
        context={
            "order_number": order.number,
            "merchant": order.merchant.name,
            "number": instalment.number,
            "amount": instalment.amount,
            "currency": order.currency,
            "due_date": instalment.due_date,
            "last4": last4,
            "url": _schedule_url(schedule),
        },
        schedule=schedule,
        key=f"paylater-debit-reminder:{instalment.pk}",
        sms=False,
    )


def _schedule_url(schedule: Schedule) -> str:
    base = settings.GUICHET_PUBLIC_URL.rstrip("/")
    try:
        with translation.override(schedule.order.customer.preferred_language or settings.LANGUAGE_CODE):
            return base + reverse("paylater:schedule", args=[schedule.pk])
    except NoReverseMatch:
        return ""


def pending_count(*, kinds: Iterable[str] = (PaymentKind.DEBIT, PaymentKind.REGULARISATION)) -> int:
    """Payments presented and still without an answer (for the command's summary and monitoring)."""
    return Payment.objects.filter(status=PaymentStatus.PENDING, kind__in=list(kinds)).count()
