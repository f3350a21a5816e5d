"""A merchant's cancellation of an order, in part or in full, and the readjustment of its schedule.

The rule (issue 8, "Partial or total cancellation"):

- **Partial**: the amount cancelled is spread evenly (``money.allocate``, the first carrying the
  remaining cents) over the instalments still to debit, each reduced at most to 0.00 (an instalment
  brought to 0.00 is deleted); what one cannot absorb is spread again over the others, until the
  amount is absorbed or none is left (``readjust``). What is still left reduces the unpaid
  instalments, the same way (the customer owes less), and only the rest is refunded to the card:
  a refund is never made of money the customer has not paid.
- **Total**: the instalments still to debit and the unpaid ones are deleted, the payments of a
  regularisation still to come dropped, the schedule cancelled, and everything paid (less earlier
  refunds) refunded to the card. Cancelling all that is left of the purchase is a total cancellation.

Either way the table as it was is first frozen into a ``ScheduleVersion`` (with the reason, the
amount cancelled and the card refund) and ``schedule.version`` goes up; the order's
``cancelled_amount`` grows; the refund is a ``Payment`` (kind refund, pending, key
``refund-<schedule>-v<version>``) sent to the provider by ``refunds.refund_send`` once committed;
the customer gets ``paylater_schedule_readjusted``; an audit event records it. All in one
transaction, the schedule locked first.

A merchant's ``reference`` (its credit note, say) makes the call idempotent: the same reference for
the same cancellation again answers the version it made, changing nothing; with another amount it is
refused as a conflict.
"""

import dataclasses
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from guichet.audit.models import AuditEvent
from guichet.audit.services import record
from guichet.identity.models import User
from guichet.notifications.services import notify
from guichet.paylater import schedules
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.intake import absolute_url
from guichet.paylater.models import (
    Instalment,
    InstalmentStatus,
    Order,
    OrderClient,
    Payment,
    PaymentKind,
    PaymentStatus,
    RegularisationPart,
    RegularisationStatus,
    Schedule,
    ScheduleStatus,
    ScheduleVersion,
    ScheduleVersionReason,
)
from guichet.paylater.money import CENT, allocate, cents, money_display

ZERO = Decimal("0.00")
AUDIT_ACTION = "paylater.order_cancelled"
TOTAL = "total"


