from decimal import Decimal

import pytest
from django.db import transaction
from django.test import RequestFactory

from guichet.audit.chain import event_hash
from guichet.audit.models import GENESIS_HASH, AuditEvent
from guichet.audit.redaction import REDACTED
from guichet.audit.services import client_ip, record
from guichet.audit.verify import ChainReport, chain_verify
from guichet.backoffice.tests.factories import make_advisor, make_customer
from guichet.web import request_id

pytestmark = pytest.mark.django_db


def test_events_are_numbered_and_chained() -> None:
    first = record(action="test.first")
    second = record(action="test.second")

    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len(first.hash) == 64


def test_the_hash_survives_the_database_round_trip() -> None:
    # given an event whose fields all need care: unicode, IPv6, nested JSON, money
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::1", HTTP_USER_AGENT="Navigateur é/1.0")
    event = record(
        action="test.round_trip",
        target="Société Générale · 🏦",
        request=request,
        details={"amount": Decimal("127.96"), "parts": [42.66, 42.65], "z": {"b": 1, "a": None}},
    )

    stored = AuditEvent.objects.get(pk=event.pk)

    assert event_hash(stored) == stored.hash == event.hash
    assert stored.ip_address == "2001:db8::1"
    assert stored.details == {"amount": "127.96", "parts": ["42.66", "42.65"], "z": {"a": None, "b": 1}}


@pytest.mark.parametrize("remote_addr", ["::ffff:192.0.2.7", "::ffff:c000:207"])
def test_an_ipv4_mapped_address_keeps_the_chain_verifiable(remote_addr: str) -> None:
    event = record(action="test.mapped", request=RequestFactory().get("/", REMOTE_ADDR=remote_addr))

    stored = AuditEvent.objects.get(pk=event.pk)

    assert (event.ip_address, stored.ip_address) == ("::ffff:192.0.2.7", "::ffff:192.0.2.7")
    assert chain_verify() == ChainReport(count=1, head_seq=1, head_hash=event.hash)


def test_actor_target_and_request_context_are_kept() -> None:
    advisor, customer = make_advisor(), make_customer()
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Firefox/140")
    token = request_id.start("req-12345678")
    try:
        event = record(action="user.changed", actor=advisor, target=customer, request=request)
    finally:
        request_id.reset(token)

    assert (event.actor_id, event.actor_label) == (advisor.pk, "advisor1")
    assert (event.target_type, event.target_id, event.target_label) == (
        "identity.user",
        str(customer.pk),
        "CC100001",
    )
    assert (event.ip_address, event.user_agent, event.request_id) == (
        "192.0.2.10",
        "Firefox/140",
        "req-12345678",
    )


def test_the_actor_defaults_to_the_requests_user() -> None:
    customer = make_customer()
    request = RequestFactory().get("/")
    request.user = customer

    event = record(action="identity.login", request=request)

    assert (event.actor_id, event.actor_label) == (customer.pk, "CC100001")


def test_without_request_nor_actor_the_context_is_empty() -> None:
    event = record(action="system.tick")

    assert (event.actor_id, event.actor_label, event.ip_address, event.user_agent, event.request_id) == (
        None,
        "",
        None,
        "",
        "",
    )


def test_secrets_in_details_are_redacted() -> None:
    event = record(
        action="test.secrets",
        details={
            "password": "hunter2",
            "newPassword": "hunter3",
            "one_time_code": "123456",
            "card_number": "4111111111111111",
            "cardNumber": "4111111111111111",
            "nested": [{"access_token": "abc", "kept": "yes"}],
            "error_code": "E42",
            "fields": ["password", "email"],
        },
    )

    assert AuditEvent.objects.get(pk=event.pk).details == {
        "password": REDACTED,
        "newPassword": REDACTED,
        "one_time_code": REDACTED,
        "card_number": REDACTED,
        "cardNumber": REDACTED,
        "nested": [{"access_token": REDACTED, "kept": "yes"}],
        "error_code": "E42",
        "fields": ["password", "email"],
    }


def test_an_event_is_rolled_back_with_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="test.rolled_back")
        raise RuntimeError

    assert AuditEvent.objects.count() == 0
    assert record(action="test.next").seq == 1


def test_events_outlive_their_actor() -> None:
    customer = make_customer()
    event = record(action="identity.login", actor=customer)

    customer.delete()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_id, stored.actor_label) == (event.actor_id, "CC100001")
    assert event_hash(stored) == stored.hash


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1", "", "192.0.2.1"),
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # the header is ignored without a trusted proxy
        (1, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the client's own entry is ignored
        (2, "10.0.0.2", "198.51.100.7, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (2, "10.0.0.2", "203.0.113.9", "10.0.0.2"),  # a proxy was bypassed
        (1, "10.0.0.1", "not-an-ip", None),
        (0, "::ffff:c000:207", "", "::ffff:192.0.2.7"),  # IPv4-mapped: the database's form
        (1, "10.0.0.1", "::FFFF:192.0.2.7", "::ffff:192.0.2.7"),
        (0, "2001:DB8:0:0::1", "", "2001:db8::1"),
        (0, "", "", None),
    ],
)
def test_client_ip(
    settings, proxies: int, remote_addr: str, forwarded_for: str, expected: str | None
) -> None:
    settings.GUICHET_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip(request) == expected
