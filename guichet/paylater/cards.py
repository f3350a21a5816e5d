"""The card on file and its change through the payment provider (seed 003, 3rd step).

The customer types the new card on the provider's page (a full redirect: no card number ever
reaches Guichet); the provider answers a token with the brand, the last 4 digits and the expiry,
stored on a ``CardSetup``. The rules, checked before going to the provider and again when applying:

- impossible while the schedule is unpaid (the page offers "Regularise" instead), nor once it is
  finished or cancelled;
- refused once the next debit is already scheduled: from ``GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS``
  days before it, until it has been presented;
- Visa or Mastercard only, the brand as reported by the provider;
- valid (through the end of its expiry month) at least until the last scheduled debit.

A schedule being regularised may change its card (the regularisation payments are debited from it).
The change is signed with the strong-authentication service (``card_change_operation``).
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation

from guichet.audit.services import record
from guichet.identity.models import User
from guichet.identity.signing import Operation, signing_proof_consume
from guichet.notifications.services import notify
from guichet.paylater import schedules
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.gateway import SetupResult, gateway
from guichet.paylater.models import (
    ACCEPTED_BRANDS,
    Card,
    CardBrand,
    CardSetup,
    CardSetupPurpose,
    CardSetupStatus,
    RegularisationPlan,
    Schedule,
    ScheduleStatus,
)
from guichet.paylater.selectors import card_setup_of, schedules_visible_to

CLOSED_STATUSES = (ScheduleStatus.COMPLETED, ScheduleStatus.CANCELLED)


def _date(value: datetime.date) -> str:
    """A date for a refusal message, in the active language."""
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def cutoff_days() -> datetime.timedelta:
    return datetime.timedelta(days=settings.GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS)


# --- The rules -----------------------------------------------------------------------------------


def card_change_refusal(*, schedule: Schedule, today: datetime.date | None = None) -> PaylaterError | None:
    """Why the card of ``schedule`` cannot be changed now (before going to the provider), or None."""
    if schedule.status == ScheduleStatus.UNPAID:
        return PaylaterError(PaylaterErrorCode.SCHEDULE_UNPAID)
    if schedule.status in CLOSED_STATUSES:
        return PaylaterError(PaylaterErrorCode.SCHEDULE_CLOSED)
    next_debit = schedules.next_debit_date(schedule)
    if next_debit is None:
        return PaylaterError(PaylaterErrorCode.SCHEDULE_CLOSED)
    today = today or timezone.localdate()
    if today >= next_debit - cutoff_days():
        return PaylaterError(PaylaterErrorCode.CARD_CUTOFF, date=_date(next_debit))
    return None


def card_acceptable(*, setup: CardSetup, until: datetime.date | None) -> PaylaterError | None:
    """Why the card the provider answered cannot be the schedule's card, or None.

    ``until`` is the last scheduled debit: the card must be valid through it."""
    if not setup.token or setup.status not in (CardSetupStatus.RETURNED, CardSetupStatus.REFUSED):
        return PaylaterError(PaylaterErrorCode.CARD_NOT_ENTERED)
    if setup.brand not in ACCEPTED_BRANDS:
        return PaylaterError(PaylaterErrorCode.CARD_BRAND)
    if until is not None and (setup.expiry_month is None or setup.expiry_year is None):
        return PaylaterError(PaylaterErrorCode.CARD_EXPIRY, date=_date(until))
    if until is not None:
        valid_through = schedules.card_valid_through(
            expiry_month=setup.expiry_month, expiry_year=setup.expiry_year
        )
        if valid_through < until:
            return PaylaterError(PaylaterErrorCode.CARD_EXPIRY, date=_date(until))
    return None


def _change_refusal(*, setup: CardSetup, today: datetime.date | None) -> PaylaterError | None:
    schedule = setup.schedule
    if setup.purpose != CardSetupPurpose.CARD_CHANGE:
        return PaylaterError(PaylaterErrorCode.CARD_NOT_ENTERED)
    return card_change_refusal(schedule=schedule, today=today) or card_acceptable(
        setup=setup, until=schedules.last_scheduled_date(schedule)
    )


def _setup_refuse(setup: CardSetup, refusal: PaylaterError) -> None:
    """Keeps the refusal's code on the setup (a card not entered stays as it was)."""
    if refusal.code == PaylaterErrorCode.CARD_NOT_ENTERED or setup.status not in (
        CardSetupStatus.RETURNED,
        CardSetupStatus.REFUSED,
    ):
        return
    setup.status, setup.refusal, setup.updated_at = CardSetupStatus.REFUSED, str(refusal.code), timezone.now()
    setup.save(update_fields=["status", "refusal", "updated_at"])


