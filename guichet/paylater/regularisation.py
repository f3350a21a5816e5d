"""Regularising an unpaid schedule (seed 003, 4th step): pay it all now, or in 2 or 3 monthly payments,
the first one now, by a card entered on the payment provider's page.

The journey, each step signed or checked again on the server:

1. ``regularisation_options``: the amount due split by ``money.allocate`` (159.18 → 2 x 79.59, 3 x 53.06);
2. ``regularisation_operation``: what the customer signs (the amount due and the parts);
3. ``regularisation_start``: consumes the proof, writes the plan (PENDING) and its parts (the first
   today, then one every ``GUICHET_PAYLATER_INTERVAL_DAYS``), and sends the customer to the
   provider's card page;
4. ``regularisation_returned``: back from the provider, checks the card (Visa or Mastercard, valid
   until the last debit), then charges the first part under the key ``reg-<part id>``. The pending
   ``Payment`` is committed *before* the provider is called, so a lost answer is asked again with the
   same key and nothing is ever charged twice. Accepted: the part is paid and the card becomes the
   card on file; refused: the plan fails, with the provider's reason.

The other parts are charged by the debit runs (``paylater.debits``) on their date.
"""

import dataclasses
import enum
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.identity import signing
from guichet.identity.models import User
from guichet.notifications.services import notify
from guichet.paylater import cards, schedules
from guichet.paylater.errors import MESSAGES as PAYLATER_MESSAGES
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.gateway import ChargeRequest, ProviderUnavailable, gateway
from guichet.paylater.models import (
    CardSetup,
    CardSetupPurpose,
    CardSetupStatus,
    InstalmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    RegularisationPart,
    RegularisationPlan,
    RegularisationStatus,
    Schedule,
)
from guichet.paylater.money import CENT, allocate

COUNTS = (1, 2, 3)
KEY_PREFIX = "reg-"
EMAIL_TEMPLATE = "paylater_regularisation_accepted"


class RegularisationCode(enum.StrEnum):
    """Outcomes of this module that ``errors.PaylaterErrorCode`` does not name."""

    PAYMENT_PENDING = "payment_pending"
    PLAN_CLOSED = "plan_closed"


_MESSAGES: dict[str, Any] = {
    RegularisationCode.PAYMENT_PENDING: _(
        "The payment service has not answered yet about your payment of %(amount)s. Nothing will be "
        "charged twice: check again in a few minutes to see its result."
    ),
    RegularisationCode.PLAN_CLOSED: _(
        "This regularisation is no longer open: nothing was charged. Start again from your schedule."
    ),
}

# The provider's refusal codes (``ChargeResult.reason``), in words.
REFUSAL_REASONS: dict[str, Any] = {
    "declined": _("Your bank declined the payment."),
    "insufficient_funds": _("The funds available on the card are not sufficient."),
    "expired_card": _("The card has expired."),
    "brand_not_accepted": _("This card is not accepted: only Visa and Mastercard cards are."),
}
UNKNOWN_REASON = _("The payment service refused the payment.")


class RegularisationError(PaylaterError):
    """A ``PaylaterError`` that may also carry one of this module's own codes."""

    @property
    def message(self) -> str:
        text = str(_MESSAGES.get(self.code) or PAYLATER_MESSAGES[PaylaterErrorCode(self.code)])
        return text % self.params if self.params else text


@dataclasses.dataclass(frozen=True)
class Option:
    """Paying ``sum(amounts)`` in ``count`` payments: the first now, the next ones monthly."""

    count: int
    amounts: tuple[Decimal, ...]

    @property
    def first(self) -> Decimal:
        return self.amounts[0]

    @property
    def monthly(self) -> Decimal:
        """The amount of the later payments (the first may carry a few more cents)."""
        return self.amounts[-1]

    @property
    def even(self) -> bool:
        return len(set(self.amounts)) == 1


class OutcomeStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PENDING = "pending"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the customer reads back from the provider. ``reason`` is already in words."""

    status: OutcomeStatus
    schedule: Schedule
    plan: RegularisationPlan
    amount: Decimal
    currency: str
    completed: bool = False  # the unpaid amount is regularised in full
    reason: str = ""
    charged: bool = True  # False: refused before any charge (the card itself)

    @property
    def accepted(self) -> bool:
        return self.status == OutcomeStatus.ACCEPTED


# --- Options and the signed operation -----------------------------------------------------------


def regularisation_options(schedule: Schedule) -> list[Option]:
    """1, 2 or 3 payments of the amount due now; a count is offered only if each payment is a cent or more."""
    due = schedules.amount_due(schedule)
    return [
        Option(count=count, amounts=tuple(allocate(due, count))) for count in COUNTS if due >= CENT * count
    ]


def _option(schedule: Schedule, count: int) -> Option:
    for option in regularisation_options(schedule):
        if option.count == count:
            return option
    if schedules.amount_due(schedule) <= 0:
        raise RegularisationError(PaylaterErrorCode.NOTHING_DUE)
    raise RegularisationError(PaylaterErrorCode.REGULARISATION_COUNT)


def regularisation_operation(*, schedule: Schedule, count: int) -> signing.Operation:
    """What the customer signs: the amount due now and how it is split (language-neutral, so the same
    operation is computed again when the customer comes back from the signing page)."""
    option = _option(schedule, count)
    order = schedule.order
    parts = " + ".join(str(amount) for amount in option.amounts)
    return signing.Operation(
        kind="paylater_regularise",
        amount=sum(option.amounts, Decimal("0.00")),
        currency=order.currency,
        target=f"{order.number} · {order.merchant.name} · {parts} {order.currency}",
    )


def _first_payment(plan: RegularisationPlan) -> Payment | None:
    return Payment.objects.filter(regularisation_part__plan=plan, regularisation_part__number=1).first()


def regularisation_refusal(*, schedule: Schedule) -> PaylaterError | None:
    """Why the schedule cannot be regularised now (nothing due, a plan being paid), or None.

    A plan still waiting for its first payment that was never presented to the provider is one the
    customer left on the card page: it does not block a new one (``regularisation_start`` drops it).
    """
    if schedules.amount_due(schedule) <= 0:
        return RegularisationError(PaylaterErrorCode.NOTHING_DUE)
    plan = schedules.open_regularisation(schedule)
    if plan is not None and (plan.status != RegularisationStatus.PENDING or _first_payment(plan)):
        return RegularisationError(PaylaterErrorCode.REGULARISATION_OPEN)
    return None


# --- Start: the plan and the trip to the provider ---------------------------------------------


def _plan_abandon(plan: RegularisationPlan) -> None:
    """A plan whose first payment never happened (card refused, customer gone): failed, parts dropped."""
    plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).update(status=InstalmentStatus.DELETED)
    plan.status = RegularisationStatus.FAILED
    plan.save(update_fields=["status"])


def _owned(schedule: Schedule, user: User) -> None:
    if schedule.order.customer_id != user.pk:
        raise Http404


def regularisation_start(
    *,
    user: User,
    schedule: Schedule,
    count: int,
    proof_id: str,
    return_url: str,
    language: str,
    request: HttpRequest | None = None,
) -> tuple[RegularisationPlan, str]:
    """Consumes the proof and writes the plan for the amount due *now* (a changed amount no longer
    matches what was signed: ``SigningError`` TAMPERED); returns it and the provider's card page URL.

    The card-entry session is asked of the provider after the commit (no transaction is held across
    a provider call): if that fails, the plan is left waiting for a first payment that never came,
    which the next start drops.
    """
    with transaction.atomic():
        schedule = schedules.schedule_lock(schedule.pk)
        _owned(schedule, user)
        refusal = regularisation_refusal(schedule=schedule)
        if refusal is not None:
            raise refusal
        option = _option(schedule, count)
        operation = regularisation_operation(schedule=schedule, count=count)
        signing.signing_proof_consume(proof_id=proof_id, user=user, operation=operation)
        left = schedules.open_regularisation(schedule)
        if left is not None:
            _plan_abandon(left)
        plan = _plan_create(schedule=schedule, option=option)
        record(
            action="paylater.regularisation_started",
            actor=user,
            target=schedule.order,
            request=request,
            details={"plan": plan.pk, "amount": str(plan.amount), "payments": count},
        )
    _setup, url = cards.card_setup_start(
        schedule=schedule,
        purpose=CardSetupPurpose.REGULARISATION,
        return_url=return_url,
        language=language,
        regularisation=plan,
    )
    return plan, url


def _plan_create(*, schedule: Schedule, option: Option) -> RegularisationPlan:
    today = timezone.localdate()
    plan = RegularisationPlan.objects.create(
        schedule=schedule, amount=sum(option.amounts, Decimal("0.00")), payment_count=option.count
    )
    RegularisationPart.objects.bulk_create(
        RegularisationPart(
            plan=plan, number=number, due_date=today + schedules.interval() * (number - 1), amount=amount
        )
        for number, amount in enumerate(option.amounts, start=1)
    )
    return plan


# --- Back from the provider: the card, then the first payment ---------------------------------


def regularisation_returned(
    *, user: User, provider_session: str, request: HttpRequest | None = None
) -> Outcome:
    """The customer is back from the card page (``?session=``): checks the card, charges the first part.

    Safe to call again (a reload, "check again"): a payment already answered is read back, one still
    pending is asked again with the same key.
    """
    setup = cards.card_setup_returned(user=user, provider_session=provider_session)
    if setup.purpose != CardSetupPurpose.REGULARISATION or setup.regularisation_id is None:
        raise Http404
    prepared = _first_payment_prepare(setup=setup, user=user, request=request)
    if isinstance(prepared, Outcome):
        return prepared
    return _first_payment_charge(payment=prepared, setup=setup, request=request)


def _first_payment_prepare(*, setup: CardSetup, user: User, request: HttpRequest | None) -> Outcome | Payment:
    """Under the schedule's lock: the outcome already known, a refusal of the card, or the pending
    payment to present (written and committed here, before the provider is called)."""
    with transaction.atomic():
        schedule = schedules.schedule_lock(setup.schedule_id)
        _owned(schedule, user)
        plan = RegularisationPlan.objects.select_for_update().get(pk=setup.regularisation_id)
        part = plan.parts.get(number=1)
        payment = Payment.objects.filter(regularisation_part=part).first()
        if payment is not None:
            return payment if payment.status == PaymentStatus.PENDING else _outcome(payment)
        if plan.status != RegularisationStatus.PENDING or plan.amount != schedules.amount_due(schedule):
            # Closed, or readjusted (a merchant's cancellation) since it was signed: start again.
            raise RegularisationError(RegularisationCode.PLAN_CLOSED)
        refusal = cards.card_acceptable(setup=setup, until=schedules.last_scheduled_date(schedule))
        if refusal is not None:
            return _card_refused(setup=setup, plan=plan, part=part, refusal=refusal, request=request)
        return Payment.objects.create(
            schedule=schedule,
            kind=PaymentKind.REGULARISATION,
            regularisation_part=part,
            amount=part.amount,
            currency=schedule.order.currency,
            idempotency_key=f"{KEY_PREFIX}{part.pk}",
        )


def _card_refused(
    *,
    setup: CardSetup,
    plan: RegularisationPlan,
    part: RegularisationPart,
    refusal: PaylaterError,
    request: HttpRequest | None,
) -> Outcome:
    setup.status, setup.refusal, setup.updated_at = CardSetupStatus.REFUSED, str(refusal.code), timezone.now()
    setup.save(update_fields=["status", "refusal", "updated_at"])
    _plan_abandon(plan)
    record(
        action="paylater.regularisation_card_refused",
        actor=plan.schedule.order.customer,
        target=plan.schedule.order,
        request=request,
        details={"plan": plan.pk, "reason": str(refusal.code)},
    )
    return Outcome(
        status=OutcomeStatus.REFUSED,
        schedule=plan.schedule,
        plan=plan,
        amount=part.amount,
        currency=plan.schedule.order.currency,
        reason=refusal.message,
        charged=False,
    )


def _first_payment_charge(*, payment: Payment, setup: CardSetup, request: HttpRequest | None) -> Outcome:
    request_ = ChargeRequest(
        token=setup.token,
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        description=f"Regularisation {payment.schedule.order.number}",
    )
    try:
        result = gateway().charge(request_)
    except ProviderUnavailable:
        return _outcome(payment)  # still pending: asked again with the same key later
    return _first_payment_settle(
        payment_id=payment.pk,
        succeeded=result.succeeded,
        reference=result.reference,
        reason=result.reason,
        setup=setup,
        request=request,
    )


def _first_payment_settle(
    *,
    payment_id: int,
    succeeded: bool,
    reference: str,
    reason: str,
    setup: CardSetup,
    request: HttpRequest | None,
) -> Outcome:
    """The provider's answer, applied once (a notification or a reload may have applied it already)."""
    with transaction.atomic():
        locked = Payment.objects.only("schedule_id").get(pk=payment_id)
        schedule = schedules.schedule_lock(locked.schedule_id)
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("regularisation_part__plan")
            .get(pk=payment_id)
        )
        if payment.status != PaymentStatus.PENDING:
            return _outcome(payment)
        part = payment.regularisation_part
        payment.status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED
        payment.provider_reference, payment.reason, payment.settled_at = reference, reason, timezone.now()
        schedules.regularisation_part_settle(schedule=schedule, part=part, succeeded=succeeded)
        if succeeded:
            payment.card = cards.card_on_file_replace(schedule=schedule, setup=setup)
        payment.save(update_fields=["status", "provider_reference", "reason", "settled_at", "card"])
        record(
            action="paylater.regularisation_payment",
            actor=schedule.order.customer,
            target=schedule.order,
            request=request,
            details={
                "plan": part.plan_id,
                "payment": payment.pk,
                "amount": str(payment.amount),
                "outcome": str(payment.status),
                "reason": reason,
            },
        )
        outcome = _outcome(payment)
        if succeeded:
            _accepted_email(outcome=outcome, payment=payment)
    return outcome


