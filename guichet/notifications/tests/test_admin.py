from typing import Any

import pytest
from django.test import Client

from guichet.notifications.admin import mask_addresses, mask_recipient
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


@pytest.mark.parametrize(
    ("error", "masked"),
    [
        (
            "SMTPRecipientsRefused: {'marie.dupont@example.com': (550, b'5.1.1 <marie.dupont@example.com>: "
            "Recipient address rejected')}",
            "SMTPRecipientsRefused: {'m•••@example.com': (550, b'5.1.1 <m•••@example.com>: "
            "Recipient address rejected')}",
        ),
        ("HTTP 400: invalid number +32470123456", "HTTP 400: invalid number +3247•••••56"),
        ("HTTP 400: invalid number 32470123456", "HTTP 400: invalid number 32470••••56"),
        (
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
        ("", ""),
    ],
)
def test_mask_addresses(error: str, masked: str) -> None:
    assert mask_addresses(error) == masked


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


def test_the_last_error_is_shown_with_addresses_masked(admin_client: Client, message: Message) -> None:
    message.last_error = "SMTPRecipientsRefused: 550 5.1.1 <marie.dupont@example.com>: unknown user"
    message.save(update_fields=["last_error"])

    response = admin_client.get(f"/backoffice/notifications/message/{message.pk}/change/")

    assert response.status_code == 200
    assert "marie.dupont@example.com" not in response.text
    assert "SMTPRecipientsRefused: 550 5.1.1 &lt;m•••@example.com&gt;: unknown user" in response.text


@pytest.mark.parametrize(
    ("lookup", "value"),
    [
        ("body_text__contains", "SECRET-CODE"),
        ("body_html__icontains", "SECRET"),
        ("subject__startswith", "T"),
        ("recipient__startswith", "marie."),
        ("recipient", "marie.dupont@example.com"),
        ("last_error__contains", "@"),
        ("template", "test_message"),
        ("user__password__startswith", "a"),
    ],
)
def test_the_list_cannot_be_filtered_on_content_or_recipients(
    admin_client: Client, message: Message, lookup: str, value: str
) -> None:
    right = admin_client.get("/backoffice/notifications/message/", {lookup: value})
    wrong = admin_client.get("/backoffice/notifications/message/", {lookup: "zzz-no-match"})

    assert (right.status_code, wrong.status_code) == (400, 400)
    assert "m•••@example.com" not in right.text


@pytest.mark.parametrize(
    "query",
    [
        {"status__exact": "queued"},
        {"channel__exact": "email"},
        {"created_at__year": "2026"},
        {"created_at__year": "2026", "created_at__month": "1"},
    ],
)
def test_the_list_filters_and_date_hierarchy_still_work(
    admin_client: Client, message: Message, query: dict[str, str]
) -> None:
    message.created_at = message.created_at.replace(year=2026, month=1, day=15)
    message.save(update_fields=["created_at"])

    response = admin_client.get("/backoffice/notifications/message/", query)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [message]


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
