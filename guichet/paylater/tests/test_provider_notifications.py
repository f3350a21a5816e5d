"""The payment provider's notifications endpoint: signature checked, each notification handled once,
``setup.*`` storing the card entered, ``charge.settled`` reconciling a pending payment."""

import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from guichet.paylater import cards, provider_views
from guichet.paylater.models import CardSetupPurpose, CardSetupStatus, NotificationReceipt
from guichet.paylater.sandbox import notify, provider
from guichet.paylater.sandbox.cards import card_for_number
from guichet.paylater.testing import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_secret")]

SECRET = "notifications-test-secret"
URL = "/paylater/provider/notifications/"


@pytest.fixture
def _secret():
    with override_settings(GUICHET_PAYMENT_NOTIFICATION_SECRET=SECRET):
        yield


def post(body: bytes, signature: str | None = None, client: Client | None = None):
    client = client or Client(enforce_csrf_checks=True)  # a machine: no CSRF token, the signature instead
    headers = {
        provider.SIGNATURE_HEADER: provider.notification_sign(body) if signature is None else signature
    }
    return client.post(URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def entered_setup():
    """A card change whose card was typed at the provider; the customer has not come back yet."""
    schedule = make_order().schedule
    setup, _url = cards.card_setup_start(
        schedule=schedule,
        purpose=CardSetupPurpose.CARD_CHANGE,
        return_url="https://g.example/r/",
        language="en",
    )
    provider.session_card_enter(
        session=provider.session_get(setup.provider_session),
        card=card_for_number("5555555555554444"),
        expiry_month=11,
        expiry_year=2032,
    )
    return setup


def test_the_url() -> None:
    assert reverse("paylater_provider_notifications") == URL
    assert notify.notification_url().endswith(URL)


def test_a_signed_setup_notification_stores_the_card(entered_setup) -> None:
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)
    response = post(body)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    entered_setup.refresh_from_db()
    assert entered_setup.status == CardSetupStatus.RETURNED
    assert (entered_setup.brand, entered_setup.last4) == ("mastercard", "4444")


def test_a_bad_signature_changes_nothing(entered_setup) -> None:
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)
    for signature in ("", "0" * 64, provider.notification_sign(body + b"x")):
        assert post(body, signature=signature).status_code == 400
    with override_settings(GUICHET_PAYMENT_NOTIFICATION_SECRET="another-secret"):
        forged = provider.notification_sign(body)
    assert post(body, signature=forged).status_code == 400
    entered_setup.refresh_from_db()
    assert entered_setup.status == CardSetupStatus.STARTED
    assert not NotificationReceipt.objects.exists()


def test_a_malformed_body_is_refused() -> None:
    for body in (
        b"not json",
        b'{"id":"evt_1","kind":"unknown"}',
        b'{"kind":"setup.completed","session_id":"s"}',
    ):
        assert post(body).status_code == 400
    assert not NotificationReceipt.objects.exists()


def test_a_replayed_notification_is_processed_once(monkeypatch, entered_setup) -> None:
    handled = []
    monkeypatch.setattr(cards, "setup_notified", lambda **kwargs: handled.append(kwargs))
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)
    assert post(body).json()["duplicate"] is False
    assert post(body).json()["duplicate"] is True
    assert handled == [{"provider_session": entered_setup.provider_session}]
    assert NotificationReceipt.objects.count() == 1


def test_a_failed_handling_is_not_recorded_so_the_provider_retries(monkeypatch, entered_setup) -> None:
    def broken(**kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(cards, "setup_notified", broken)
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)
    assert post(body, client=Client(raise_request_exception=False)).status_code == 500
    assert not NotificationReceipt.objects.exists()


def test_a_charge_settled_notification_reconciles_the_payment(monkeypatch) -> None:
    from guichet.paylater import debits

    reconciled = []
    monkeypatch.setattr(debits, "payment_reconcile", lambda **kwargs: reconciled.append(kwargs))
    body = provider.notification_body(kind="charge.settled", idempotency_key="debit-42")
    assert post(body).status_code == 200
    assert post(body).status_code == 200
    assert reconciled == [{"idempotency_key": "debit-42"}]


def test_only_post(client) -> None:
    assert client.get(URL).status_code == 405


def test_an_oversized_body_is_refused() -> None:
    body = json.dumps({"id": "evt", "kind": "setup.completed", "session_id": "x" * 20000}).encode()
    assert post(body).status_code == 413


def test_the_sandbox_task_posts_what_the_endpoint_accepts(monkeypatch, entered_setup) -> None:
    """End to end without a network: the task's request goes through the test client."""
    client = Client(enforce_csrf_checks=True)

    def through_client(url: str, body: bytes) -> int:
        return client.post(
            url, data=body, content_type="application/json", headers=notify.notification_headers(body)
        ).status_code

    monkeypatch.setattr(notify, "_post", lambda url, body: through_client(URL, body))
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)
    assert notify.post_notification.call(body.decode(), 1) == "delivered"
    entered_setup.refresh_from_db()
    assert entered_setup.status == CardSetupStatus.RETURNED


def test_receive_is_idempotent_outside_http() -> None:
    notification = provider.SandboxGateway().notification_verify(
        body=(body := provider.notification_body(kind="setup.cancelled", session_id="none")),
        signature=provider.notification_sign(body),
    )
    assert provider_views.notification_receive(notification) is True
    assert provider_views.notification_receive(notification) is False


def test_a_signature_that_is_not_hex_is_refused_not_a_server_error(entered_setup) -> None:
    body = provider.notification_body(kind="setup.completed", session_id=entered_setup.provider_session)

    answer = post(body, signature="é" * 64)

    assert answer.status_code == 400
    assert not NotificationReceipt.objects.exists()
