"""Changing the card of a schedule (seed 003, 3rd step): each rule with its precise reason, the cut-off's
boundary days, the round trip to the (sandbox) provider, the signature, and what a change leaves behind:
the old card kept as replaced, an audit row without the token, an e-mail in text and HTML."""

import datetime
import json

import pytest
from django.core import mail
from django.db import transaction
from django.http import Http404
from django.test import override_settings
from django.utils import timezone, translation

from guichet.audit.models import AuditEvent
from guichet.identity import signing
from guichet.identity.models import User
from guichet.identity.testing import signed_proof
from guichet.notifications.testing import deliveries_run
from guichet.paylater import cards, schedules
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.models import (
    Card,
    CardSetup,
    CardSetupPurpose,
    CardSetupStatus,
    Schedule,
    ScheduleStatus,
)
from guichet.paylater.sandbox import provider
from guichet.paylater.sandbox.cards import card_for_number, digits_only
from guichet.paylater.testing import make_completed_schedule, make_order, make_unpaid_schedule

pytestmark = pytest.mark.django_db

RETURN_URL = "https://guichet.example/fr/paylater/card/return/"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's notifications are queued; a worker run here must not post them anywhere."""
    from guichet.paylater.sandbox import notify

    monkeypatch.setattr(notify, "_post", lambda url, body: 200)


@pytest.fixture
def schedule() -> Schedule:
    """Bought today in 3: the first paid, the next debits in 30 and 60 days."""
    return make_order().schedule


def customer(schedule: Schedule) -> User:
    return schedule.order.customer


def started(schedule: Schedule, purpose: str = CardSetupPurpose.CARD_CHANGE) -> CardSetup:
    setup, url = cards.card_setup_start(
        schedule=schedule, purpose=purpose, return_url=RETURN_URL, language="fr"
    )
    assert url.endswith(f"/sandbox-provider/sessions/{setup.provider_session}/")
    return setup


def returned(
    schedule: Schedule, number: str = "5555 5555 5555 4444", expiry: tuple[int, int] = (12, 2031)
) -> CardSetup:
    """A card change whose card was typed on the sandbox's page, back at Guichet."""
    setup = started(schedule)
    session = provider.session_get(setup.provider_session)
    card = card_for_number(digits_only(number))
    provider.session_card_enter(session=session, card=card, expiry_month=expiry[0], expiry_year=expiry[1])
    return cards.card_setup_returned(user=customer(schedule), provider_session=setup.provider_session)


def code(error: PaylaterError | None) -> str | None:
    return None if error is None else error.code


def apply(setup: CardSetup, proof: str | None = None) -> Card:
    user = customer(setup.schedule)
    proof = proof or signed_proof(user, cards.card_change_operation(setup))
    return cards.card_change_apply(user=user, setup=setup, proof_id=proof)


# --- Before going to the provider -----------------------------------------------------------------


def test_a_schedule_in_progress_may_change_its_card(schedule: Schedule) -> None:
    assert cards.card_change_refusal(schedule=schedule) is None


def test_impossible_while_unpaid() -> None:
    error = cards.card_change_refusal(schedule=make_unpaid_schedule())
    assert code(error) == PaylaterErrorCode.SCHEDULE_UNPAID
    with translation.override("en"):
        assert "Regularise the unpaid amount instead." in error.message


def test_nothing_to_change_on_a_finished_or_cancelled_schedule(schedule: Schedule) -> None:
    assert code(cards.card_change_refusal(schedule=make_completed_schedule(email="b@example.com"))) == (
        PaylaterErrorCode.SCHEDULE_CLOSED
    )
    Schedule.objects.filter(pk=schedule.pk).update(status=ScheduleStatus.CANCELLED)
    schedule.refresh_from_db()
    assert code(cards.card_change_refusal(schedule=schedule)) == PaylaterErrorCode.SCHEDULE_CLOSED


@override_settings(GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS=7)
def test_the_cutoff_boundary_days(schedule: Schedule) -> None:
    next_debit = schedules.next_debit_date(schedule)
    assert next_debit == timezone.localdate() + datetime.timedelta(days=30)
    allowed = next_debit - datetime.timedelta(days=8)
    assert cards.card_change_refusal(schedule=schedule, today=allowed) is None
    for days_before in (7, 1, 0):
        error = cards.card_change_refusal(
            schedule=schedule, today=next_debit - datetime.timedelta(days=days_before)
        )
        assert code(error) == PaylaterErrorCode.CARD_CUTOFF
    with translation.override("en"):
        error = cards.card_change_refusal(schedule=schedule, today=next_debit)
        assert f"The next debit, on {next_debit:%m/%d/%Y}, is already scheduled" in error.message


@override_settings(GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS=0)
def test_the_cutoff_is_configurable(schedule: Schedule) -> None:
    next_debit = schedules.next_debit_date(schedule)
    assert cards.card_change_refusal(schedule=schedule, today=next_debit - datetime.timedelta(days=1)) is None
    assert (
        code(cards.card_change_refusal(schedule=schedule, today=next_debit)) == PaylaterErrorCode.CARD_CUTOFF
    )


