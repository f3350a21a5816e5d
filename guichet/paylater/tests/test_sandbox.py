"""The sandbox payment provider: test cards, idempotent charges, the time-out card, the card page,
its sessions and its signed notifications."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from guichet.paylater.gateway import ChargeRequest, NotificationInvalid, ProviderUnavailable
from guichet.paylater.sandbox import provider
from guichet.paylater.sandbox.cards import (
    PREREGISTERED_TOKENS,
    TEST_CARDS,
    brand_detect,
    card_for_number,
    digits_only,
    luhn_valid,
)
from guichet.paylater.sandbox.models import SandboxCard, SandboxCharge, SandboxSession
from guichet.paylater.sandbox.notify import post_notification

pytestmark = pytest.mark.django_db

SECRET = "test-notification-secret"
RETURN_URL = "https://guichet.example/fr/paylater/card/return/"


def sandbox() -> provider.SandboxGateway:
    return provider.SandboxGateway()


def charge(token: str = "tok_test_visa_4242", key: str = "key-1", amount: str = "42.65") -> ChargeRequest:  # noqa: S107
    return ChargeRequest(token=token, amount=Decimal(amount), currency="EUR", idempotency_key=key)


# --- Test cards ------------------------------------------------------------------------------------


def test_every_test_card_is_a_valid_number_of_its_brand() -> None:
    for card in TEST_CARDS:
        assert luhn_valid(card.digits), card.number
        assert brand_detect(card.digits) == card.brand
        assert card_for_number(card.digits) == card


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4242424242424241", False),
        ("42424242", False),
        ("4242x24242424242", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5105105105105100", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "other"),
    ],
)
def test_brand_detection(number: str, brand: str) -> None:
    assert brand_detect(number) == brand


def test_typed_numbers_lose_their_spaces_and_dashes() -> None:
    assert digits_only(" 4242 4242-4242 4242 ") == "4242424242424242"


# --- Charges -----------------------------------------------------------------------------------------


def test_the_same_key_twice_charges_once_and_answers_the_same() -> None:
    first = sandbox().charge(charge())
    second = sandbox().charge(charge(amount="99.99"))
    assert first.succeeded and first == second
    assert SandboxCharge.objects.count() == 1
    assert SandboxCharge.objects.get().amount == Decimal("42.65")


@pytest.mark.parametrize(
    ("token", "succeeded", "reason"),
    [
        ("tok_test_visa_4242", True, ""),
        ("tok_test_mastercard_4444", True, ""),
        ("tok_test_declined_0002", False, "declined"),
        ("tok_test_insufficient_9995", False, "insufficient_funds"),
        ("tok_test_expired_0069", False, "expired_card"),
        ("tok_unknown", False, "unknown_card"),
    ],
)
def test_each_card_behaviour(token: str, succeeded: bool, reason: str) -> None:
    result = sandbox().charge(charge(token=token))
    assert (result.succeeded, result.reason) == (succeeded, reason)
    assert result.reference.startswith("sbx_ch_")


def test_a_card_registered_on_the_page_charges_as_its_test_number() -> None:
    SandboxCard.objects.create(
        token="tok_sbx_1",
        brand="visa",
        last4="9995",
        expiry_month=1,
        expiry_year=2031,
        behaviour="insufficient_funds",
    )
    assert sandbox().charge(charge(token="tok_sbx_1")).reason == "insufficient_funds"


def test_the_timeout_card_loses_the_first_answer_only() -> None:
    with pytest.raises(ProviderUnavailable):
        sandbox().charge(charge(token="tok_test_timeout_0119"))
    recorded = SandboxCharge.objects.get()
    assert recorded.outcome == "succeeded"  # charged although the answer was lost
    again = sandbox().charge(charge(token="tok_test_timeout_0119"))
    assert again.succeeded and again.reference == recorded.reference
    assert SandboxCharge.objects.count() == 1


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example")
def test_a_lost_answer_is_followed_by_a_charge_settled_notification() -> None:
    with pytest.raises(ProviderUnavailable):
        sandbox().charge(charge(token="tok_test_timeout_0119", key="debit-7"))
    task = DBTaskResult.objects.get(task_path__endswith="post_notification")
    body = json.loads(task.args_kwargs["args"][0])
    assert body["kind"] == "charge.settled" and body["idempotency_key"] == "debit-7"


def test_refunds_are_recorded_as_refunds() -> None:
    result = sandbox().refund(charge(key="refund-1"))
    assert result.succeeded and result.reference.startswith("sbx_re_")
    assert SandboxCharge.objects.get().kind == "refund"


def test_charge_many_answers_in_order_with_a_fixed_number_of_queries() -> None:
    sandbox().charge(charge(token="tok_test_declined_0002", key="k-3"))
    tokens = ["tok_test_visa_4242", "tok_test_insufficient_9995", "tok_test_mastercard_4444"]
    requests = [charge(token=tokens[i % 3], key=f"k-{i}") for i in range(1000)]
    with CaptureQueriesContext(connection) as queries:
        results = sandbox().charge_many(requests)
    # One read, one bulk insert, one read (and savepoints), whatever the size; SQLite splits a bulk
    # insert by its limit on query parameters.
    assert len(queries) == (5 if connection.vendor == "postgresql" else 13)
    assert [r.idempotency_key for r in results] == [f"k-{i}" for i in range(1000)]
    assert results[3].reason == "declined"  # recorded before: answered as it was, not charged again
    assert results[4].reason == "insufficient_funds" and results[5].succeeded
    assert SandboxCharge.objects.count() == 1000
    assert sandbox().charge_many(requests) == results
    assert SandboxCharge.objects.count() == 1000


def test_a_batch_with_a_timeout_card_is_recorded_then_answered_on_retry() -> None:
    requests = [charge(key="a"), charge(token="tok_test_timeout_0119", key="b"), charge(key="c")]
    with pytest.raises(ProviderUnavailable):
        sandbox().charge_many(requests)
    assert SandboxCharge.objects.count() == 3
    assert [r.succeeded for r in sandbox().charge_many(requests)] == [True, True, True]


def test_a_key_twice_in_one_batch_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        sandbox().charge_many([charge(key="x"), charge(key="x")])


def test_charge_many_of_nothing() -> None:
    assert sandbox().charge_many([]) == []


def test_preregistered_tokens_follow_the_naming_rule() -> None:
    for token, known in PREREGISTERED_TOKENS.items():
        assert token.startswith("tok_test_") and token.endswith(known.last4)


# --- Sessions and the card page --------------------------------------------------------------------


def open_session(return_url: str = RETURN_URL, language: str = "en") -> tuple[str, str]:
    session = sandbox().setup_session_create(
        reference="CMD1-card_change", return_url=return_url, language=language
    )
    return session.id, session.redirect_url


def test_a_session_sends_to_the_card_page(client) -> None:
    session_id, url = open_session()
    assert url == reverse("paylater_sandbox:card", kwargs={"session_id": session_id})
    response = client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Sandbox payment provider — test mode" in content
    assert 'autocomplete="cc-number"' in content and 'autocomplete="cc-exp"' in content
    assert 'autocomplete="cc-csc"' in content
    for card in TEST_CARDS:
        assert card.number in content
    assert sandbox().setup_result(session_id=session_id).status == "open"


def test_the_page_speaks_the_session_language(client) -> None:
    _session_id, url = open_session(language="fr")
    assert '<html lang="fr">' in client.get(url).content.decode()


def enter(client, url: str, number: str = "4242 4242 4242 4242", expiry: str = "12/30", cvc: str = "123"):
    return client.post(url, {"number": number, "expiry": expiry, "cvc": cvc, "action": "save"})


def test_a_test_card_completes_the_session_and_returns_with_its_id(client) -> None:
    session_id, url = open_session()
    response = enter(client, url, number="5555555555554444", expiry="03/31")
    assert response.status_code == 302
    assert response["Location"] == f"{RETURN_URL}?session={session_id}"
    result = sandbox().setup_result(session_id=session_id)
    assert (result.status, result.brand, result.last4) == ("completed", "mastercard", "4444")
    assert (result.expiry_month, result.expiry_year) == (3, 2031)
    assert result.token.startswith("tok_sbx_")
    assert sandbox().charge(charge(token=result.token)).succeeded


def test_the_return_url_keeps_its_query(client) -> None:
    session_id, url = open_session(return_url=RETURN_URL + "?step=2")
    assert enter(client, url)["Location"] == f"{RETURN_URL}?step=2&session={session_id}"


def test_the_card_number_is_never_stored(client) -> None:
    _session_id, url = open_session()
    enter(client, url, number="4000 0000 0000 9995", cvc="987")
    card = SandboxCard.objects.get()
    rows = [SandboxCard.objects.values().get(), SandboxSession.objects.values().get()]
    stored = json.dumps([list(row.values()) for row in rows], default=str)
    assert "4000000000009995" not in stored
    # The security code is 3 digits, which a random token or a timestamp may contain by chance: it
    # must be no field's value, and no field may be meant for it.
    assert all(str(value) != "987" for row in rows for value in row.values())
    assert not any("cvc" in name or "number" in name for row in rows for name in row)
    assert (card.brand, card.last4, card.behaviour) == ("visa", "9995", "insufficient_funds")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"number": "4111 1111 1111 1111"},
            "This test page accepts only the test card numbers listed on it.",
        ),
        ({"number": "4111 1111 1111 1112"}, "This card number is not valid: check the digits."),
        ({"expiry": "13/30"}, "Enter the expiry date as MM/YY, for example 12/30."),
        ({"expiry": "01/20"}, "This card has expired."),
        ({"cvc": "12"}, "Enter the 3-digit security code."),
        ({"number": "3782 822463 10005", "cvc": "123"}, "Enter the 4-digit security code."),
    ],
)
def test_errors_are_explained_and_the_number_is_not_echoed(client, fields: dict, message: str) -> None:
    session_id, url = open_session()
    data = {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123", "action": "save"} | fields
    response = client.post(url, data)
    content = response.content.decode()
    assert response.status_code == 200
    assert message in content and 'aria-invalid="true"' in content
    typed = data["number"]
    if typed not in {card.number for card in TEST_CARDS}:
        assert typed not in content and typed.replace(" ", "") not in content
    assert 'name="number" value' not in content and 'name="cvc" value' not in content
    assert sandbox().setup_result(session_id=session_id).status == "open"
    assert not SandboxCard.objects.exists()


def test_the_current_month_is_still_valid(client) -> None:
    today = timezone.localdate()
    _session_id, url = open_session()
    assert enter(client, url, expiry=f"{today.month:02d}/{today.year % 100:02d}").status_code == 302


def test_amex_is_accepted_by_the_sandbox_with_its_brand(client) -> None:
    session_id, url = open_session()
    enter(client, url, number="3782 822463 10005", cvc="1234")
    assert sandbox().setup_result(session_id=session_id).brand == "amex"


def test_cancel_returns_without_a_card(client) -> None:
    session_id, url = open_session()
    response = client.post(url, {"action": "cancel", "number": "", "expiry": "", "cvc": ""})
    assert response["Location"] == f"{RETURN_URL}?session={session_id}"
    assert sandbox().setup_result(session_id=session_id).status == "cancelled"
    assert not SandboxCard.objects.exists()


def test_an_unknown_session_gets_a_clear_page(client) -> None:
    for session_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = client.get(reverse("paylater_sandbox:card", kwargs={"session_id": session_id}))
        assert response.status_code == 404
        with translation.override("fr"):
            expected = escape(gettext("Unknown card session"))
        assert expected in response.content.decode()
    assert sandbox().setup_result(session_id="not-a-uuid").status == "cancelled"


def test_a_completed_session_cannot_take_another_card(client) -> None:
    session_id, url = open_session()
    enter(client, url)
    response = enter(client, url, number="5555 5555 5555 4444")
    assert response.status_code == 410
    assert "A card was already entered in this session." in response.content.decode()
    assert f"session={session_id}" in response.content.decode()
    assert SandboxCard.objects.count() == 1


def test_an_expired_session_gets_a_clear_page(client) -> None:
    session_id, url = open_session()
    SandboxSession.objects.filter(pk=session_id).update(
        created_at=timezone.now() - provider.SESSION_LIFETIME - datetime.timedelta(seconds=1)
    )
    response = enter(client, url)
    assert response.status_code == 410
    assert "This session has expired" in response.content.decode()
    assert not SandboxCard.objects.exists()
    assert sandbox().setup_result(session_id=session_id).status == "cancelled"


# --- Notifications -------------------------------------------------------------------------------


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example/")
def test_completing_a_session_queues_a_signed_notification(client) -> None:
    session_id, url = open_session()
    enter(client, url)
    task = DBTaskResult.objects.get(task_path__endswith="post_notification")
    body, attempt = task.args_kwargs["args"]
    assert json.loads(body) | {"id": "x"} == {"id": "x", "kind": "setup.completed", "session_id": session_id}
    assert attempt == 1


@override_settings(GUICHET_PUBLIC_URL="")
def test_without_a_public_url_nothing_is_queued(client) -> None:
    _session_id, url = open_session()
    enter(client, url)
    assert not DBTaskResult.objects.exists()


@override_settings(GUICHET_PAYMENT_NOTIFICATION_SECRET=SECRET)
def test_notification_verify() -> None:
    body = provider.notification_body(kind="setup.cancelled", session_id="s-1")
    notification = sandbox().notification_verify(body=body, signature=provider.notification_sign(body))
    assert (notification.kind, notification.session_id) == ("setup.cancelled", "s-1")
    assert notification.id.startswith("evt_")
    with pytest.raises(NotificationInvalid):
        sandbox().notification_verify(body=body, signature="0" * 64)
    with pytest.raises(NotificationInvalid):
        sandbox().notification_verify(body=body + b" ", signature=provider.notification_sign(body))
    for bad in (b"[]", b"{", b'{"id":"e","kind":"refund.done"}', b'{"id":"e","kind":"charge.settled"}'):
        with pytest.raises(NotificationInvalid):
            sandbox().notification_verify(body=bad, signature=provider.notification_sign(bad))


@override_settings(GUICHET_PAYMENT_NOTIFICATION_SECRET="")
def test_no_notification_is_valid_without_a_secret() -> None:
    body = provider.notification_body(kind="setup.cancelled", session_id="s-1")
    with pytest.raises(NotificationInvalid):
        sandbox().notification_verify(body=body, signature=provider.notification_sign(body))


@override_settings(GUICHET_PUBLIC_URL="https://guichet.example")
def test_a_failed_post_is_retried_later(monkeypatch) -> None:
    from guichet.paylater.sandbox import notify

    calls = []
    monkeypatch.setattr(notify, "_post", lambda url, body: calls.append(url) or 503)
    assert post_notification.call('{"id":"e"}', 1) == "retrying"
    assert calls == ["https://guichet.example/paylater/provider/notifications/"]
    retry = DBTaskResult.objects.get(task_path__endswith="post_notification")
    assert retry.args_kwargs["args"] == ['{"id":"e"}', 2] and retry.run_after > timezone.now()
    assert post_notification.call('{"id":"e"}', notify.MAX_ATTEMPTS) == "given-up"
    monkeypatch.setattr(notify, "_post", lambda url, body: 200)
    assert post_notification.call('{"id":"e"}', 1) == "delivered"
