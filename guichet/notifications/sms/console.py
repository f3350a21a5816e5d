"""For development only: prints each SMS, one-time codes included, to standard output."""

import sys
from typing import Any, TextIO

from guichet.notifications.sms.base import BaseSmsBackend, Sms


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout

    def send(self, sms: Sms) -> str:
        self.stream.write(f"SMS from {sms.sender} to {sms.to}\n{sms.text}\n{'-' * 40}\n")
        self.stream.flush()
        return sms.idempotency_key
