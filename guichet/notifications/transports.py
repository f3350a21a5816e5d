"""Hands a stored message to the transport of its channel."""

from django.conf import settings

from guichet.notifications import sms
from guichet.notifications.email import send_email
from guichet.notifications.models import Channel, Message


def transport_send(*, message: Message) -> str:
    """Sends ``message`` once and returns the provider's reference; raises DeliveryError."""
    if message.channel == Channel.EMAIL:
        return send_email(
            to=message.recipient,
            subject=message.subject,
            text=message.body_text,
            html=message.body_html,
            idempotency_key=message.idempotency_key,
        )
    backend = sms.get_backend()
    return backend.send(
        sms.Sms(
            to=message.recipient,
            text=message.body_text,
            sender=settings.GUICHET_SMS_SENDER,
            idempotency_key=message.idempotency_key,
        )
    )
