"""An e-mail backend whose next sends fail as a test says."""

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

errors: list[BaseException] = []  # raised by the next sends, in order
sent: list[EmailMessage] = []


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if errors:
            raise errors.pop(0)
        sent.extend(email_messages)
        return len(email_messages)