# --- The card the provider answered -----------------------------------------------------------------


def test_the_provider_answer_is_stored_on_return(schedule: Schedule) -> None:
    setup = returned(schedule, number="4242 4242 4242 4242", expiry=(6, 2032))
    assert setup.status == CardSetupStatus.RETURNED
    assert (setup.brand, setup.last4, setup.expiry_month, setup.expiry_year) == ("visa", "4242", 6, 2032)
    assert setup.token.startswith("tok_sbx_")
    again = cards.card_setup_returned(user=customer(schedule), provider_session=setup.provider_session)
    assert again.pk == setup.pk and again.token == setup.token


def test_a_cancelled_entry_is_no_card(schedule: Schedule) -> None:
    setup = started(schedule)
    provider.session_cancel(session=provider.session_get(setup.provider_session))
    setup = cards.card_setup_returned(user=customer(schedule), provider_session=setup.provider_session)
    assert setup.status == CardSetupStatus.CANCELLED
    with pytest.raises(PaylaterError) as raised:
        cards.card_change_check(setup=setup)
    assert raised.value.code == PaylaterErrorCode.CARD_NOT_ENTERED


def test_a_session_still_open_is_no_card(schedule: Schedule) -> None:
    setup = started(schedule)
    setup = cards.card_setup_returned(user=customer(schedule), provider_session=setup.provider_session)
    assert setup.status == CardSetupStatus.STARTED
    assert code(cards.card_acceptable(setup=setup, until=None)) == PaylaterErrorCode.CARD_NOT_ENTERED


def test_another_customers_session_is_not_found(schedule: Schedule) -> None:
    setup = started(schedule)
    other = make_order(email="someone.else@example.com").customer
    with pytest.raises(Http404):
        cards.card_setup_returned(user=other, provider_session=setup.provider_session)
    with pytest.raises(Http404):
        cards.card_setup_returned(user=customer(schedule), provider_session="no-such-session")
    setup.refresh_from_db()
    assert setup.status == CardSetupStatus.STARTED and not setup.token


def test_visa_or_mastercard_only(schedule: Schedule) -> None:
    setup = returned(schedule, number="3782 822463 10005")
    with pytest.raises(PaylaterError) as raised:
        cards.card_change_check(setup=setup)
    assert raised.value.code == PaylaterErrorCode.CARD_BRAND
    with translation.override("en"):
        assert raised.value.message == "This card is not accepted: only Visa and Mastercard cards are."
    setup.refresh_from_db()
    assert (setup.status, setup.refusal) == (CardSetupStatus.REFUSED, "card_brand")


def test_the_card_must_be_valid_until_the_last_debit(schedule: Schedule) -> None:
    last = schedules.last_scheduled_date(schedule)
    month_before = last.replace(day=1) - datetime.timedelta(days=1)
    setup = returned(schedule, expiry=(month_before.month, month_before.year))
    with pytest.raises(PaylaterError) as raised:
        cards.card_change_check(setup=setup)
    assert raised.value.code == PaylaterErrorCode.CARD_EXPIRY
    assert raised.value.params == {"date": cards._date(last)}
    # Valid through the end of its expiry month: expiring the month of the last debit is enough.
    cards.card_change_check(setup=returned(schedule, expiry=(last.month, last.year)))


def test_the_rules_are_checked_again_on_the_returned_card(schedule: Schedule) -> None:
    setup = returned(schedule)
    next_debit = schedules.next_debit_date(schedule)
    with pytest.raises(PaylaterError) as raised:
        cards.card_change_check(setup=setup, today=next_debit)
    assert raised.value.code == PaylaterErrorCode.CARD_CUTOFF


# --- Applying the signed change ------------------------------------------------------------------


def test_the_operation_names_the_order_and_the_new_card(schedule: Schedule) -> None:
    setup = returned(schedule, expiry=(3, 2031))
    operation = cards.card_change_operation(setup)
    assert operation.kind == "paylater_card_change"
    assert operation.target == f"{schedule.order.number} · Mastercard •••• 4444 · 03/2031"
    assert setup.token not in operation.canonical().decode()


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example")
def test_a_signed_change_replaces_the_card(schedule: Schedule) -> None:
    old = schedules.current_card(schedule)
    setup = returned(schedule)
    card = apply(setup)
    assert schedules.current_card(schedule) == card
    assert (card.brand, card.last4, card.expiry_month, card.expiry_year) == ("mastercard", "4444", 12, 2031)
    old.refresh_from_db()
    assert old.replaced_at is not None  # kept for the history
    assert schedule.cards.count() == 2
    setup.refresh_from_db()
    assert setup.status == CardSetupStatus.APPLIED
    event = AuditEvent.objects.get(action="paylater.card_changed")
    assert event.details["last4"] == "4444" and event.details["replaced_last4"] == "4242"
    assert card.token not in json.dumps(event.details) and "tok_" not in json.dumps(event.details)
    deliveries_run()
    message = mail.outbox[-1]
    assert message.to == [schedule.order.email]
    assert schedule.order.number in message.subject
    assert "4444" in message.body and "12/2031" in message.body and card.token not in message.body
    html = message.alternatives[0][0]
    assert "4444" in html and f"https://guichet.example/fr/paylater/{schedule.pk}/" in html
    assert card.token not in html


