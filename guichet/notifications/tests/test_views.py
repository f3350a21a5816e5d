from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from guichet.notifications.models import OutboxEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries() -> list[OutboxEntry]:
    return [
        OutboxEntry.objects.create(
            channel="email",
            recipient="marie@example.com",
            subject="Bienvenue",
            body="Bonjour Marie,\n",
            body_html="<p>Bonjour Marie,</p>",
            created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        ),
        OutboxEntry.objects.create(
            channel="sms",
            recipient="+32470123456",
            body="Code 123456",
            created_at=datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
        ),
    ]


def test_outbox_json_lists_every_message_newest_first(client: Client, entries: list[OutboxEntry]) -> None:
    response = client.get("/dev/outbox.json")

    assert response.status_code == 200
    assert response.json() == [
        {
            "channel": "sms",
            "recipient": "+32470123456",
            "subject": "",
            "body": "Code 123456",
            "time": "2026-03-02T09:01:00+00:00",
        },
        {
            "channel": "email",
            "recipient": "marie@example.com",
            "subject": "Bienvenue",
            "body": "Bonjour Marie,\n",
            "time": "2026-03-02T09:00:00+00:00",
        },
    ]


def test_outbox_page_shows_a_table_newest_first(client: Client, entries: list[OutboxEntry]) -> None:
    response = client.get("/dev/outbox/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["notifications/outbox.html", "base.html"]
    html = response.content.decode()
    assert "<caption>2 messages, newest first</caption>" in html
    assert '<th scope="col">Recipient</th>' in html
    assert html.index("Code 123456") < html.index("Bonjour Marie,")


def test_an_empty_outbox_says_so(client: Client) -> None:
    response = client.get("/dev/outbox/", HTTP_ACCEPT_LANGUAGE="en")

    assert "The outbox is empty." in response.content.decode()
    assert client.get("/dev/outbox.json").json() == []


@pytest.mark.parametrize("url", ["/dev/outbox/", "/dev/outbox.json"])
def test_the_outbox_does_not_exist_unless_enabled(
    client: Client, settings: Any, entries: list[OutboxEntry], url: str
) -> None:
    settings.GUICHET_DEV_OUTBOX = False

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/dev/outbox/", "/dev/outbox.json"])
def test_the_outbox_is_read_only(client: Client, url: str) -> None:
    assert client.post(url).status_code == 405