def card_change_check(*, setup: CardSetup, today: datetime.date | None = None) -> None:
    """All the rules for a card change, on the card the provider answered; raises ``PaylaterError``
    and marks the setup refused with its code."""
    refusal = _change_refusal(setup=setup, today=today)
    if refusal is not None:
        _setup_refuse(setup, refusal)
        raise refusal


# --- The round trip to the provider ----------------------------------------------------------------


def card_setup_start(
    *,
    schedule: Schedule,
    purpose: str,
    return_url: str,
    language: str,
    regularisation: RegularisationPlan | None = None,
) -> tuple[CardSetup, str]:
    """Opens a card-entry session at the provider; returns the setup and the URL to redirect to.

    Call it outside a transaction (a network call); ``ProviderUnavailable`` propagates."""
    session = gateway().setup_session_create(
        reference=f"{schedule.order.number}-{purpose}", return_url=return_url, language=language
    )
    setup = CardSetup.objects.create(
        schedule=schedule, purpose=purpose, regularisation=regularisation, provider_session=session.id
    )
    return setup, session.redirect_url


def _result_store(*, setup_id: object, result: SetupResult) -> CardSetup:
    """Stores the provider's answer on a setup still waiting for it (once, under a row lock)."""
    with transaction.atomic():
        setup = CardSetup.objects.select_for_update().select_related("schedule__order").get(pk=setup_id)
        if setup.status != CardSetupStatus.STARTED:
            return setup
        if result.status == "completed" and result.token:
            setup.status = CardSetupStatus.RETURNED
            brand = result.brand if result.brand in CardBrand.values else CardBrand.OTHER
            setup.token, setup.brand, setup.last4 = result.token, brand, result.last4
            setup.expiry_month, setup.expiry_year = result.expiry_month, result.expiry_year
        elif result.status == "cancelled":
            setup.status = CardSetupStatus.CANCELLED
        else:
            return setup  # still open at the provider
        setup.updated_at = timezone.now()
        setup.save()
    return setup


def card_setup_refresh(*, setup: CardSetup) -> CardSetup:
    """Asks the provider for the outcome of a setup still waiting for it (the return, a notification)."""
    if setup.status != CardSetupStatus.STARTED:
        return setup
    result = gateway().setup_result(session_id=setup.provider_session)
    return _result_store(setup_id=setup.pk, result=result)


def card_setup_returned(*, user: User, provider_session: str) -> CardSetup:
    """The user's own setup of that provider session (404 for anyone else's), with the card the
    provider answered stored; idempotent (a notification may have stored it already)."""
    return card_setup_refresh(setup=card_setup_of(user=user, session=provider_session))


def setup_notified(*, provider_session: str) -> CardSetup | None:
    """A ``setup.*`` notification: stores the outcome if the customer did not come back yet."""
    setup = CardSetup.objects.filter(provider_session=provider_session).first()
    return None if setup is None else card_setup_refresh(setup=setup)


# --- Applying the change ---------------------------------------------------------------------------


def card_label(setup: CardSetup | Card) -> str:
    """ "Visa •••• 4242 · 12/2030" (no translation: it is part of what is signed)."""
    brand = CardBrand(setup.brand).label if setup.brand in CardBrand.values else setup.brand
    return f"{brand} •••• {setup.last4} · {setup.expiry_month:02d}/{setup.expiry_year}"


def card_change_operation(setup: CardSetup) -> Operation:
    """What the customer signs: the schedule's order and the new card (never its token)."""
    order = setup.schedule.order
    return Operation(kind="paylater_card_change", target=f"{order.number} · {card_label(setup)}")