def regularisation_first_payment_reconcile(*, idempotency_key: str) -> Outcome | None:
    """A first payment left pending (a lost answer) asked again with its key, with the card entered for
    the plan (it is on no ``Card`` row until accepted). For the provider's ``charge.settled``
    notification and the debit runs' reconciliation; None if the key is not such a payment."""
    payment = (
        Payment.objects.filter(idempotency_key=idempotency_key, regularisation_part__number=1)
        .select_related("regularisation_part", "schedule__order")
        .first()
    )
    if payment is None or payment.card_id is not None:
        return None
    setup = (
        CardSetup.objects.filter(
            regularisation_id=payment.regularisation_part.plan_id, purpose=CardSetupPurpose.REGULARISATION
        )
        .exclude(token="")
        .first()
    )
    if setup is None:
        return None
    if payment.status != PaymentStatus.PENDING:
        return _outcome(payment)
    return _first_payment_charge(payment=payment, setup=setup, request=None)


# --- Reading back ------------------------------------------------------------------------------


def _outcome(payment: Payment) -> Outcome:
    part = RegularisationPart.objects.select_related("plan__schedule__order").get(
        pk=payment.regularisation_part_id
    )
    plan = part.plan
    status = {
        PaymentStatus.SUCCEEDED: OutcomeStatus.ACCEPTED,
        PaymentStatus.FAILED: OutcomeStatus.REFUSED,
    }.get(payment.status, OutcomeStatus.PENDING)
    return Outcome(
        status=status,
        schedule=plan.schedule,
        plan=plan,
        amount=payment.amount,
        currency=payment.currency,
        completed=plan.status == RegularisationStatus.COMPLETED,
        reason=str(REFUSAL_REASONS.get(payment.reason, UNKNOWN_REASON))
        if status == OutcomeStatus.REFUSED
        else "",
    )


