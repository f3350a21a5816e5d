"""For the demo and development: stores each SMS in the outbox read at /dev/outbox/."""

from guichet.notifications.models import Channel, OutboxEntry
from guichet.notifications.sms.base import BaseSmsBackend, Sms


class SmsBackend(BaseSmsBackend):
    def send(self, sms: Sms) -> str:
        entry = OutboxEntry.objects.create(
            channel=Channel.SMS, recipient=sms.to, body=sms.text, reference=sms.idempotency_key
        )
        return f"outbox-{entry.pk}"