def card_on_file_replace(*, schedule: Schedule, setup: CardSetup) -> Card:
    """The setup's card becomes the schedule's card; the old one is kept, marked replaced.

    The caller holds the schedule's lock (``schedules.schedule_lock``) in its transaction. Applying
    the same setup again returns the card it made."""
    setup = CardSetup.objects.select_for_update().get(pk=setup.pk, schedule=schedule)
    current = schedules.current_card(schedule)
    if setup.status == CardSetupStatus.APPLIED and current is not None and current.token == setup.token:
        return current
    if not setup.token:
        raise PaylaterError(PaylaterErrorCode.CARD_NOT_ENTERED)
    now = timezone.now()
    if current is not None:
        current.replaced_at = now
        current.save(update_fields=["replaced_at"])
    card = Card.objects.create(
        schedule=schedule,
        token=setup.token,
        brand=setup.brand,
        last4=setup.last4,
        expiry_month=setup.expiry_month,
        expiry_year=setup.expiry_year,
        created_at=now,
    )
    setup.status, setup.refusal, setup.updated_at = CardSetupStatus.APPLIED, "", now
    setup.save(update_fields=["status", "refusal", "updated_at"])
    return card


def _schedule_url(schedule: Schedule) -> str:
    """The absolute link to the schedule, in its customer's language (``GUICHET_PUBLIC_URL``)."""
    base = settings.GUICHET_PUBLIC_URL.rstrip("/")
    if not base:
        return ""
    language = schedule.order.customer.preferred_language or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            return base + reverse("paylater:schedule", kwargs={"pk": schedule.pk})
    except NoReverseMatch:
        return ""


def _changed_email(*, schedule: Schedule, card: Card, setup: CardSetup) -> None:
    order = schedule.order
    notify(
        template="paylater_card_changed",
        context={
            "order_number": order.number,
            "merchant": order.merchant.name,
            "brand": card.get_brand_display(),
            "last4": card.last4,
            "expiry": f"{card.expiry_month:02d}/{card.expiry_year}",
            "url": _schedule_url(schedule),
        },
        user=order.customer,
        email=order.email,
        idempotency_key=f"paylater-card-changed:{setup.pk}",
    )


def card_change_apply(
    *, user: User, setup: CardSetup, proof_id: object, request: HttpRequest | None = None
) -> Card:
    """Consumes the signing proof, checks every rule again, replaces the card, and tells the customer.

    Another customer's setup is a 404 (nothing written). A refusal raises ``PaylaterError`` after the
    setup is marked refused (the proof is used up); a bad proof raises ``SigningError`` (nothing
    written). Applying an applied setup again returns its card.
    """
    if not schedules_visible_to(user=user).filter(pk=setup.schedule_id).exists():
        raise Http404
    refusal: PaylaterError | None = None
    with transaction.atomic():
        schedule = schedules.schedule_lock(setup.schedule_id)
        setup = CardSetup.objects.select_for_update().select_related("schedule__order").get(pk=setup.pk)
        if setup.status == CardSetupStatus.APPLIED:
            card = schedules.current_card(schedule)
            if card is not None and card.token == setup.token:
                return card
        signing_proof_consume(proof_id=proof_id, user=user, operation=card_change_operation(setup))
        refusal = _change_refusal(setup=setup, today=None)
        if refusal is not None:
            _setup_refuse(setup, refusal)
            record(
                action="paylater.card_change_refused",
                actor=user,
                target=schedule.order,
                request=request,
                details={"setup": str(setup.pk), "reason": str(refusal.code)},
            )
        else:
            previous = schedules.current_card(schedule)
            card = card_on_file_replace(schedule=schedule, setup=setup)
            record(
                action="paylater.card_changed",
                actor=user,
                target=schedule.order,
                request=request,
                details={
                    "setup": str(setup.pk),
                    "brand": card.brand,
                    "last4": card.last4,
                    "expiry": f"{card.expiry_month:02d}/{card.expiry_year}",
                    "replaced_last4": previous.last4 if previous else "",
                },
            )
            _changed_email(schedule=schedule, card=card, setup=setup)
    if refusal is not None:
        raise refusal
    return card