def pending_message(outcome: Outcome) -> str:
    from guichet.paylater.money import money_display

    return str(_MESSAGES[RegularisationCode.PAYMENT_PENDING]) % {
        "amount": money_display(outcome.amount, outcome.currency)
    }


def next_parts(plan: RegularisationPlan) -> list[RegularisationPart]:
    return list(plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).order_by("number"))


# --- E-mail ------------------------------------------------------------------------------------


def _schedule_url(user: User, schedule: Schedule) -> str:
    base = getattr(settings, "GUICHET_PUBLIC_URL", "").rstrip("/")
    if not base:
        return ""
    try:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            return base + reverse("paylater:schedule", kwargs={"pk": schedule.pk})
    except NoReverseMatch:
        return ""


def _accepted_email(*, outcome: Outcome, payment: Payment) -> None:
    """Plain values: the e-mail is rendered in the customer's language (amounts formatted there)."""
    order = outcome.schedule.order
    user = order.customer
    later: list[dict[str, date | Decimal]] = [
        {"due_date": part.due_date, "amount": part.amount} for part in next_parts(outcome.plan)
    ]
    notify(
        template=EMAIL_TEMPLATE,
        context={
            "order_number": order.number,
            "merchant": order.merchant.name,
            "amount": payment.amount,
            "currency": payment.currency,
            "completed": outcome.completed,
            "later": later,
            "url": _schedule_url(user, outcome.schedule),
        },
        user=user,
        email=order.email,
        channels=("email",),
        idempotency_key=f"paylater-regularisation-accepted-{payment.pk}",
    )
