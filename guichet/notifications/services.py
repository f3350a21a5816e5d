"""The notifications domain's one write: ``notify()``."""

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import get_supported_language_variant
from phonenumber_field.phonenumber import to_python

from guichet.notifications.error_codes import NotificationErrorCode
from guichet.notifications.exceptions import NotificationError
from guichet.notifications.models import Channel, Message
from guichet.notifications.rendering import Rendered, render_notification
from guichet.notifications.tasks import enqueue_delivery

MAX_IDEMPOTENCY_KEY_LENGTH = 200


def notify(
    *,
    template: str,
    context: dict[str, Any],
    user: AbstractBaseUser | None = None,
    email: str = "",
    phone: str = "",
    language: str | None = None,
    channels: Iterable[str] = ("email",),
    sensitive: bool = False,
    idempotency_key: str | None = None,
) -> list[Message]:
    """Renders ``template`` in the recipient's language and queues one message per channel.

    Call it inside the transaction of the change that causes the message: the
    messages and their delivery tasks are written in it, so they exist if and
    only if that change is committed. ``email``/``phone`` override the user's
    contact details. With an ``idempotency_key``, calling again with the same
    key returns the messages already queued instead of queueing new ones.
    ``sensitive`` messages (one-time codes) have their body wiped once sent.
    """
    wanted = _channels(channels)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise NotificationError(NotificationErrorCode.INVALID_IDEMPOTENCY_KEY)
    recipients = {channel: _recipient(channel, user=user, email=email, phone=phone) for channel in wanted}
    resolved_language = _language(language, user)
    rendered = render_notification(
        template=template, context=context, language=resolved_language, channels=wanted
    )
    with transaction.atomic():
        return [
            _message_queue(
                channel=channel,
                recipient=recipients[channel],
                rendered=rendered,
                template=template,
                language=resolved_language,
                user=user,
                sensitive=sensitive,
                idempotency_key=f"{idempotency_key}:{channel}" if idempotency_key else uuid.uuid4().hex,
            )
            for channel in wanted
        ]


def _channels(channels: Iterable[str]) -> list[Channel]:
    names = [channels] if isinstance(channels, str) else list(channels)
    if not names:
        raise NotificationError(NotificationErrorCode.NO_CHANNEL)
    if unknown := [name for name in names if name not in Channel.values]:
        raise NotificationError(NotificationErrorCode.UNKNOWN_CHANNEL, ", ".join(map(str, unknown)))
    return [Channel(name) for name in dict.fromkeys(names)]


def _recipient(channel: Channel, *, user: Any, email: str, phone: str) -> str:
    if channel == Channel.EMAIL:
        address = email or getattr(user, "email", "")
        if not address:
            raise NotificationError(NotificationErrorCode.MISSING_EMAIL)
        try:
            validate_email(address)
        except ValidationError:
            raise NotificationError(NotificationErrorCode.INVALID_EMAIL) from None
        return address
    number = phone or getattr(user, "mobile_phone", "")
    if not number:
        raise NotificationError(NotificationErrorCode.MISSING_PHONE)
    parsed = to_python(number)
    if parsed is None or not parsed.is_valid():
        raise NotificationError(NotificationErrorCode.INVALID_PHONE)
    return parsed.as_e164


def _language(language: str | None, user: Any) -> str:
    supported = {code for code, _ in settings.LANGUAGES}
    if language is not None:
        if language not in supported:
            raise NotificationError(NotificationErrorCode.UNSUPPORTED_LANGUAGE, language)
        return language
    preferred = getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE
    try:
        return get_supported_language_variant(preferred)
    except LookupError:
        return settings.LANGUAGE_CODE


def _message_queue(
    *,
    channel: Channel,
    recipient: str,
    rendered: Rendered,
    template: str,
    language: str,
    user: Any,
    sensitive: bool,
    idempotency_key: str,
) -> Message:
    if existing := Message.objects.filter(idempotency_key=idempotency_key).first():
        return existing
    try:
        with transaction.atomic():
            message = Message.objects.create(
                user=user if getattr(user, "pk", None) else None,
                channel=channel,
                recipient=recipient,
                template=template,
                language=language,
                subject=rendered.subject if channel == Channel.EMAIL else "",
                body_text=rendered.text if channel == Channel.EMAIL else rendered.sms,
                body_html=rendered.html if channel == Channel.EMAIL else "",
                sensitive=sensitive,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:  # the same key queued concurrently
        return Message.objects.get(idempotency_key=idempotency_key)
    message.task_id = enqueue_delivery(message_id=message.pk, sensitive=sensitive)
    message.save(update_fields=["task_id"])
    return message
