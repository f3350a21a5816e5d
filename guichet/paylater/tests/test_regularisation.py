"""Regularising the seed's unpaid schedule (159.18 due): the options, the start (signed), the card
entered on the sandbox provider's page, then accepted, refused (the reason and the click-to-call link
to the collections department), a lost answer asked again, a plan already open, and an amount that
changed between the signature and the confirmation."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.http import Http404
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from guichet.audit.models import AuditEvent
from guichet.identity.models import SignedProof
from guichet.identity.signing import SigningError, SigningErrorCode
from guichet.identity.testing import last_email, make_consumer, signed_proof
from guichet.paylater import regularisation, schedules
from guichet.paylater.errors import PaylaterError, PaylaterErrorCode
from guichet.paylater.models import (
    CardSetup,
    InstalmentStatus,
    Payment,
    PaymentStatus,
    RegularisationPlan,
    RegularisationStatus,
    ScheduleStatus,
)
from guichet.paylater.regularisation import Option, OutcomeStatus
from guichet.paylater.sandbox import provider
from guichet.paylater.sandbox.cards import card_for_number, digits_only
from guichet.paylater.sandbox.models import SandboxCharge
from guichet.paylater.testing import make_consumer_with_password, make_order, make_unpaid_schedule, settle

pytestmark = pytest.mark.django_db

D = Decimal
NBSP = "\u00a0"
RETURN_URL = "http://testserver/fr/paylater/regularise/return/"
VISA_OK = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
TIMEOUT = "4000 0000 0000 0119"
AMEX = "3782 822463 10005"


def t(msgid: str) -> str:
    with translation.override("fr"):
        return gettext(msgid)


def url(name: str, **kwargs) -> str:
    with translation.override("fr"):
        return reverse(name, kwargs=kwargs or None)


def start(schedule, count: int) -> RegularisationPlan:
    """The customer chose ``count`` payments and signed: the plan and the trip to the provider."""
    user = schedule.order.customer
    operation = regularisation.regularisation_operation(schedule=schedule, count=count)
    plan, _url = regularisation.regularisation_start(
        user=user,
        schedule=schedule,
        count=count,
        proof_id=signed_proof(user, operation),
        return_url=RETURN_URL,
        language="fr",
    )
    return plan


def enter_card(plan: RegularisationPlan, number: str, *, month: int = 12, year: int = 2030) -> str:
    """Types a test card on the sandbox's page for the plan's session; returns the session id."""
    setup = CardSetup.objects.get(regularisation=plan)
    session = provider.session_get(setup.provider_session)
    provider.session_card_enter(
        session=session, card=card_for_number(digits_only(number)), expiry_month=month, expiry_year=year
    )
    return setup.provider_session


def refusal_code(schedule) -> str | None:
    refusal = regularisation.regularisation_refusal(schedule=schedule)
    return refusal.code if refusal else None


def back(schedule, session: str) -> regularisation.Outcome:
    return regularisation.regularisation_returned(user=schedule.order.customer, provider_session=session)


# --- Options and operation ------------------------------------------------------------------------


def test_the_seeds_three_options_for_159_18():
    schedule = make_unpaid_schedule()

    assert regularisation.regularisation_options(schedule) == [
        Option(count=1, amounts=(D("159.18"),)),
        Option(count=2, amounts=(D("79.59"), D("79.59"))),
        Option(count=3, amounts=(D("53.06"), D("53.06"), D("53.06"))),
    ]


def test_the_first_payment_carries_the_remaining_cents_and_a_tiny_amount_offers_fewer_payments():
    schedule = make_unpaid_schedule()
    schedule.regularisation_credit = D("59.18")  # 100.00 still due
    schedule.save(update_fields=["regularisation_credit"])
    assert regularisation.regularisation_options(schedule)[2] == Option(
        count=3, amounts=(D("33.34"), D("33.33"), D("33.33"))
    )

    schedule.regularisation_credit = D("159.16")  # 0.02 due
    schedule.save(update_fields=["regularisation_credit"])
    assert [o.count for o in regularisation.regularisation_options(schedule)] == [1, 2]


def test_nothing_is_offered_for_a_schedule_with_nothing_due():
    schedule = make_order().schedule

    assert regularisation.regularisation_options(schedule) == []
    assert regularisation.regularisation_refusal(schedule=schedule).code == PaylaterErrorCode.NOTHING_DUE
    with pytest.raises(PaylaterError) as error:
        regularisation.regularisation_operation(schedule=schedule, count=1)
    assert error.value.code == PaylaterErrorCode.NOTHING_DUE


def test_the_signed_operation_names_the_amount_and_the_parts():
    schedule = make_unpaid_schedule(number="CMD0042")

    operation = regularisation.regularisation_operation(schedule=schedule, count=2)

    assert operation.kind == "paylater_regularise"
    assert (operation.amount, operation.currency) == (D("159.18"), "EUR")
    assert operation.target == "CMD0042 · Maison Lumière · 79.59 + 79.59 EUR"
    with pytest.raises(PaylaterError) as error:
        regularisation.regularisation_operation(schedule=schedule, count=4)
    assert error.value.code == PaylaterErrorCode.REGULARISATION_COUNT


# --- Start ------------------------------------------------------------------------------------------


def test_start_writes_the_plan_and_its_monthly_parts_and_goes_to_the_provider():
    schedule = make_unpaid_schedule()
    user = schedule.order.customer
    operation = regularisation.regularisation_operation(schedule=schedule, count=3)
    proof = signed_proof(user, operation)

    plan, redirect_url = regularisation.regularisation_start(
        user=user, schedule=schedule, count=3, proof_id=proof, return_url=RETURN_URL, language="fr"
    )

    today = timezone.localdate()
    assert (plan.amount, plan.payment_count, plan.status) == (D("159.18"), 3, RegularisationStatus.PENDING)
    assert [(p.number, p.due_date, p.amount, p.status) for p in plan.parts.order_by("number")] == [
        (1, today, D("53.06"), InstalmentStatus.IN_PROGRESS),
        (2, today + datetime.timedelta(days=30), D("53.06"), InstalmentStatus.IN_PROGRESS),
        (3, today + datetime.timedelta(days=60), D("53.06"), InstalmentStatus.IN_PROGRESS),
    ]
    setup = CardSetup.objects.get(regularisation=plan)
    assert redirect_url == reverse("paylater_sandbox:card", kwargs={"session_id": setup.provider_session})
    assert SignedProof.objects.get(pk=proof).consumed_at is not None
    assert AuditEvent.objects.filter(action="paylater.regularisation_started").count() == 1
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.UNPAID  # nothing paid yet
    assert Payment.objects.filter(kind="regularisation").count() == 0


def test_the_amount_changed_between_signature_and_confirmation_is_refused_as_tampered():
    schedule = make_unpaid_schedule()
    user = schedule.order.customer
    proof = signed_proof(user, regularisation.regularisation_operation(schedule=schedule, count=3))
    # Meanwhile, part of the unpaid amount was paid (the amount due is no longer 159.18).
    schedule.regularisation_credit = D("10.00")
    schedule.save(update_fields=["regularisation_credit"])

    with pytest.raises(SigningError) as error:
        regularisation.regularisation_start(
            user=user, schedule=schedule, count=3, proof_id=proof, return_url=RETURN_URL, language="fr"
        )

    assert error.value.code == SigningErrorCode.TAMPERED
    assert RegularisationPlan.objects.count() == 0
    assert CardSetup.objects.count() == 0
    assert SignedProof.objects.get(pk=proof).consumed_at is None


def test_another_customer_cannot_start_on_a_schedule_not_theirs():
    schedule = make_unpaid_schedule()
    intruder = make_consumer(email="intruder@example.com")
    operation = regularisation.regularisation_operation(schedule=schedule, count=1)

    with pytest.raises(Http404):
        regularisation.regularisation_start(
            user=intruder,
            schedule=schedule,
            count=1,
            proof_id=signed_proof(intruder, operation),
            return_url=RETURN_URL,
            language="fr",
        )
    assert RegularisationPlan.objects.count() == 0


# --- Accepted ---------------------------------------------------------------------------------------


def test_regularise_in_3_accepted_the_schedule_is_being_regularised_with_53_06():
    schedule = make_unpaid_schedule()
    old_card = schedules.current_card(schedule)
    plan = start(schedule, 3)
    session = enter_card(plan, VISA_OK)

    outcome = back(schedule, session)

    assert (outcome.status, outcome.amount, outcome.completed) == (OutcomeStatus.ACCEPTED, D("53.06"), False)
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.REGULARISING
    assert schedules.regularised_so_far(schedule) == D("53.06")
    assert schedules.amount_due(schedule) == D("106.12")
    payment = Payment.objects.get(kind="regularisation")
    part = plan.parts.get(number=1)
    assert (payment.idempotency_key, payment.status, payment.amount) == (
        f"reg-{part.pk}",
        PaymentStatus.SUCCEEDED,
        D("53.06"),
    )
    # The card entered is now the card on file (a new token), the old one kept as replaced.
    card = schedules.current_card(schedule)
    assert payment.card == card
    assert (card.brand, card.last4, card.expiry_month, card.expiry_year) == ("visa", "4242", 12, 2030)
    assert card.token != old_card.token
    old_card.refresh_from_db()
    assert old_card.replaced_at is not None
    assert SandboxCharge.objects.filter(kind="charge").count() == 1
    assert AuditEvent.objects.filter(action="paylater.regularisation_payment").count() == 1


def test_the_accepted_e_mail_in_the_customers_language_text_and_html():
    schedule = make_unpaid_schedule(number="CMD0099")
    plan = start(schedule, 3)

    back(schedule, enter_card(plan, VISA_OK))

    message = last_email(to="camille.martin@example.com")
    with translation.override("fr"):
        assert "CMD0099" in message.subject
    assert f"53,06{NBSP}€" in message.body
    assert "CMD0099" in message.body
    html = message.alternatives[0][0]
    assert f"53,06{NBSP}€" in html
    assert "tok_" not in message.body and "tok_" not in html
    assert "4242 4242" not in message.body


def test_regularise_in_1_accepted_the_unpaid_amount_is_regularised():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 1)

    outcome = back(schedule, enter_card(plan, "5555 5555 5555 4444"))

    assert (outcome.status, outcome.amount, outcome.completed) == (OutcomeStatus.ACCEPTED, D("159.18"), True)
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.COMPLETED
    assert set(schedule.instalments.values_list("status", flat=True)) == {InstalmentStatus.PAID}
    plan.refresh_from_db()
    assert plan.status == RegularisationStatus.COMPLETED


def test_coming_back_again_reads_the_answer_back_and_charges_nothing_more():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    session = enter_card(plan, VISA_OK)
    back(schedule, session)
    mail.outbox.clear()

    again = back(schedule, session)

    assert again.status == OutcomeStatus.ACCEPTED
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.filter(kind="regularisation").count() == 1
    assert AuditEvent.objects.filter(action="paylater.regularisation_payment").count() == 1


# --- Refused ---------------------------------------------------------------------------------------


def test_regularise_in_1_refused_the_plan_fails_with_the_providers_reason():
    schedule = make_unpaid_schedule()
    old_card = schedules.current_card(schedule)
    plan = start(schedule, 1)

    outcome = back(schedule, enter_card(plan, DECLINED))

    assert outcome.status == OutcomeStatus.REFUSED
    assert outcome.amount == D("159.18")
    assert outcome.reason == str(regularisation.REFUSAL_REASONS["declined"])
    plan.refresh_from_db()
    assert plan.status == RegularisationStatus.FAILED
    payment = Payment.objects.get(kind="regularisation")
    assert (payment.status, payment.reason, payment.card) == (PaymentStatus.FAILED, "declined", None)
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.UNPAID
    assert schedules.amount_due(schedule) == D("159.18")
    assert schedules.current_card(schedule) == old_card  # the refused card is not kept
    assert regularisation.regularisation_refusal(schedule=schedule) is None  # may start again
    assert mail.outbox == []


def test_a_card_of_a_brand_not_accepted_is_refused_before_any_charge():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 2)

    outcome = back(schedule, enter_card(plan, AMEX))

    assert (outcome.status, outcome.charged) == (OutcomeStatus.REFUSED, False)
    assert outcome.reason == PaylaterError(PaylaterErrorCode.CARD_BRAND).message
    assert SandboxCharge.objects.count() == 0
    assert Payment.objects.count() == 0
    plan.refresh_from_db()
    assert plan.status == RegularisationStatus.FAILED


def test_a_card_expiring_before_the_last_payment_is_refused_before_any_charge():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    soon = timezone.localdate() + datetime.timedelta(days=35)  # before the 3rd payment (60 days)

    outcome = back(schedule, enter_card(plan, VISA_OK, month=soon.month, year=soon.year))

    assert (outcome.status, outcome.charged) == (OutcomeStatus.REFUSED, False)
    assert CardSetup.objects.get(regularisation=plan).refusal == PaylaterErrorCode.CARD_EXPIRY
    assert SandboxCharge.objects.count() == 0


@override_settings(GUICHET_COLLECTIONS_PHONE="08 90 39 24 18")
def test_the_refused_page_gives_the_reason_and_the_click_to_call_link():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 1)
    session = enter_card(plan, DECLINED)
    client = Client()
    client.force_login(schedule.order.customer)

    response = client.get(url("paylater:regularise_return") + f"?session={session}")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"159,18{NBSP}€" in html
    assert '<a href="tel:0890392418">08 90 39 24 18</a>' in html
    assert str(regularisation.REFUSAL_REASONS["declined"]) in html
    assert 'role="alert"' in html


def test_the_accepted_page_says_so_and_shows_being_regularised():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    session = enter_card(plan, VISA_OK)
    client = Client()
    client.force_login(schedule.order.customer)

    response = client.get(url("paylater:regularise_return") + f"?session={session}")

    html = response.content.decode()
    assert f"53,06{NBSP}€" in html
    assert t("Being regularised") in html
    assert 'role="status"' in html


# --- Lost answer (time-out) ------------------------------------------------------------------------


def test_a_lost_answer_leaves_the_payment_pending_then_asking_again_settles_it_once():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    session = enter_card(plan, TIMEOUT)

    first = back(schedule, session)

    assert first.status == OutcomeStatus.PENDING
    assert "53,06" in regularisation.pending_message(first) or "53.06" in regularisation.pending_message(
        first
    )
    payment = Payment.objects.get(kind="regularisation")
    assert payment.status == PaymentStatus.PENDING
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.UNPAID

    again = back(schedule, session)

    assert again.status == OutcomeStatus.ACCEPTED
    assert SandboxCharge.objects.count() == 1  # charged once
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.REGULARISING


def test_the_reconciliation_settles_a_lost_answer_without_the_customer():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 1)
    back(schedule, enter_card(plan, TIMEOUT))
    key = Payment.objects.get().idempotency_key

    outcome = regularisation.regularisation_first_payment_reconcile(idempotency_key=key)

    assert outcome.status == OutcomeStatus.ACCEPTED
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert regularisation.regularisation_first_payment_reconcile(idempotency_key="debit-1") is None


# --- A plan already open --------------------------------------------------------------------------


def test_a_plan_being_paid_blocks_another_one():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    back(schedule, enter_card(plan, VISA_OK))
    schedule.refresh_from_db()
    assert (
        regularisation.regularisation_refusal(schedule=schedule).code == PaylaterErrorCode.REGULARISATION_OPEN
    )

    user = schedule.order.customer
    operation = regularisation.regularisation_operation(schedule=schedule, count=1)
    with pytest.raises(PaylaterError) as error:
        regularisation.regularisation_start(
            user=user,
            schedule=schedule,
            count=1,
            proof_id=signed_proof(user, operation),
            return_url=RETURN_URL,
            language="fr",
        )
    assert error.value.code == PaylaterErrorCode.REGULARISATION_OPEN
    assert RegularisationPlan.objects.count() == 1


def test_a_plan_whose_payment_is_still_unanswered_blocks_another_one():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    back(schedule, enter_card(plan, TIMEOUT))

    assert (
        regularisation.regularisation_refusal(schedule=schedule).code == PaylaterErrorCode.REGULARISATION_OPEN
    )


def test_a_plan_left_on_the_card_page_does_not_block_a_new_one_and_cannot_be_paid_after():
    schedule = make_unpaid_schedule()
    left = start(schedule, 3)
    left_session = CardSetup.objects.get(regularisation=left).provider_session

    new = start(schedule, 1)

    left.refresh_from_db()
    assert left.status == RegularisationStatus.FAILED
    assert new.status == RegularisationStatus.PENDING
    provider.session_card_enter(
        session=provider.session_get(left_session),
        card=card_for_number(digits_only(VISA_OK)),
        expiry_month=12,
        expiry_year=2030,
    )
    with pytest.raises(PaylaterError) as error:
        back(schedule, left_session)
    assert error.value.code == regularisation.RegularisationCode.PLAN_CLOSED
    assert SandboxCharge.objects.count() == 0


def test_another_customers_provider_session_is_a_404():
    schedule = make_unpaid_schedule()
    plan = start(schedule, 1)
    session = enter_card(plan, VISA_OK)
    intruder = make_consumer(email="intruder@example.com")

    with pytest.raises(Http404):
        regularisation.regularisation_returned(user=intruder, provider_session=session)
    assert Payment.objects.count() == 0


def test_a_schedule_paid_meanwhile_by_another_run_keeps_nothing_due():
    schedule = make_unpaid_schedule()
    settle(schedule.order, 2, 3, paid=True)

    assert regularisation.regularisation_refusal(schedule=schedule).code == PaylaterErrorCode.NOTHING_DUE


# --- The pages around the service ------------------------------------------------------------------


def logged_in(schedule) -> Client:
    client = Client()
    client.force_login(schedule.order.customer)
    return client


def test_a_lost_answer_shows_a_page_to_check_again_then_the_result():
    schedule = make_unpaid_schedule()
    session = enter_card(start(schedule, 1), TIMEOUT)
    client = logged_in(schedule)
    return_url = url("paylater:regularise_return") + f"?session={session}"

    pending = client.get(return_url)

    html = pending.content.decode()
    assert t("Payment being checked") in html
    assert f'href="{return_url}"' in html
    assert f"159,18{NBSP}€" in html
    again = client.get(return_url)
    assert t("Payment accepted") in again.content.decode()
    assert t("As of today, we confirm that this unpaid amount is now regularised.") in again.content.decode()


def test_a_card_not_accepted_says_nothing_was_charged_with_the_collections_number():
    schedule = make_unpaid_schedule()
    session = enter_card(start(schedule, 3), AMEX)

    response = logged_in(schedule).get(url("paylater:regularise_return") + f"?session={session}")

    html = response.content.decode()
    assert t("Payment not made") in html
    assert PaylaterError(PaylaterErrorCode.CARD_BRAND).message in html
    digits = "".join(c for c in settings.GUICHET_COLLECTIONS_PHONE if c.isdigit() or c == "+")
    assert f'href="tel:{digits}"' in html


def test_confirming_with_a_proof_that_is_not_one_shows_why_and_writes_nothing():
    schedule = make_unpaid_schedule()

    response = logged_in(schedule).get(
        url("paylater:regularise_confirm", pk=schedule.pk), {"count": "3", "proof": "not-a-proof"}
    )

    assert response.status_code == 200
    assert SigningError(SigningErrorCode.NOT_FOUND).message in response.content.decode()
    assert t("Regularisation not started") in response.content.decode()
    assert RegularisationPlan.objects.count() == 0


def test_confirming_a_signed_choice_goes_to_the_providers_card_page():
    schedule = make_unpaid_schedule()
    user = schedule.order.customer
    proof = signed_proof(user, regularisation.regularisation_operation(schedule=schedule, count=2))

    response = logged_in(schedule).get(
        url("paylater:regularise_confirm", pk=schedule.pk), {"count": "2", "proof": proof}
    )

    setup = CardSetup.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("paylater_sandbox:card", kwargs={"session_id": setup.provider_session})
    assert setup.regularisation.payment_count == 2


def test_the_regularise_page_of_a_schedule_being_regularised_says_a_plan_is_open():
    schedule = make_unpaid_schedule()
    back(schedule, enter_card(start(schedule, 3), VISA_OK))

    response = logged_in(schedule).get(url("paylater:regularise", pk=schedule.pk))

    assert PaylaterError(PaylaterErrorCode.REGULARISATION_OPEN).message in response.content.decode()
    assert 'name="count"' not in response.content.decode()


# --- A merchant's cancellation while a regularisation is under way (review findings) -------------


def test_a_partial_cancellation_drops_a_plan_still_waiting_for_its_card_and_nothing_is_charged():
    from guichet.paylater.cancellation import order_cancel
    from guichet.paylater.sandbox.models import SandboxCharge

    schedule = make_unpaid_schedule()
    plan = start(schedule, 1)
    session = enter_card(plan, VISA_OK)

    order_cancel(order=schedule.order, amount=D("150.00"), reference="AV-1")
    with pytest.raises(PaylaterError):
        back(schedule, session)

    plan.refresh_from_db()
    assert plan.status == RegularisationStatus.FAILED
    assert not SandboxCharge.objects.filter(kind="charge").exists()


def test_a_partial_cancellation_during_a_plan_respreads_what_is_left_and_refunds_the_excess_credit():
    from guichet.paylater.cancellation import order_cancel

    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    back(schedule, enter_card(plan, VISA_OK))  # 53.06 paid: 106.12 left in two parts

    version = order_cancel(order=schedule.order, amount=D("150.00"), reference="AV-2")

    schedule.refresh_from_db()
    plan.refresh_from_db()
    # 150.00 took the unpaid 79.59 + 79.59 down to 4.59 each (9.18 left), so 43.88 of the 53.06 already
    # paid is no longer owed: back to the card; what it covers is paid, nothing more to charge.
    assert version.card_refund == D("43.88")
    assert schedules.amount_due(schedule) == D("0.00")
    assert plan.status == RegularisationStatus.COMPLETED
    assert not plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).exists()


def test_a_smaller_cancellation_during_a_plan_spreads_the_new_amount_due_over_its_remaining_parts():
    from guichet.paylater.cancellation import order_cancel

    schedule = make_unpaid_schedule()
    plan = start(schedule, 3)
    back(schedule, enter_card(plan, VISA_OK))  # 53.06 paid

    order_cancel(order=schedule.order, amount=D("20.00"), reference="AV-3")

    schedule.refresh_from_db()
    due = schedules.amount_due(schedule)
    remaining = list(plan.parts.filter(status=InstalmentStatus.IN_PROGRESS).values_list("amount", flat=True))
    assert due == D("86.12")
    assert sum(remaining) == due
    assert remaining == [D("43.06"), D("43.06")]


def test_card_entries_and_regularisations_started_are_rate_limited_per_customer(client):
    schedule = make_unpaid_schedule()
    user = make_consumer_with_password()
    client.force_login(user)
    target = url("paylater:regularise", pk=schedule.pk)

    with override_settings(ACCOUNT_RATE_LIMITS={"guichet_paylater_card": "2/h/key"}):
        answers = [client.post(target, {"count": "3"}) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert t("Too many attempts. Please wait an hour and try again.") in answers[2].content.decode()