def test_applying_twice_changes_once(schedule: Schedule) -> None:
    setup = returned(schedule)
    card = apply(setup)
    assert apply(setup) == card
    assert schedule.cards.count() == 2
    assert AuditEvent.objects.filter(action="paylater.card_changed").count() == 1


def test_another_customers_setup_is_not_found_and_nothing_changes(schedule: Schedule) -> None:
    setup = returned(schedule)
    intruder = make_order(email="someone.else@example.com").customer
    proof = signed_proof(intruder, cards.card_change_operation(setup))
    with pytest.raises(Http404):
        cards.card_change_apply(user=intruder, setup=setup, proof_id=proof)
    setup.refresh_from_db()
    assert setup.status == CardSetupStatus.RETURNED
    assert schedules.current_card(schedule).last4 == "4242"
    assert not AuditEvent.objects.filter(action__startswith="paylater.card_change").exists()
    assert not mail.outbox


def test_a_proof_for_another_operation_is_refused(schedule: Schedule) -> None:
    setup = returned(schedule)
    other = signing.Operation(kind="paylater_card_change", target=f"{schedule.order.number} · Visa •••• 4242")
    with pytest.raises(signing.SigningError) as raised:
        apply(setup, proof=signed_proof(customer(schedule), other))
    assert raised.value.code == signing.SigningErrorCode.TAMPERED
    assert schedules.current_card(schedule).last4 == "4242"


def test_a_proof_used_twice_is_refused(schedule: Schedule) -> None:
    setup = returned(schedule)
    operation = cards.card_change_operation(setup)
    proof = signed_proof(customer(schedule), operation)
    signing.signing_proof_consume(proof_id=proof, user=customer(schedule), operation=operation)
    with pytest.raises(signing.SigningError) as raised:
        apply(setup, proof=proof)
    assert raised.value.code == signing.SigningErrorCode.USED
    setup.refresh_from_db()
    assert setup.status == CardSetupStatus.RETURNED
    assert schedules.current_card(schedule).last4 == "4242"


def test_a_schedule_gone_unpaid_after_signing_is_refused(schedule: Schedule) -> None:
    setup = returned(schedule)
    proof = signed_proof(customer(schedule), cards.card_change_operation(setup))
    instalment = schedule.instalments.get(number=2)
    schedules.instalment_settle(schedule=schedule, instalment=instalment, succeeded=False)
    with pytest.raises(PaylaterError) as raised:
        apply(setup, proof=proof)
    assert raised.value.code == PaylaterErrorCode.SCHEDULE_UNPAID
    setup.refresh_from_db()
    assert (setup.status, setup.refusal) == (CardSetupStatus.REFUSED, "schedule_unpaid")
    assert schedules.current_card(schedule).last4 == "4242"
    assert (
        AuditEvent.objects.get(action="paylater.card_change_refused").details["reason"] == "schedule_unpaid"
    )
    assert not mail.outbox


def test_a_refused_brand_cannot_be_applied_even_signed(schedule: Schedule) -> None:
    setup = returned(schedule, number="3782 822463 10005")
    with pytest.raises(PaylaterError) as raised:
        apply(setup)
    assert raised.value.code == PaylaterErrorCode.CARD_BRAND
    assert schedules.current_card(schedule).last4 == "4242"


def test_the_regularisation_replaces_the_card_through_the_same_service() -> None:
    schedule = make_unpaid_schedule()
    setup = started(schedule, purpose=CardSetupPurpose.REGULARISATION)
    provider.session_card_enter(
        session=provider.session_get(setup.provider_session),
        card=card_for_number("4242424242424242"),
        expiry_month=1,
        expiry_year=2033,
    )
    setup = cards.card_setup_returned(user=customer(schedule), provider_session=setup.provider_session)
    with transaction.atomic():
        locked = schedules.schedule_lock(schedule.pk)
        card = cards.card_on_file_replace(schedule=locked, setup=setup)
        assert cards.card_on_file_replace(schedule=locked, setup=setup) == card
    assert schedules.current_card(schedule) == card and card.expiry_year == 2033
    assert schedule.cards.filter(replaced_at__isnull=False).count() == 1


def test_a_notification_stores_the_card_before_the_customer_returns(schedule: Schedule) -> None:
    setup = started(schedule)
    provider.session_card_enter(
        session=provider.session_get(setup.provider_session),
        card=card_for_number("4242424242424242"),
        expiry_month=1,
        expiry_year=2033,
    )
    assert cards.setup_notified(provider_session=setup.provider_session).status == CardSetupStatus.RETURNED
    assert cards.setup_notified(provider_session="unknown") is None