class CancellationConflict(Exception):
    """The merchant's reference was already used for another cancellation of this order."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(reference)

    @property
    def message(self) -> str:
        return _("This cancellation reference was already used for another cancellation of this order.")


@dataclasses.dataclass(frozen=True)
class Plan:
    """A readjustment worked out: the new amount of each instalment changed, and the card refund."""

    amounts: dict[int, Decimal]  # instalment pk → new amount (0.00: deleted)
    card_refund: Decimal
    # Regularisation credit no longer owed once the unpaid instalments are reduced: part of card_refund.
    credit_refund: Decimal = Decimal("0.00")


def readjust(amounts: list[Decimal], cancelled: Decimal) -> tuple[list[Decimal], Decimal]:
    """``amounts`` reduced by ``cancelled`` spread evenly, none below 0.00, and what they could not
    absorb. Each round allocates what is left over the amounts still above zero; a round either
    absorbs it all or brings at least one amount to zero, so it ends."""
    new = [cents(amount) for amount in amounts]
    left = cents(cancelled)
    while left > 0:
        open_ = [index for index, amount in enumerate(new) if amount > 0]
        if not open_:
            break
        for index, share in zip(open_, allocate(left, len(open_)), strict=True):
            taken = min(share, new[index])
            new[index] -= taken
            left -= taken
    return new, left


def order_cancel(
    *,
    order: Order,
    amount: Decimal | None,
    reference: str = "",
    acting_user: User | None = None,
    client: OrderClient | None = None,
    request: HttpRequest | None = None,
) -> ScheduleVersion:
    """Cancels ``amount`` of ``order`` (None: all of it) and readjusts its schedule; answers the version
    frozen (the table as it was). Raises ``PaylaterError`` (CANCEL_AMOUNT, ORDER_CANCELLED) or
    ``CancellationConflict``."""
    reference = (reference or "").strip()[:100]
    with transaction.atomic():
        schedule = schedules.schedule_lock(order.schedule.pk)
        order = Order.objects.select_related("merchant", "customer").get(pk=schedule.order_id)
        if reference and (earlier := _earlier(order, reference, amount)) is not None:
            return earlier
        _in_flight_refuse(schedule)
        left = order.purchase_amount - order.cancelled_amount
        if schedule.status == ScheduleStatus.CANCELLED or left <= 0:
            raise PaylaterError(PaylaterErrorCode.ORDER_CANCELLED)
        amount = _amount_checked(amount, left=left, currency=order.currency)
        total = amount is None or amount == left
        cancelled = left if total else amount
        before = _table(schedule)
        plan = _total_plan(schedule) if total else _partial_plan(schedule, cancelled)
        version = _freeze(schedule, before, total=total, cancelled=cancelled, card_refund=plan.card_refund)
        _apply(schedule, plan, total=total)
        order.cancelled_amount += cancelled
        order.save(update_fields=["cancelled_amount"])
        refund = _refund_create(schedule, version, plan.card_refund)
        _notify(schedule, version, before=before, request=request)
        record(
            action=AUDIT_ACTION,
            actor=acting_user,
            target=order,
            request=request,
            details={
                "reference": reference,
                "requested": _requested(amount),
                "kind": version.reason,
                "cancelled": str(cancelled),
                "card_refund": str(plan.card_refund),
                "refund_payment": refund.pk if refund else None,
                "version": version.number,
                "client": client.name if client else "",
            },
        )
    return version


def _earlier(order: Order, reference: str, amount: Decimal | None) -> ScheduleVersion | None:
    """The version made by an earlier cancellation with this reference (the same request again), or
    None; another amount under the same reference is a conflict."""
    event = (
        AuditEvent.objects.filter(
            action=AUDIT_ACTION,
            target_type=Order._meta.label_lower,
            target_id=str(order.pk),
            details__reference=reference,
        )
        .order_by("seq")
        .first()
    )
    if event is None:
        return None
    if event.details.get("requested") != _requested(amount):
        raise CancellationConflict(reference)
    return ScheduleVersion.objects.get(schedule__order=order, number=event.details["version"])


def _requested(amount: Decimal | None) -> str:
    """What was asked, written the same however the amount was (20, 20.0 and 20.00 alike)."""
    if amount is None:
        return TOTAL
    try:
        return str(amount.quantize(Decimal("0.01")))
    except ArithmeticError:
        return str(amount)


def _amount_checked(amount: Decimal | None, *, left: Decimal, currency: str) -> Decimal | None:
    if amount is None:
        return None
    try:
        amount = cents(amount)
    except (ValueError, ArithmeticError):
        amount = ZERO
    if not ZERO < amount <= left:
        raise PaylaterError(PaylaterErrorCode.CANCEL_AMOUNT, amount=money_display(left, currency))
    return amount


def _table(schedule: Schedule) -> list[dict[str, Any]]:
    """The instalment table as ``ScheduleVersion.instalments`` keeps it."""
    return [
        {
            "number": instalment.number,
            "due_date": instalment.due_date.isoformat(),
            "amount": str(instalment.amount),
            "status": instalment.status,
        }
        for instalment in schedule.instalments.order_by("number")
    ]


def _partial_plan(schedule: Schedule, cancelled: Decimal) -> Plan:
    """Spread over the instalments still to debit, then over the unpaid ones; the rest to the card."""
    changed: dict[int, Decimal] = {}
    left = cancelled
    for status in (InstalmentStatus.IN_PROGRESS, InstalmentStatus.UNPAID):
        rows = list(schedule.instalments.filter(status=status).order_by("number").values_list("pk", "amount"))
        if not rows or left <= 0:
            continue
        amounts, left = readjust([amount for _pk, amount in rows], left)
        changed.update(
            {pk: new for (pk, old), new in zip(rows, amounts, strict=True) if new != old},
        )
    # What regularisation already paid beyond the unpaid instalments left is the customer's money.
    unpaid_after = sum(
        (
            changed.get(pk, amount)
            for pk, amount in schedule.instalments.filter(status=InstalmentStatus.UNPAID).values_list(
                "pk", "amount"
            )
        ),
        ZERO,
    )
    credit_refund = max(schedule.regularisation_credit - unpaid_after, ZERO)
    return Plan(amounts=changed, card_refund=left + credit_refund, credit_refund=credit_refund)


def _in_flight_refuse(schedule: Schedule) -> None:
    """Waits for a debit run's claim on this schedule to commit (and keeps new claims off it), then
    refuses while a charge is at the provider: its amount could no longer match the readjusted one."""
    list(
        schedule.instalments.select_for_update()
        .filter(status__in=(InstalmentStatus.IN_PROGRESS, InstalmentStatus.UNPAID))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        RegularisationPart.objects.select_for_update()
        .filter(plan__schedule=schedule, status=InstalmentStatus.IN_PROGRESS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if schedule.payments.filter(status=PaymentStatus.PENDING).exclude(kind=PaymentKind.REFUND).exists():
        raise PaylaterError(PaylaterErrorCode.PAYMENT_IN_FLIGHT)


def _total_plan(schedule: Schedule) -> Plan:
    """Everything still due deleted; everything paid, less earlier refunds, back to the card."""
    due = schedule.instalments.filter(status__in=(InstalmentStatus.IN_PROGRESS, InstalmentStatus.UNPAID))
    paid = schedule.instalments.filter(status=InstalmentStatus.PAID).aggregate(t=Sum("amount"))["t"] or ZERO
    refunded = schedule.versions.aggregate(t=Sum("card_refund"))["t"] or ZERO
    # SQLite sums decimals as floats: back to cents.
    refund = max(paid + schedule.regularisation_credit - refunded, ZERO).quantize(CENT)
    return Plan(amounts=dict.fromkeys(due.values_list("pk", flat=True), ZERO), card_refund=refund)


def _freeze(
    schedule: Schedule, before: list[dict[str, Any]], *, total: bool, cancelled: Decimal, card_refund: Decimal
) -> ScheduleVersion:
    version = ScheduleVersion.objects.create(
        schedule=schedule,
        number=schedule.version,
        instalments=before,
        reason=ScheduleVersionReason.TOTAL_CANCELLATION
        if total
        else ScheduleVersionReason.PARTIAL_CANCELLATION,
        cancelled_amount=cancelled,
        card_refund=card_refund,
    )
    schedule.version += 1
    schedule.updated_at = timezone.now()
    schedule.save(update_fields=["version", "updated_at"])
    return version


def _apply(schedule: Schedule, plan: Plan, *, total: bool) -> None:
    """Writes the new amounts (0.00 → deleted, keeping its former amount for the history when the
    whole instalment goes); a total cancellation also drops what a regularisation had still to charge
    and closes the schedule."""
    instalments = Instalment.objects.in_bulk(list(plan.amounts))
    for pk, new in plan.amounts.items():
        instalment = instalments[pk]
        if new == 0:
            instalment.status = InstalmentStatus.DELETED
        if new > 0 or not total:
            instalment.amount = new
        instalment.save(update_fields=["amount", "status"])
    if total:
        _regularisation_drop(schedule)
        schedule.status = ScheduleStatus.CANCELLED
        schedule.regularisation_credit = ZERO
        schedule.save(update_fields=["status", "regularisation_credit"])
    else:
        if plan.credit_refund:
            schedule.regularisation_credit -= plan.credit_refund
            schedule.save(update_fields=["regularisation_credit"])
        schedules.regularisation_credit_apply(schedule)
        _regularisation_resize(schedule)
        schedules.schedule_status_refresh(schedule)


def _regularisation_resize(schedule: Schedule) -> None:
    """A plan waiting for its first payment is dropped (the customer starts again with the new amount);
    the payments still to come of a plan under way are spread again over what is now due."""
    schedule.regularisations.filter(status=RegularisationStatus.PENDING).update(
        status=RegularisationStatus.FAILED
    )
    plan = schedule.regularisations.filter(status=RegularisationStatus.ACTIVE).first()
    if plan is None:
        return
    parts = list(plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).order_by("number"))
    due = schedules.amount_due(schedule)
    if due <= 0 or not parts:
        for part in parts:
            part.status = InstalmentStatus.DELETED
            part.save(update_fields=["status"])
        plan.status, plan.completed_at = RegularisationStatus.COMPLETED, timezone.now()
        plan.save(update_fields=["status", "completed_at"])
        return
    count = min(len(parts), int(due / CENT))
    for index, part in enumerate(parts):
        if index < count:
            part.amount = allocate(due, count)[index]
        else:
            part.status = InstalmentStatus.DELETED
        part.save(update_fields=["amount", "status"])


def _regularisation_drop(schedule: Schedule) -> None:
    open_plans = schedule.regularisations.filter(
        status__in=(RegularisationStatus.PENDING, RegularisationStatus.ACTIVE)
    )
    RegularisationPart.objects.filter(plan__in=open_plans, status=InstalmentStatus.IN_PROGRESS).update(
        status=InstalmentStatus.DELETED
    )
    open_plans.update(status=RegularisationStatus.FAILED)


def refund_key(schedule: Schedule, version: ScheduleVersion) -> str:
    return f"refund-{schedule.pk}-v{version.number}"


def _refund_create(schedule: Schedule, version: ScheduleVersion, amount: Decimal) -> Payment | None:
    """The refund to the card, pending; sent by a task once this transaction is committed (the task
    row is written in it, so the refund cannot be lost, and it is idempotent by its key)."""
    if amount <= 0:
        return None
    from guichet.paylater.refunds import refund_send

    payment = Payment.objects.create(
        schedule=schedule,
        kind=PaymentKind.REFUND,
        amount=amount,
        currency=schedule.order.currency,
        card=schedules.current_card(schedule),
        idempotency_key=refund_key(schedule, version),
        status=PaymentStatus.PENDING,
    )
    refund_send.enqueue(payment.pk)
    return payment


# --- The customer's e-mail ------------------------------------------------------------------------


def readjusted_rows(before: list[dict[str, Any]], schedule: Schedule) -> list[dict[str, Any]]:
    """The new table, each row with its former amount and status when they changed."""
    former = {row["number"]: row for row in before}
    rows = []
    for instalment in schedule.instalments.order_by("number"):
        old = former.get(instalment.number, {})
        old_amount = Decimal(old["amount"]) if old else instalment.amount
        rows.append(
            {
                "number": instalment.number,
                "due_date": instalment.due_date,
                "amount": instalment.amount,
                "status": instalment.status,
                "status_label": InstalmentStatus(instalment.status).label,
                "former_amount": old_amount,
                "changed": old_amount != instalment.amount or old.get("status") != instalment.status,
            }
        )
    return rows


def _notify(
    schedule: Schedule, version: ScheduleVersion, *, before: list[dict[str, Any]], request: HttpRequest | None
) -> None:
    order = schedule.order
    customer = order.customer
    language = customer.preferred_language or settings.LANGUAGE_CODE
    notify(
        template="paylater_schedule_readjusted",
        context={
            "first_name": customer.first_name,
            "merchant": order.merchant.name,
            "order_number": order.number,
            "currency": order.currency,
            "total": version.reason == ScheduleVersionReason.TOTAL_CANCELLATION,
            "cancelled_amount": version.cancelled_amount,
            "card_refund": version.card_refund,
            "card_last4": getattr(schedules.current_card(schedule), "last4", ""),
            "instalments": readjusted_rows(before, schedule),
            "url": absolute_url("paylater:schedule", language=language, request=request, args=(schedule.pk,)),
        },
        user=customer,
        email=order.email,
        language=language,
        idempotency_key=f"paylater_schedule_readjusted:{schedule.pk}:v{version.number}",
    )
