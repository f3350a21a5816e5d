from typing import Any

import pytest
from django.test import Client

from guichet.notifications.admin import mask_recipient
from guichet.notifications.models import Message
from guichet.notifications.services import notify


@pytest.mark.parametrize(
    ("channel", "recipient", "masked"),
    [
        ("email", "marie.dupont@example.com", "m•••@example.com"),
        ("sms", "+32470123456", "+3247•••••56"),
    ],
)
def test_mask_recipient(channel: str, recipient: str, masked: str) -> None:
    assert mask_recipient(channel=channel, recipient=recipient) == masked


@pytest.fixture
def message(db: None) -> Message:
    [message] = notify(
        template="test_message",
        context={"name": "Marie", "code": "SECRET-CODE"},
        email="marie.dupont@example.com",
    )
    return message


def test_the_message_list_masks_recipients_and_shows_no_body(admin_client: Client, message: Message) -> None:
    response = admin_client.get("/backoffice/notifications/message/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "m•••@example.com" in html
    assert "marie.dupont@example.com" not in html
    assert "SECRET-CODE" not in html


def test_a_message_can_be_viewed_without_its_body(admin_client: Client, message: Message) -> None:
    response = admin_client.get(f"/backoffice/notifications/message/{message.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "SECRET-CODE" not in html
    assert "marie.dupont@example.com" not in html


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "add/"), ("post", "{pk}/change/"), ("get", "{pk}/delete/"), ("post", "{pk}/delete/")],
)
def test_messages_cannot_be_added_changed_or_deleted(
    admin_client: Client, message: Message, method: str, path: str
) -> None:
    url = "/backoffice/notifications/message/" + path.format(pk=message.pk)

    response = getattr(admin_client, method)(url, {"status": "sent"} if method == "post" else None)

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "queued"
    assert Message.objects.count() == 1


def test_outsiders_see_nothing(client: Client, message: Message, django_user_model: Any) -> None:
    response = client.get("/backoffice/notifications/message/")

    assert response.status_code == 302
