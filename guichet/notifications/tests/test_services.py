from typing import Any

import pytest
from django.db import transaction
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from guichet.notifications.error_codes import NotificationErrorCode
from guichet.notifications.exceptions import NotificationError
from guichet.notifications.models import Message
from guichet.notifications.services import notify

CONTEXT = {"name": "Marie", "code": "123456"}


def _notify(**kwargs: Any) -> list[Message]:
    kwargs.setdefault("template", "test_message")
    kwargs.setdefault("context", CONTEXT)
    return notify(**kwargs)


def test_notify_stores_the_rendered_email_and_enqueues_its_delivery(make_user: Any) -> None:
    # Given a user who prefers English
    user = make_user(email="marie@example.com", preferred_language="en")

    # When they are notified
    [message] = _notify(user=user)

    # Then one queued message holds everything the worker needs
    message.refresh_from_db()
    assert (message.channel, message.recipient, message.template, message.language) == (
        "email",
        "marie@example.com",
        "test_message",
        "en",
    )
    assert message.subject == "Test message from Banque Aubépine"
    assert message.body_text.startswith("Hello Marie,\n")
    assert "<p>Hello Marie,</p>" in message.body_html
    assert (message.status, message.attempts, message.user) == ("queued", 0, user)
    # And its delivery task was written with it
    task = DBTaskResult.objects.get()
    assert task.id == message.task_id
    assert task.task_path == "guichet.notifications.tasks.deliver_message"
    assert task.args_kwargs == {"args": [message.pk], "kwargs": {}}
    assert (task.status, task.priority) == ("READY", 0)


def test_email_and_sms_make_one_message_each(make_user: Any) -> None:
    user = make_user(email="marie@example.com", mobile_phone="+32470123456", preferred_language="en")

    messages = _notify(user=user, channels=["email", "sms"])

    assert [(m.channel, m.recipient, m.language) for m in messages] == [
        ("email", "marie@example.com", "en"),
        ("sms", "+32470123456", "en"),
    ]
    assert messages[1].body_text == "Banque Aubépine: test message for Marie. Reference 123456."
    assert (messages[1].subject, messages[1].body_html) == ("", "")
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_an_address_without_user_gets_the_default_language() -> None:
    [message] = _notify(email="someone@example.com")

    assert (message.recipient, message.language, message.user) == ("someone@example.com", "fr", None)


def test_explicit_language_and_contact_override_the_users(make_user: Any) -> None:
    user = make_user(email="marie@example.com", mobile_phone="+32470123456", preferred_language="nl")

    messages = _notify(
        user=user,
        email="other@example.com",
        phone="+32 471 00 00 00",
        language="de",
        channels=["email", "sms"],
    )

    assert [(m.recipient, m.language) for m in messages] == [
        ("other@example.com", "de"),
        ("+32471000000", "de"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channels": ["email", "sms"]}, NotificationErrorCode.MISSING_PHONE),
        ({"email": "not-an-address"}, NotificationErrorCode.INVALID_EMAIL),
        ({"phone": "+32 12", "channels": ["sms"]}, NotificationErrorCode.INVALID_PHONE),
        ({"channels": ["pigeon"]}, NotificationErrorCode.UNKNOWN_CHANNEL),
        ({"channels": []}, NotificationErrorCode.NO_CHANNEL),
        ({"language": "es"}, NotificationErrorCode.UNSUPPORTED_LANGUAGE),
        ({"template": "no_such_template"}, NotificationErrorCode.UNKNOWN_TEMPLATE),
        ({"idempotency_key": ""}, NotificationErrorCode.INVALID_IDEMPOTENCY_KEY),
        ({"idempotency_key": "k" * 201}, NotificationErrorCode.INVALID_IDEMPOTENCY_KEY),
    ],
)
def test_bad_input_is_a_domain_error_and_writes_nothing(make_user: Any, kwargs: dict, code: str) -> None:
    user = make_user(email="marie@example.com")

    with pytest.raises(NotificationError) as raised:
        _notify(user=user, **kwargs)

    assert raised.value.code == code
    assert (Message.objects.count(), DBTaskResult.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_an_address_is_needed_for_email() -> None:
    with pytest.raises(NotificationError) as raised:
        _notify()

    assert raised.value.code == NotificationErrorCode.MISSING_EMAIL
    with translation.override("en"):
        assert str(raised.value.code.label) == "There is no e-mail address to send this message to."


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_message_and_no_task() -> None:
    # Given a change that notifies, then fails in the same transaction
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify(email="marie@example.com", channels=["email"])
        assert Message.objects.count() == 1
        raise RuntimeError("the change failed")

    # Then neither the message nor its task survived
    assert (Message.objects.count(), DBTaskResult.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_keeps_the_message_and_its_task() -> None:
    with transaction.atomic():
        _notify(email="marie@example.com")

    assert (Message.objects.count(), DBTaskResult.objects.count()) == (1, 1)


@pytest.mark.django_db
def test_the_same_idempotency_key_queues_once() -> None:
    first = _notify(
        email="marie@example.com", channels=["email", "sms"], phone="+32470123456", idempotency_key="k1"
    )

    again = _notify(
        email="marie@example.com", channels=["email", "sms"], phone="+32470123456", idempotency_key="k1"
    )

    assert [m.pk for m in again] == [m.pk for m in first]
    assert [m.idempotency_key for m in first] == ["k1:email", "k1:sms"]
    assert (Message.objects.count(), DBTaskResult.objects.count()) == (2, 2)


@pytest.mark.django_db
def test_sensitive_messages_overtake_bulk_mail() -> None:
    [message] = _notify(phone="+32470123456", channels=["sms"], sensitive=True)

    assert message.sensitive is True
    assert DBTaskResult.objects.get().priority == 10


@pytest.mark.django_db
def test_a_channel_given_as_a_string_is_one_channel() -> None:
    [message] = _notify(email="marie@example.com", channels="email")

    assert message.channel == "email"
