"""For tests: keeps every SMS in ``outbox``, like ``django.core.mail.outbox``."""

from guichet.notifications.sms.base import BaseSmsBackend, Sms

outbox: list[Sms] = []


class SmsBackend(BaseSmsBackend):
    def send(self, sms: Sms) -> str:
        outbox.append(sms)
        return f"locmem-{len(outbox)}"
